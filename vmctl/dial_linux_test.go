package vmctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func dialOK(t *testing.T, vm VM, opt DialOptions) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), vm, opt)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialErr(t *testing.T, vm VM, opt DialOptions, want ...string) error {
	t.Helper()
	c, err := Dial(context.Background(), vm, opt)
	if err == nil {
		c.Close()
		t.Fatalf("Dial succeeded, want an error with %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	return err
}

// runRemote runs a command on the connection and returns its stdout.
func runRemote(t *testing.T, c *Conn, cmd string) string {
	t.Helper()
	s, err := c.client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Output(cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return string(out)
}

func TestDialKnownHostsStrictUnknownThenAcceptNew(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	home := testHome(t)
	kh := filepath.Join(home, ".ssh", "known_hosts")
	opt := DialOptions{Home: home, KnownHostsFile: kh, Timeout: 10 * time.Second}
	display := fmt.Sprintf("[127.0.0.1]:%d", s.port)

	dialErr(t, s.vmFor("vm"), opt, "unknown host key "+ssh.FingerprintSHA256(s.hostKeys["ed25519"])+" for "+display, "set host-key policy to accept-new")
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Fatalf("refused host written to known_hosts: %v", err)
	}

	opt.AcceptNew = true
	c := dialOK(t, s.vmFor("vm"), opt)
	if out := runRemote(t, c, "echo ok"); out != "ok\n" {
		t.Errorf("remote echo: %q", out)
	}
	content, _ := os.ReadFile(kh)
	if !strings.HasPrefix(string(content), display+" ssh-ed25519 ") {
		t.Errorf("known_hosts = %q", content)
	}

	opt.AcceptNew = false
	dialOK(t, s.vmFor("vm"), opt)
}

func TestDialKnownHostsMismatch(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	home := testHome(t)
	other := newEd25519Key(t)
	kh := writeFile(t, filepath.Join(home, ".ssh", "known_hosts"), fmt.Sprintf("[127.0.0.1]:%d %s", s.port, ssh.MarshalAuthorizedKey(other)))
	for _, acceptNew := range []bool{false, true} {
		dialErr(t, s.vmFor("vm"), DialOptions{Home: home, KnownHostsFile: kh, AcceptNew: acceptNew},
			fmt.Sprintf("host key for [127.0.0.1]:%d changed", s.port),
			"known_hosts has "+ssh.FingerprintSHA256(other),
			"server sent "+ssh.FingerprintSHA256(s.hostKeys["ed25519"]),
			fmt.Sprintf("ssh-keygen -f %s -R '[127.0.0.1]:%d'", ShellQuote(kh), s.port))
	}
}

// TestDialOffersTheKnownKeyType: the server has ecdsa and ed25519 keys and
// Go would pick ecdsa; known_hosts has only one of them. Without
// HostKeyAlgorithms from known_hosts this is a false "changed".
func TestDialOffersTheKnownKeyType(t *testing.T) {
	s := startSSHD(t, sshdOptions{hostKeyTypes: []string{"ecdsa", "ed25519"}})
	for _, typ := range []string{"ed25519", "ecdsa"} {
		home := testHome(t)
		kh := writeFile(t, filepath.Join(home, ".ssh", "known_hosts"), s.knownHostsLine(typ)+"\n")
		dialOK(t, s.vmFor("vm"), DialOptions{Home: home, KnownHostsFile: kh})
	}
}

func TestDialPinsLoopbackVMKeyPerIdentity(t *testing.T) {
	s1 := startSSHD(t, sshdOptions{})
	home := testHome(t)
	pins := filepath.Join(home, "config", "vmdump", "known_hosts")
	vm := s1.vmFor("default")
	vm.Manager, vm.Loopback = "docker-machine", true
	opt := DialOptions{Home: home, PinnedKeysFile: pins, KnownHostsFile: filepath.Join(home, ".ssh", "known_hosts")}

	dialOK(t, vm, opt).Close() // trust on first use
	dialOK(t, vm, opt).Close() // same key: fine
	if _, err := os.Stat(opt.KnownHostsFile); !os.IsNotExist(err) {
		t.Error("a loopback VM's key went to known_hosts")
	}

	// The VM was recreated: same identity, new sshd, new key (and here
	// another port, as NAT forwards are reassigned).
	s2 := startSSHD(t, sshdOptions{})
	vm2 := vm
	vm2.Port, vm2.KeyFiles = s2.port, []string{s2.client.path}
	dialErr(t, vm2, opt, "host key of VM docker-machine/default changed",
		"pinned "+ssh.FingerprintSHA256(s1.hostKeys["ed25519"]),
		"server sent "+ssh.FingerprintSHA256(s2.hostKeys["ed25519"]),
		"vmdump forget-host-key docker-machine/default")

	// Another VM behind the very same host:port is not "changed": it is
	// a different identity with its own pin.
	vm3 := s2.vmFor("other")
	vm3.Manager, vm3.Loopback = "docker-machine", true
	dialOK(t, vm3, opt).Close()

	if err := ForgetPinnedKey(pins, "docker-machine", "default"); err != nil {
		t.Fatal(err)
	}
	dialOK(t, vm2, opt).Close()
}

func TestDialPinnedServerLostKeyType(t *testing.T) {
	s1 := startSSHD(t, sshdOptions{hostKeyTypes: []string{"ecdsa"}})
	s2 := startSSHD(t, sshdOptions{hostKeyTypes: []string{"ed25519"}})
	home := testHome(t)
	opt := DialOptions{Home: home, PinnedKeysFile: filepath.Join(home, "pins")}
	vm := s1.vmFor("x")
	vm.Loopback = true
	dialOK(t, vm, opt).Close()
	vm.Port = s2.port
	dialErr(t, vm, opt, "host key of VM test/x changed", "no ecdsa-sha2-nistp256 key", "forget-host-key test/x")
}

func TestDialSSHConfigAlias(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	home := testHome(t)
	key := newKeyFile(t, filepath.Join(home, ".ssh"), "vm_key", "")
	s2 := startSSHD(t, sshdOptions{authorized: []testKey{key}})
	writeFile(t, filepath.Join(home, ".ssh", "config"), fmt.Sprintf(`
Host myvm
  HostName 127.0.0.1
  Port %d
  User root
  IdentityFile ~/.ssh/vm_key
  UserKnownHostsFile ~/.ssh/kh_%%n
  StrictHostKeyChecking accept-new
`, s2.port))
	_ = s
	vm := VM{Manager: "config", Name: "myvm", Host: "myvm", SSHAlias: true}
	c := dialOK(t, vm, DialOptions{Home: home})
	if out := runRemote(t, c, "echo $SSH_CONNECTION"); !strings.HasSuffix(strings.TrimSpace(out), fmt.Sprintf(" %d", s2.port)) {
		t.Errorf("connected to %q, want port %d", out, s2.port)
	}
	content, err := os.ReadFile(filepath.Join(home, ".ssh", "kh_myvm"))
	if err != nil || !strings.Contains(string(content), fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519", s2.port)) {
		t.Errorf("UserKnownHostsFile not used: %q %v", content, err)
	}
	// The dialog's port beats the config.
	vm.Port = 1
	dialErr(t, vm, DialOptions{Home: home, Port: freePort(t)}, "connection refused")
}

func TestDialProxyJump(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	home := testHome(t)
	opt := s.trustingOptions(t, home)
	opt.KeyFile = s.client.path // the jump host logs in with it too
	vm := s.vmFor("inner")
	vm.ProxyJump = fmt.Sprintf("root@127.0.0.1:%d", s.port)
	c := dialOK(t, vm, opt)
	if len(c.jumps) != 1 {
		t.Fatalf("%d jump clients", len(c.jumps))
	}
	// Through the jump the VM sees the connection coming from its own sshd
	// (the jump), not from the test's socket.
	out := runRemote(t, c, "echo $SSH_CONNECTION")
	if !strings.HasPrefix(out, "127.0.0.1 ") {
		t.Errorf("SSH_CONNECTION %q", out)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	vm.ProxyJump = fmt.Sprintf("root@127.0.0.1:%d", freePort(t))
	dialErr(t, vm, opt, "jump host 127.0.0.1", "connection refused")
}

func TestDialErrorsAreActionable(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	home := testHome(t)
	opt := s.trustingOptions(t, home)

	t.Run("refused", func(t *testing.T) {
		port := freePort(t)
		vm := VM{Name: "default", Host: "127.0.0.1", Port: port}
		err := dialErr(t, vm, opt)
		want := fmt.Sprintf("cannot reach VM default at 127.0.0.1:%d: connection refused — is the VM running?", port)
		if err.Error() != want {
			t.Errorf("got  %q\nwant %q", err, want)
		}
	})

	t.Run("auth", func(t *testing.T) {
		stranger := newKeyFile(t, t.TempDir(), "stranger", "")
		locked := newKeyFile(t, t.TempDir(), "locked", "pass phrase")
		vm := s.vmFor("vm")
		vm.KeyFiles = []string{stranger.path, locked.path}
		o := opt
		o.Password = "sekrit-pw"
		err := dialErr(t, vm, o, "cannot log in to VM vm at 127.0.0.1", "as root", "key "+stranger.path, "password",
			"key "+locked.path+" is encrypted: add it to ssh-agent or set the key passphrase in the options dialog")
		if strings.Contains(err.Error(), "sekrit-pw") {
			t.Error("password in the error")
		}
		o.KeyPassphrase = "wrong-phrase"
		err = dialErr(t, vm, o, "passphrase is wrong")
		if strings.Contains(err.Error(), "wrong-phrase") {
			t.Error("passphrase in the error")
		}
	})

	t.Run("silent server", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close() // accepted, never answers
			}
		}()
		o := opt
		o.Timeout = time.Second
		dialErr(t, VM{Name: "slow", Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}, o,
			"VM slow at 127.0.0.1:", "did not complete SSH login within 1s")
	})

	t.Run("closes at once", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close() // what a VirtualBox NAT forward does while the VM boots
			}
		}()
		dialErr(t, VM{Name: "booting", Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}, opt,
			"closed the connection before SSH login — is the VM still booting")
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Dial(ctx, s.vmFor("vm"), opt)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	})

	t.Run("unresolvable", func(t *testing.T) {
		dialErr(t, VM{Name: "nx", Host: "nosuchhost.invalid", Port: 22}, opt, "cannot reach VM nx", "cannot resolve nosuchhost.invalid")
	})
}

