package sshconn

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

	"github.com/vmdump/vmdump/internal/shquote"
	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"golang.org/x/crypto/ssh"
)

func dialOK(t *testing.T, vm vmctl.VM, opt DialOptions) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), vm, opt)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialErr(t *testing.T, vm vmctl.VM, opt DialOptions, want ...string) error {
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
	s, err := c.Client.NewSession()
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
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	home := vmtest.Home(t)
	kh := filepath.Join(home, ".ssh", "known_hosts")
	opt := DialOptions{Home: home, KnownHostsFile: kh, Timeout: 10 * time.Second}
	display := fmt.Sprintf("[127.0.0.1]:%d", s.Port)

	dialErr(t, s.VMFor("vm"), opt, "unknown host key "+ssh.FingerprintSHA256(s.HostKeys["ed25519"])+" for "+display, "set host-key policy to accept-new")
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Fatalf("refused host written to known_hosts: %v", err)
	}

	opt.AcceptNew = true
	c := dialOK(t, s.VMFor("vm"), opt)
	if out := runRemote(t, c, "echo ok"); out != "ok\n" {
		t.Errorf("remote echo: %q", out)
	}
	content, _ := os.ReadFile(kh)
	if !strings.HasPrefix(string(content), display+" ssh-ed25519 ") {
		t.Errorf("known_hosts = %q", content)
	}

	opt.AcceptNew = false
	dialOK(t, s.VMFor("vm"), opt)
}

func TestDialKnownHostsMismatch(t *testing.T) {
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	home := vmtest.Home(t)
	other := newEd25519Key(t)
	kh := vmtest.WriteFile(t, filepath.Join(home, ".ssh", "known_hosts"), fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, ssh.MarshalAuthorizedKey(other)))
	for _, acceptNew := range []bool{false, true} {
		dialErr(t, s.VMFor("vm"), DialOptions{Home: home, KnownHostsFile: kh, AcceptNew: acceptNew},
			fmt.Sprintf("host key for [127.0.0.1]:%d changed", s.Port),
			"known_hosts has "+ssh.FingerprintSHA256(other),
			"server sent "+ssh.FingerprintSHA256(s.HostKeys["ed25519"]),
			fmt.Sprintf("ssh-keygen -f %s -R '[127.0.0.1]:%d'", shquote.Quote(kh), s.Port))
	}
}

// TestDialOffersTheKnownKeyType: the server has ecdsa and ed25519 keys and
// Go would pick ecdsa; known_hosts has only one of them. Without
// HostKeyAlgorithms from known_hosts this is a false "changed".
func TestDialOffersTheKnownKeyType(t *testing.T) {
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{HostKeyTypes: []string{"ecdsa", "ed25519"}})
	for _, typ := range []string{"ed25519", "ecdsa"} {
		home := vmtest.Home(t)
		kh := vmtest.WriteFile(t, filepath.Join(home, ".ssh", "known_hosts"), s.KnownHostsLine(typ)+"\n")
		dialOK(t, s.VMFor("vm"), DialOptions{Home: home, KnownHostsFile: kh})
	}
}

func TestDialPinsLoopbackVMKeyPerIdentity(t *testing.T) {
	s1 := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	home := vmtest.Home(t)
	pins := filepath.Join(home, "config", "vmdump", "known_hosts")
	vm := s1.VMFor("default")
	vm.Manager, vm.Loopback = "docker-machine", true
	opt := DialOptions{Home: home, PinnedKeysFile: pins, KnownHostsFile: filepath.Join(home, ".ssh", "known_hosts")}

	dialOK(t, vm, opt).Close() // trust on first use
	dialOK(t, vm, opt).Close() // same key: fine
	if _, err := os.Stat(opt.KnownHostsFile); !os.IsNotExist(err) {
		t.Error("a loopback VM's key went to known_hosts")
	}

	// The VM was recreated: same identity, new sshd, new key (and here
	// another port, as NAT forwards are reassigned).
	s2 := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	vm2 := vm
	vm2.Port, vm2.KeyFiles = s2.Port, []string{s2.Client.Path}
	dialErr(t, vm2, opt, "host key of VM docker-machine/default changed",
		"pinned "+ssh.FingerprintSHA256(s1.HostKeys["ed25519"]),
		"server sent "+ssh.FingerprintSHA256(s2.HostKeys["ed25519"]),
		"vmdump forget-host-key docker-machine/default")

	// Another VM behind the very same host:port is not "changed": it is
	// a different identity with its own pin.
	vm3 := s2.VMFor("other")
	vm3.Manager, vm3.Loopback = "docker-machine", true
	dialOK(t, vm3, opt).Close()

	if err := ForgetPinnedKey(pins, "docker-machine", "default"); err != nil {
		t.Fatal(err)
	}
	dialOK(t, vm2, opt).Close()
}

func TestDialPinnedServerLostKeyType(t *testing.T) {
	s1 := vmtest.StartSSHD(t, vmtest.SSHDOptions{HostKeyTypes: []string{"ecdsa"}})
	s2 := vmtest.StartSSHD(t, vmtest.SSHDOptions{HostKeyTypes: []string{"ed25519"}})
	home := vmtest.Home(t)
	opt := DialOptions{Home: home, PinnedKeysFile: filepath.Join(home, "pins")}
	vm := s1.VMFor("x")
	vm.Loopback = true
	dialOK(t, vm, opt).Close()
	vm.Port = s2.Port
	dialErr(t, vm, opt, "host key of VM test/x changed", "no ecdsa-sha2-nistp256 key", "forget-host-key test/x")
}

