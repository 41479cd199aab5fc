package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestReliabilityHostKeys (issue 5, guarantee 4): vmdump never talks to a
// VM whose host key it cannot vouch for, and every refusal says which keys
// (old and new fingerprints) and the exact command that fixes it; the
// commands are run as printed to prove it. Loopback VMs (a VM manager's NAT
// port) have their key pinned per VM. An encrypted key without agent or
// passphrase fails at once with what to do (no prompt: stdin is /dev/null
// and there is no terminal).
func TestReliabilityHostKeys(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{Forward: true})
	labKey := labHostKey(t, l)
	labFP := ssh.FingerprintSHA256(labKey)
	other := otherHostKey(t)
	otherFP := ssh.FingerprintSHA256(other)

	t.Run("known_hosts-changed", func(t *testing.T) {
		faultCase(t)
		u := newPlainUser(t, l, configTOML("", labVM(l, "lab")))
		u.vmID = labID
		writeFile(t, filepath.Join(u.home, ".ssh", "known_hosts"), l.VMAddr+" "+authorizedKey(other)+"\n")
		msg := captureRefused(t, u, "host key for "+l.VMAddr+" changed", otherFP, labFP, "ssh-keygen -f ", " -R "+l.VMAddr)
		// The fix as printed, then a capture with the real key known.
		runPrintedFix(t, u, msg)
		if b, _ := os.ReadFile(filepath.Join(u.home, ".ssh", "known_hosts")); strings.Contains(string(b), authorizedKey(other)) {
			t.Fatalf("the printed command left the old key in known_hosts:\n%s", b)
		}
		writeFile(t, filepath.Join(u.home, ".ssh", "known_hosts"), l.HostKeyLine()+"\n")
		captureWorks(t, u)
	})

	t.Run("unknown-host-refused", func(t *testing.T) {
		faultCase(t)
		u := newPlainUser(t, l, configTOML("", labVM(l, "lab")))
		u.vmID = labID
		writeFile(t, filepath.Join(u.home, ".ssh", "known_hosts"), "")
		captureRefused(t, u, "unknown host key "+labFP+" for "+l.VMAddr, "accept-new")
	})

	t.Run("unknown-host-accept-new-dialog", func(t *testing.T) {
		faultCase(t)
		u := newUser(t, l)
		writeFile(t, filepath.Join(u.home, ".ssh", "known_hosts"), "")
		ts := u.startTshark("-f", quietFilter, "-o", "extcap."+u.vmID+".hostkeypolicy:accept-new")
		u.waitRemoteCapture(ts)
		ts.signal(syscall.SIGINT)
		ts.wait(t, 60*time.Second)
		checkStoppedQuietly(t, ts)
		checkKnownHost(t, u, l.VMAddr, labKey)
	})

	t.Run("unknown-host-accept-new-config", func(t *testing.T) {
		faultCase(t)
		u := newPlainUser(t, l, configTOML("accept_new_host_keys = true\n", labVM(l, "lab")))
		u.vmID = labID
		writeFile(t, filepath.Join(u.home, ".ssh", "known_hosts"), "")
		captureWorks(t, u)
		checkKnownHost(t, u, l.VMAddr, labKey)
	})

	t.Run("pin-first-use-then-changed-then-forgotten", func(t *testing.T) {
		faultCase(t)
		u := newPlainUser(t, l, configTOML("", loopbackVM(l, "lab")))
		u.vmID = u.idOf("config", "lab")
		writeFile(t, filepath.Join(u.home, ".ssh", "known_hosts"), "")
		captureWorks(t, u)
		checkPinned(t, u, "config/lab", labKey)
		if b, _ := os.ReadFile(filepath.Join(u.home, ".ssh", "known_hosts")); len(b) != 0 {
			t.Errorf("a pinned VM's key went into ~/.ssh/known_hosts:\n%s", b)
		}
		// The VM "was recreated": its pinned key no longer matches.
		writeFile(t, u.pinnedKeysFile(), "config/lab "+authorizedKey(other)+"\n")
		msg := captureRefused(t, u, "host key of VM config/lab changed", "pinned "+otherFP, "server sent "+labFP, "vmdump forget-host-key")
		runPrintedFix(t, u, msg)
		captureWorks(t, u)
		checkPinned(t, u, "config/lab", labKey)
	})

	t.Run("pin-docker-machine", func(t *testing.T) {
		faultCase(t)
		u := newPlainUser(t, l, "")
		// libmachine's host JSON, VirtualBox driver: the VM is reached on
		// 127.0.0.1:SSHPort, a NAT port any later VM may get.
		writeFile(t, filepath.Join(u.home, ".docker", "machine", "machines", "labdm", "config.json"),
			fmt.Sprintf(`{"ConfigVersion":3,"Driver":{"IPAddress":"192.168.99.100","MachineName":"labdm","SSHUser":%q,"SSHPort":%d,"SSHKeyPath":%q},"DriverName":"virtualbox","Name":"labdm"}`,
				l.User, l.ForwardPort, l.KeyFile))
		u.vmID = u.idOf("docker-machine", "labdm")
		remote := "--remote-interface=" + l.ContainerVeth(1)
		captureWorks(t, u, remote)
		checkPinned(t, u, "docker-machine/labdm", labKey)
		writeFile(t, u.pinnedKeysFile(), "docker-machine/labdm "+authorizedKey(other)+"\n")
		captureRefused(t, u, "host key of VM docker-machine/labdm changed", otherFP, labFP, "vmdump forget-host-key", remote)
		// forget-host-key by the interface id Wireshark shows.
		if out, err := u.vmdump("forget-host-key", u.vmID); err != nil {
			t.Fatalf("vmdump forget-host-key %s: %v\n%s", u.vmID, err, out)
		}
		captureWorks(t, u, remote)
		checkPinned(t, u, "docker-machine/labdm", labKey)
	})

	t.Run("encrypted-key-without-agent-or-passphrase", func(t *testing.T) {
		faultCase(t)
		key := encryptedKey(t, l, "correct horse")
		vm := labVM(l, "lab")
		vm.Key = key
		u := newPlainUser(t, l, configTOML("", vm))
		u.vmID = labID
		start := time.Now()
		captureRefused(t, u, "is encrypted: add it to ssh-agent or set the key passphrase")
		t.Logf("refused after %v (no prompt)", time.Since(start).Round(time.Millisecond))
	})

	t.Run("encrypted-key-in-agent", func(t *testing.T) {
		faultCase(t)
		key := encryptedKey(t, l, "correct horse")
		vm := labVM(l, "lab")
		vm.Key = key
		u := newPlainUser(t, l, configTOML("", vm))
		u.vmID = labID
		u.env = append(u.env, "SSH_AUTH_SOCK="+startAgentWith(t, key, "correct horse"))
		captureWorks(t, u)
	})
}