func TestDialWithAgentOnly(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	home := testHome(t)
	opt := s.trustingOptions(t, home)
	startTestAgent(t, s.client)
	vm := s.vmFor("vm")
	vm.KeyFiles = nil
	dialOK(t, vm, opt)
}

func TestDialConnDeadWhenLinkFreezes(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	home := testHome(t)
	opt := s.trustingOptions(t, home)
	opt.Keepalive = 100 * time.Millisecond
	p := startProxy(t, s.addr())
	vm := s.vmFor("vm")
	vm.Port = p.port()
	writeFile(t, opt.KnownHostsFile, fmt.Sprintf("[127.0.0.1]:%d %s", p.port(), ssh.MarshalAuthorizedKey(s.hostKeys["ed25519"])))
	c := dialOK(t, vm, opt)

	// Many keepalive periods on a working link: alive.
	select {
	case <-c.Dead():
		t.Fatal("Dead on a working link")
	case <-time.After(1500 * time.Millisecond):
	}
	if r := c.DeadReason(); r != "" {
		t.Errorf("DeadReason %q on a live link", r)
	}
	p.freeze()
	select {
	case <-c.Dead():
	case <-time.After(20 * time.Second):
		t.Fatal("Dead not closed after the link froze")
	}
	if r := c.DeadReason(); r != "no answer to 3 keepalives" {
		t.Errorf("DeadReason %q after the link froze", r)
	}
	// The client was closed: a new session fails at once.
	if _, err := c.client.NewSession(); err == nil {
		t.Error("session opened on a dead connection")
	}
}

func TestDialConnCloseDoesNotMarkDead(t *testing.T) {
	s := startSSHD(t, sshdOptions{})
	home := testHome(t)
	opt := s.trustingOptions(t, home)
	opt.Keepalive = 50 * time.Millisecond
	c := dialOK(t, s.vmFor("vm"), opt)
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case <-c.Dead():
		t.Error("Close closed Dead")
	case <-time.After(300 * time.Millisecond):
	}
}
