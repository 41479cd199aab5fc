package sshconn

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/safefile"
	"github.com/vmdump/vmdump/internal/shquote"
	"github.com/vmdump/vmdump/internal/vmtest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func newEd25519Key(t testing.TB) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newECDSAKey(t testing.TB) ssh.PublicKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var loopback = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}

func TestHostKeyPinnedTrustOnFirstUseThenRefuseChange(t *testing.T) {
	file := filepath.Join(t.TempDir(), "vmdump", "known_hosts")
	a, b := newEd25519Key(t), newEd25519Key(t)

	check, err := pinnedHostKeyCheck(file, "docker-machine", "default", vmtest.DiscardLog())
	if err != nil {
		t.Fatal(err)
	}
	if check.algorithms != nil {
		t.Errorf("no pin yet, but algorithms restricted to %v", check.algorithms)
	}
	if err := check.callback("127.0.0.1:2222", loopback, a); err != nil {
		t.Fatalf("first use refused: %v", err)
	}
	content, _ := os.ReadFile(file)
	if !strings.Contains(string(content), "docker-machine/default ssh-ed25519 ") {
		t.Fatalf("key not pinned: %q", content)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("pinned file mode %v", fi.Mode().Perm())
	}

	check, err = pinnedHostKeyCheck(file, "docker-machine", "default", vmtest.DiscardLog())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(check.algorithms, []string{ssh.KeyAlgoED25519}) {
		t.Errorf("algorithms %v, want the pinned key's type", check.algorithms)
	}
	if err := check.callback("127.0.0.1:2222", loopback, a); err != nil {
		t.Errorf("pinned key refused: %v", err)
	}
	// Same port, other key: a recreated VM or another VM on the reused port.
	err = check.callback("127.0.0.1:2222", loopback, b)
	if err == nil {
		t.Fatal("changed key accepted")
	}
	for _, want := range []string{ssh.FingerprintSHA256(a), ssh.FingerprintSHA256(b), "vmdump forget-host-key docker-machine/default", "VM docker-machine/default"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Error("error is not one line")
	}
	// The pin is per VM: another VM on the very same host:port pins its own.
	other, _ := pinnedHostKeyCheck(file, "docker-machine", "other", vmtest.DiscardLog())
	if err := other.callback("127.0.0.1:2222", loopback, b); err != nil {
		t.Errorf("other VM refused: %v", err)
	}
	// No-common-algorithm case words the same fix.
	if e := check.noCommonAlgorithm("ecdsa-sha2-nistp256"); !strings.Contains(e.Error(), "forget-host-key") {
		t.Errorf("noCommonAlgorithm error %q", e)
	}

	if err := ForgetPinnedKey(file, "docker-machine", "default"); err != nil {
		t.Fatal(err)
	}
	content, _ = os.ReadFile(file)
	if strings.Contains(string(content), "docker-machine/default ") || !strings.Contains(string(content), "docker-machine/other ") || !strings.HasPrefix(string(content), "# vmdump") {
		t.Errorf("after forget: %q", content)
	}
	check, _ = pinnedHostKeyCheck(file, "docker-machine", "default", vmtest.DiscardLog())
	if err := check.callback("127.0.0.1:2222", loopback, b); err != nil {
		t.Errorf("new key after forget refused: %v", err)
	}
	if err := ForgetPinnedKey(file, "nobody", "nothing"); err != nil {
		t.Errorf("forgetting an unknown VM: %v", err)
	}
	if err := ForgetPinnedKey(filepath.Join(t.TempDir(), "missing"), "a", "b"); err != nil {
		t.Errorf("forgetting in a missing file: %v", err)
	}
}

func TestHostKeyPinIdentityEscapesAndForgetCommandQuotes(t *testing.T) {
	if got := pinIdentity("config", "my vm/1"); got != "config/my%20vm%2F1" {
		t.Errorf("pinIdentity = %q", got)
	}
	if m, n := splitPinIdentity(pinIdentity("a b", "c/d")); m != "a b" || n != "c/d" {
		t.Errorf("split back to %q %q", m, n)
	}
	if got := forgetCommand("config", "my vm"); got != "vmdump forget-host-key 'config/my vm'" {
		t.Errorf("forgetCommand = %q", got)
	}
	file := filepath.Join(t.TempDir(), "pins")
	k := newEd25519Key(t)
	c, _ := pinnedHostKeyCheck(file, "config", "my vm/1", vmtest.DiscardLog())
	if err := c.callback("x:22", loopback, k); err != nil {
		t.Fatal(err)
	}
	c, _ = pinnedHostKeyCheck(file, "config", "my vm/1", vmtest.DiscardLog())
	if c.algorithms == nil {
		t.Error("pin with escaped name not found again")
	}
}