func TestDialSSHConfigAlias(t *testing.T) {
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	home := vmtest.Home(t)
	key := vmtest.NewKeyFile(t, filepath.Join(home, ".ssh"), "vm_key", "")
	s2 := vmtest.StartSSHD(t, vmtest.SSHDOptions{Authorized: []vmtest.Key{key}})
	vmtest.WriteFile(t, filepath.Join(home, ".ssh", "config"), fmt.Sprintf(`
Host myvm
  HostName 127.0.0.1
  Port %d
  User root
  IdentityFile ~/.ssh/vm_key
  UserKnownHostsFile ~/.ssh/kh_%%n
  StrictHostKeyChecking accept-new
`, s2.Port))
	_ = s
	vm := vmctl.VM{Manager: "config", Name: "myvm", Host: "myvm", SSHAlias: true}
	c := dialOK(t, vm, DialOptions{Home: home})
	if out := runRemote(t, c, "echo $SSH_CONNECTION"); !strings.HasSuffix(strings.TrimSpace(out), fmt.Sprintf(" %d", s2.Port)) {
		t.Errorf("connected to %q, want port %d", out, s2.Port)
	}
	content, err := os.ReadFile(filepath.Join(home, ".ssh", "kh_myvm"))
	if err != nil || !strings.Contains(string(content), fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519", s2.Port)) {
		t.Errorf("UserKnownHostsFile not used: %q %v", content, err)
	}
	// The dialog's port beats the config.
	vm.Port = 1
	dialErr(t, vm, DialOptions{Home: home, Port: vmtest.FreePort(t)}, "connection refused")
}

func TestDialProxyJump(t *testing.T) {
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	home := vmtest.Home(t)
	opt := trustingOptions(t, s, home)
	opt.KeyFile = s.Client.Path // the jump host logs in with it too
	vm := s.VMFor("inner")
	vm.ProxyJump = fmt.Sprintf("root@127.0.0.1:%d", s.Port)
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

	vm.ProxyJump = fmt.Sprintf("root@127.0.0.1:%d", vmtest.FreePort(t))
	dialErr(t, vm, opt, "jump host 127.0.0.1", "connection refused")
}

func TestDialErrorsAreActionable(t *testing.T) {
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	home := vmtest.Home(t)
	opt := trustingOptions(t, s, home)

	t.Run("refused", func(t *testing.T) {
		port := vmtest.FreePort(t)
		vm := vmctl.VM{Name: "default", Host: "127.0.0.1", Port: port}
		err := dialErr(t, vm, opt)
		want := fmt.Sprintf("cannot reach VM default at 127.0.0.1:%d: connection refused — is the VM running?", port)
		if err.Error() != want {
			t.Errorf("got  %q\nwant %q", err, want)
		}
	})

	t.Run("auth", func(t *testing.T) {
		stranger := vmtest.NewKeyFile(t, t.TempDir(), "stranger", "")
		locked := vmtest.NewKeyFile(t, t.TempDir(), "locked", "pass phrase")
		vm := s.VMFor("vm")
		vm.KeyFiles = []string{stranger.Path, locked.Path}
		o := opt
		o.Password = "sekrit-pw"
		err := dialErr(t, vm, o, "cannot log in to VM vm at 127.0.0.1", "as root", "key "+stranger.Path, "password",
			"key "+locked.Path+" is encrypted: add it to ssh-agent or set the key passphrase in the options dialog")
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
		port, _ := vmtest.SilentServer(t, "") // accepted, never answers
		o := opt
		o.Timeout = time.Second
		dialErr(t, vmctl.VM{Name: "slow", Host: "127.0.0.1", Port: port}, o,
			"VM slow at 127.0.0.1:", "accepted the connection but sent no SSH greeting in 1 s")
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
		dialErr(t, vmctl.VM{Name: "booting", Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}, opt,
			"closed the connection before SSH login — is the VM still booting")
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Dial(ctx, s.VMFor("vm"), opt)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	})

	t.Run("unresolvable", func(t *testing.T) {
		dialErr(t, vmctl.VM{Name: "nx", Host: "nosuchhost.invalid", Port: 22}, opt, "cannot reach VM nx", "cannot resolve nosuchhost.invalid")
	})
}

func TestDialWithAgentOnly(t *testing.T) {
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	home := vmtest.Home(t)
	opt := trustingOptions(t, s, home)
	startTestAgent(t, s.Client)
	vm := s.VMFor("vm")
	vm.KeyFiles = nil
	dialOK(t, vm, opt)
}

func TestDialConnDeadWhenLinkFreezes(t *testing.T) {
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	home := vmtest.Home(t)
	opt := trustingOptions(t, s, home)
	opt.Keepalive = 100 * time.Millisecond
	p := vmtest.StartProxy(t, s.Addr())
	vm := s.VMFor("vm")
	vm.Port = p.Port()
	vmtest.WriteFile(t, opt.KnownHostsFile, fmt.Sprintf("[127.0.0.1]:%d %s", p.Port(), ssh.MarshalAuthorizedKey(s.HostKeys["ed25519"])))
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
	p.Freeze()
	select {
	case <-c.Dead():
	case <-time.After(20 * time.Second):
		t.Fatal("Dead not closed after the link froze")
	}
	if r := c.DeadReason(); r != "no answer to 3 keepalives" {
		t.Errorf("DeadReason %q after the link froze", r)
	}
	// The client was closed: a new session fails at once.
	if _, err := c.Client.NewSession(); err == nil {
		t.Error("session opened on a dead connection")
	}
}

func TestDialConnCloseDoesNotMarkDead(t *testing.T) {
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	home := vmtest.Home(t)
	opt := trustingOptions(t, s, home)
	opt.Keepalive = 50 * time.Millisecond
	c := dialOK(t, s.VMFor("vm"), opt)
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
