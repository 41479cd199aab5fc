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

// TestLabUserSettingsArePerLab: labs open at once each have the shell,
// password and sudo they asked for: plain ones share the user vmdlab,
// whose entry stays locked with /bin/sh, while one with a password and a
// shell has a user of its own, gone once it closes; each lab's sudo rule
// is its own.
func TestLabUserSettingsArePerLab(t *testing.T) {
	special, err := New(Options{Password: "per-lab pw", LoginShell: "/bin/busybox ash", SudoNeedsPassword: true})
	if err != nil {
		var pe *PrereqError
		if os.Getenv("CI") == "" && asPrereq(err, &pe) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer special.Close()
	plain := Start(t, Options{})
	plain2 := Start(t, Options{SudoNeedsPassword: true})
	if special.User != ownUserName(special.Namespace) || plain.User != labUser || plain2.User != labUser {
		t.Fatalf("lab users %q, %q, %q; want %s, %s, %s", special.User, plain.User, plain2.User, ownUserName(special.Namespace), labUser, labUser)
	}
	if out, err := sshCommand(t, plain2, plain2.VMAddr, plain2.SSHPort, "sudo -n true").CombinedOutput(); err == nil || !strings.Contains(string(out), "a password is required") {
		t.Errorf("second plain lab: sudo -n true: %v %q; want sudo's password refusal", err, out)
	}
	busybox, _ := filepath.EvalSymlinks("/bin/busybox")
	dash, _ := filepath.EvalSymlinks("/bin/sh")
	if out := sshOutput(t, special, special.VMAddr, special.SSHPort, "readlink /proc/$$/exe"); strings.TrimSpace(out) != busybox {
		t.Errorf("special lab's shell runs %q, want %s", out, busybox)
	}
	if out := sshOutput(t, plain, plain.VMAddr, plain.SSHPort, "readlink /proc/$$/exe; sudo -n id -u"); strings.TrimSpace(out) != dash+"\n0" {
		t.Errorf("plain lab: shell and sudo -n id -u = %q, want %s and 0", out, dash)
	}
	out, err := sshCommand(t, special, special.VMAddr, special.SSHPort, "sudo -n true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "a password is required") {
		t.Errorf("special lab: sudo -n true: %v %q; want sudo's password refusal", err, out)
	}
	// sudo checks the password against the lab's /etc/shadow.
	out, err = sshCommand(t, special, special.VMAddr, special.SSHPort, "echo 'per-lab pw' | sudo -S -p '' id -u").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Errorf("special lab: sudo -S with the lab's password: %v %q", err, out)
	}
	if err := special.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := passwdEntry("/etc/passwd", special.User); ok {
		t.Errorf("user %s outlived its lab", special.User)
	}
	passwd, _ := os.ReadFile("/etc/passwd")
	shadow, _ := os.ReadFile("/etc/shadow")
	if !strings.Contains("\n"+string(passwd), "\n"+labUser+":") || !strings.Contains(string(passwd), ":/:/bin/sh\n") {
		t.Errorf("the machine's passwd has no locked %s with /bin/sh", labUser)
	}
	for _, line := range strings.Split(string(shadow), "\n") {
		if f := strings.Split(line, ":"); len(f) > 1 && f[0] == labUser && f[1] != "*" {
			t.Errorf("the machine's shadow has a password for %s: %q", labUser, f[1])
		}
	}
}

// TestFakeDocker: inside a FakeDocker lab the session's docker (as the
// user and through sudo) is the given script, podman is gone, and the host
// keeps its own docker.
func TestFakeDocker(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "docker")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho fake-docker \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := Start(t, Options{FakeDocker: fake})
	out := sshOutput(t, l, l.VMAddr, l.SSHPort, `docker ps -q; sudo -n docker info; command -v podman >/dev/null && podman --version 2>/dev/null || echo no-podman`)
	if strings.TrimSpace(out) != "fake-docker ps -q\nfake-docker info\nno-podman" {
		t.Fatalf("the VM's docker is not the fake one: %q", out)
	}
	if out, err := exec.Command("docker", "--version").CombinedOutput(); err != nil || strings.Contains(string(out), "fake-docker") {
		t.Fatalf("the host's docker changed: %v: %s", err, out)
	}
}
