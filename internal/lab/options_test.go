package lab

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHideTcpdump: inside a HideTcpdump lab the session's sh finds no
// tcpdump (not even with sudo's secure_path), while the host keeps its own.
func TestHideTcpdump(t *testing.T) {
	l := Start(t, Options{HideTcpdump: true})
	out := sshOutput(t, l, l.VMAddr, l.SSHPort, `PATH="$PATH:/usr/sbin:/sbin"; command -v tcpdump || echo missing; sudo -n sh -c "command -v tcpdump || echo missing-as-root"`)
	if strings.TrimSpace(out) != "missing\nmissing-as-root" {
		t.Fatalf("tcpdump still visible in the VM: %q", out)
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Fatalf("the host lost its tcpdump: %v", err)
	}
	if out, err := exec.Command("tcpdump", "--version").CombinedOutput(); err != nil {
		t.Fatalf("host tcpdump no longer runs: %v: %s", err, out)
	}
}

// TestSudoNeedsPassword: `sudo -n` refuses with sudo's own message, the one
// vmdump has to recognise; a default lab's sudo -n works.
func TestSudoNeedsPassword(t *testing.T) {
	l := Start(t, Options{SudoNeedsPassword: true})
	cmd := sshCommand(t, l, l.VMAddr, l.SSHPort, "sudo -n true")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "a password is required") {
		t.Fatalf("sudo -n true: err %v, output %q; want sudo's password refusal", err, out)
	}
}

// TestAuthorizeKey: a key added later logs in like the lab's own.
func TestAuthorizeKey(t *testing.T) {
	l := Start(t, Options{})
	key := filepath.Join(t.TempDir(), "extra")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AuthorizeKey(string(pub)); err != nil {
		t.Fatal(err)
	}
	if err := l.AuthorizeKey("two\nlines"); err == nil {
		t.Error("AuthorizeKey took two lines")
	}
	cmd := sshCommand(t, l, l.VMAddr, l.SSHPort, "echo in")
	for i, a := range cmd.Args {
		if a == l.KeyFile {
			cmd.Args[i] = key
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "in" {
		t.Fatalf("login with the added key: %v: %s", err, out)
	}
}