// TestPinnedKeysConcurrentWriters pins many VMs at once from many
// goroutines (standing in for several vmdump processes): the lock and the
// atomic rename must keep every line.
func TestHostKeyPinsConcurrentWriters(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pins")
	const n = 24
	keys := make([]ssh.PublicKey, n)
	for i := range keys {
		keys[i] = newEd25519Key(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			c, err := pinnedHostKeyCheck(file, "m", fmt.Sprint("vm", i), vmtest.DiscardLog())
			if err == nil {
				err = c.callback("h:22", loopback, keys[i])
			}
			errs <- err
		}(i)
		go func(i int) { // and forget-host-key runs meanwhile
			defer wg.Done()
			errs <- ForgetPinnedKey(file, "m", fmt.Sprint("gone", i))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	content, _ := os.ReadFile(file)
	for i := 0; i < n; i++ {
		if k, ok := findPin(content, pinIdentity("m", fmt.Sprint("vm", i))); !ok || !keysEqual(k, keys[i]) {
			t.Errorf("vm%d's pin lost", i)
		}
	}
	if _, err := os.Stat(file + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left: %v", err)
	}
}

func TestHostKeyLockBreaksStaleLock(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pins")
	vmtest.WriteFile(t, file+".lock", "12345\n")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(file+".lock", old, old); err != nil {
		t.Fatal(err)
	}
	unlock, err := safefile.Lock(file)
	if err != nil {
		t.Fatalf("stale lock not broken: %v", err)
	}
	unlock()
}

func TestHostKeyWriteFileAtomicFollowsSymlinkAndRefusesDevices(t *testing.T) {
	dir := t.TempDir()
	real := vmtest.WriteFile(t, filepath.Join(dir, "real"), "old\n")
	if err := os.Chmod(real, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	if err := safefile.WriteAtomic(link, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("symlink replaced by a file")
	}
	if b, _ := os.ReadFile(real); string(b) != "new\n" {
		t.Errorf("target holds %q", b)
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode changed to %v", fi.Mode().Perm())
	}
	if _, err := os.Stat(os.DevNull); err == nil {
		if err := safefile.WriteAtomic(os.DevNull, []byte("x"), 0o600); err == nil {
			t.Fatal("wrote over /dev/null")
		}
		if fi, _ := os.Stat(os.DevNull); fi.Mode().IsRegular() {
			t.Fatal("/dev/null became a regular file")
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func knownHostsFileWith(t *testing.T, lines ...string) string {
	t.Helper()
	return vmtest.WriteFile(t, filepath.Join(t.TempDir(), ".ssh", "known_hosts"), strings.Join(lines, "\n")+"\n")
}

func TestHostKeyKnownHostsCheck(t *testing.T) {
	ed, ec, other := newEd25519Key(t), newECDSAKey(t), newEd25519Key(t)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := ssh.NewPublicKey(&rsaPriv.PublicKey)

	t.Run("known key accepted, algorithms restricted", func(t *testing.T) {
		file := knownHostsFileWith(t, knownhosts.Line([]string{"[127.0.0.1]:2222"}, ed), knownhosts.Line([]string{"example.org"}, rsaKey))
		c, err := knownHostsCheck(knownHostsConfig{Files: []string{file}}, "127.0.0.1:2222", vmtest.DiscardLog())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.algorithms, []string{ssh.KeyAlgoED25519}) {
			t.Errorf("algorithms %v", c.algorithms)
		}
		if err := c.callback("127.0.0.1:2222", loopback, ed); err != nil {
			t.Errorf("known key refused: %v", err)
		}
		c, _ = knownHostsCheck(knownHostsConfig{Files: []string{file}}, "example.org:22", vmtest.DiscardLog())
		if !reflect.DeepEqual(c.algorithms, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}) {
			t.Errorf("rsa algorithms %v", c.algorithms)
		}
	})

	t.Run("changed key refused with both fingerprints and the fix", func(t *testing.T) {
		file := knownHostsFileWith(t, knownhosts.Line([]string{"[127.0.0.1]:2222"}, ed), knownhosts.Line([]string{"vm.example"}, ed))
		c, _ := knownHostsCheck(knownHostsConfig{Files: []string{file}}, "127.0.0.1:2222", vmtest.DiscardLog())
		err := c.callback("127.0.0.1:2222", loopback, other)
		want := fmt.Sprintf("host key for [127.0.0.1]:2222 changed: known_hosts has %s, server sent %s; if the change is expected run: ssh-keygen -f %s -R '[127.0.0.1]:2222'",
			ssh.FingerprintSHA256(ed), ssh.FingerprintSHA256(other), shquote.Quote(file))
		if err == nil || err.Error() != want {
			t.Errorf("got  %v\nwant %s", err, want)
		}
		c, _ = knownHostsCheck(knownHostsConfig{Files: []string{file}}, "vm.example:22", vmtest.DiscardLog())
		err = c.callback("vm.example:22", loopback, other)
		if err == nil || !strings.Contains(err.Error(), "ssh-keygen -f "+file+" -R vm.example") || !strings.Contains(err.Error(), "host key for vm.example changed") {
			t.Errorf("port-22 / other-file form: %v", err)
		}
	})

	t.Run("unknown host refused", func(t *testing.T) {
		file := knownHostsFileWith(t, knownhosts.Line([]string{"elsewhere"}, ed))
		missing := filepath.Join(t.TempDir(), "missing")
		for _, files := range [][]string{{file}, {missing}, nil} {
			c, err := knownHostsCheck(knownHostsConfig{Files: files}, "10.0.0.9:22", vmtest.DiscardLog())
			if err != nil {
				t.Fatal(err)
			}
			if c.algorithms != nil {
				t.Errorf("unknown host but algorithms %v", c.algorithms)
			}
			err = c.callback("10.0.0.9:22", loopback, other)
			want := "unknown host key " + ssh.FingerprintSHA256(other) + " for 10.0.0.9: connect once with ssh to verify it, or set host-key policy to accept-new"
			if err == nil || err.Error() != want {
				t.Errorf("files %v: got %v", files, err)
			}
		}
	})

	t.Run("accept-new records the key once", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), ".ssh", "known_hosts") // does not exist yet
		kc := knownHostsConfig{Files: []string{file}, WriteFile: file, AcceptNew: true}
		c, err := knownHostsCheck(kc, "127.0.0.1:2222", vmtest.DiscardLog())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.callback("127.0.0.1:2222", loopback, ed); err != nil {
			t.Fatalf("accept-new refused: %v", err)
		}
		if err := appendKnownHost(file, "[127.0.0.1]:2222", ed); err != nil { // a second process racing
			t.Fatal(err)
		}
		content, _ := os.ReadFile(file)
		if strings.Count(string(content), "[127.0.0.1]:2222 ssh-ed25519") != 1 {
			t.Errorf("known_hosts = %q", content)
		}
		c, _ = knownHostsCheck(knownHostsConfig{Files: []string{file}}, "127.0.0.1:2222", vmtest.DiscardLog())
		if err := c.callback("127.0.0.1:2222", loopback, ed); err != nil {
			t.Errorf("recorded key refused: %v", err)
		}
		// accept-new never accepts a changed key.
		c, _ = knownHostsCheck(kc, "127.0.0.1:2222", vmtest.DiscardLog())
		if err := c.callback("127.0.0.1:2222", loopback, other); err == nil || !strings.Contains(err.Error(), "changed") {
			t.Errorf("accept-new took a changed key: %v", err)
		}
	})

	t.Run("accept-new into /dev/null keeps /dev/null", func(t *testing.T) {
		if _, err := os.Stat(os.DevNull); err != nil {
			t.Skip("no /dev/null")
		}
		kc := knownHostsConfig{Files: []string{os.DevNull}, WriteFile: os.DevNull, AcceptNew: true}
		c, err := knownHostsCheck(kc, "10.1.1.1:22", vmtest.DiscardLog())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.callback("10.1.1.1:22", loopback, ed); err != nil {
			t.Errorf("refused: %v", err)
		}
		if fi, _ := os.Stat(os.DevNull); fi.Mode().IsRegular() {
			t.Fatal("/dev/null replaced")
		}
	})

	t.Run("revoked", func(t *testing.T) {
		file := knownHostsFileWith(t, "@revoked * "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other))), knownhosts.Line([]string{"h"}, ed))
		c, _ := knownHostsCheck(knownHostsConfig{Files: []string{file}}, "h:22", vmtest.DiscardLog())
		if err := c.callback("h:22", loopback, other); err == nil || !strings.Contains(err.Error(), "@revoked") {
			t.Errorf("revoked key: %v", err)
		}
	})

	t.Run("cert authority lines lift the algorithm restriction", func(t *testing.T) {
		file := knownHostsFileWith(t, "@cert-authority *.example "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ec))), knownhosts.Line([]string{"a.example"}, ed))
		c, _ := knownHostsCheck(knownHostsConfig{Files: []string{file}}, "a.example:22", vmtest.DiscardLog())
		if c.algorithms != nil {
			t.Errorf("algorithms %v with a CA present", c.algorithms)
		}
	})

	t.Run("garbage file is an error", func(t *testing.T) {
		file := knownHostsFileWith(t, "this is not a known_hosts line")
		if _, err := knownHostsCheck(knownHostsConfig{Files: []string{file}}, "h:22", vmtest.DiscardLog()); err == nil {
			t.Error("no error for a file without valid lines")
		}
	})
}

func TestHostKeyAlgorithmsFor(t *testing.T) {
	ed, ec := newEd25519Key(t), newECDSAKey(t)
	got := hostKeyAlgorithmsFor([]ssh.PublicKey{ec, ed, ec})
	if !reflect.DeepEqual(got, []string{ssh.KeyAlgoECDSA256, ssh.KeyAlgoED25519}) {
		t.Errorf("got %v", got)
	}
}