// labHostKey is the lab sshd's host key.
func labHostKey(t *testing.T, l *lab.Lab) ssh.PublicKey {
	t.Helper()
	f := strings.Fields(l.HostKeyLine())
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(f[1] + " " + f[2]))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// otherHostKey is a key no lab has: "the VM's key changed".
func otherHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func authorizedKey(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// captureRefused runs a capture that must be refused with one line holding
// every want, without hanging; it returns the line.
func captureRefused(t *testing.T, u *user, want ...string) string {
	t.Helper()
	var args []string
	var words []string
	for _, w := range want {
		if strings.HasPrefix(w, "--") {
			args = append(args, w)
		} else {
			words = append(words, w)
		}
	}
	d := u.startDirect(t, args...)
	d.wait(t, 60*time.Second)
	if d.exitCode() == 0 {
		t.Errorf("vmdump exited 0")
	}
	msg := checkOneLineError(t, d.stderr.String(), words...)
	if left := vmdumpInVM(u.lab); len(left) > 0 {
		t.Errorf("a refused capture ran something in the VM: %v", left)
	}
	return msg
}

// captureWorks runs a capture until tcpdump runs in the VM, stops it as
// Wireshark does, and checks it ended cleanly.
func captureWorks(t *testing.T, u *user, args ...string) {
	t.Helper()
	d := u.startDirect(t, append([]string{"--extcap-capture-filter", quietFilter}, args...)...)
	u.waitDirectCapture(t, d)
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.wait(t, 60*time.Second)
	if s := d.stderr.String(); s != "" || d.exitCode() != 0 {
		t.Errorf("capture stopped with exit %d and stderr:\n%s", d.exitCode(), s)
	}
	if _, left := awaitVMClean(u.lab, time.Now(), 10*time.Second); len(left) > 0 {
		t.Errorf("left in the VM: %v", left)
	}
}

// runPrintedFix runs the command an error message names after "run: ",
// through a shell, as the user would paste it.
func runPrintedFix(t *testing.T, u *user, msg string) {
	t.Helper()
	_, fix, ok := strings.Cut(msg, "run: ")
	if !ok {
		t.Fatalf("no command to run in %q", msg)
	}
	// The user's vmdump is on PATH as "vmdump".
	bin := t.TempDir()
	if err := os.Symlink(vmdumpBin, filepath.Join(bin, "vmdump")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", fix)
	cmd.Env = append(append([]string{}, u.env...), "PATH="+bin+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the printed fix %q failed: %v\n%s", fix, err, out)
	} else {
		t.Logf("ran the printed fix %q: %s", fix, strings.TrimSpace(string(out)))
	}
}

// checkKnownHost: ~/.ssh/known_hosts now vouches for key at host.
func checkKnownHost(t *testing.T, u *user, host string, key ssh.PublicKey) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(u.home, ".ssh", "known_hosts"))
	if !strings.Contains(string(b), host+" "+authorizedKey(key)) {
		t.Errorf("known_hosts does not hold %s's key after accept-new:\n%s", host, b)
	}
}

// checkPinned: vmdump's pinned-keys file holds exactly key for identity.
func checkPinned(t *testing.T, u *user, identity string, key ssh.PublicKey) {
	t.Helper()
	b, err := os.ReadFile(u.pinnedKeysFile())
	if err != nil {
		t.Fatalf("no pinned-keys file: %v", err)
	}
	var found []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, identity+" ") {
			found = append(found, line)
		}
	}
	if len(found) != 1 || found[0] != identity+" "+authorizedKey(key) {
		t.Errorf("pinned keys for %s: %q, want exactly the VM's key:\n%s", identity, found, b)
	}
}

// encryptedKey makes an ed25519 key protected by passphrase, authorized in
// the lab.
func encryptedKey(t *testing.T, l *lab.Lab, passphrase string) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "id_encrypted")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "vmdump-e2e", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AuthorizeKey(string(pub)); err != nil {
		t.Fatal(err)
	}
	return key
}

// startAgentWith runs an ssh-agent for the test holding the key (loaded
// from a decrypted copy; the key file itself stays encrypted) and returns
// its socket.
func startAgentWith(t *testing.T, key, passphrase string) string {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	plain := filepath.Join(dir, "plain")
	data, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, plain, string(data))
	if out, err := exec.Command("ssh-keygen", "-q", "-p", "-P", passphrase, "-N", "", "-f", plain).CombinedOutput(); err != nil {
		t.Fatalf("decrypting a copy: %v: %s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		add := exec.Command("ssh-add", plain)
		add.Env = []string{"SSH_AUTH_SOCK=" + sock, "PATH=" + os.Getenv("PATH")}
		out, err := add.CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh-add: %v: %s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.Remove(plain)
	return sock
}
