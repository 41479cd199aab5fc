package sshconn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"golang.org/x/crypto/ssh"
)

// stopTestHome is a home with nothing in it (no ssh config, no keys, no
// agent), so that a dial offers only the test's credentials.
func stopTestHome(t *testing.T) DialOptions {
	t.Helper()
	t.Setenv("SSH_AUTH_SOCK", "")
	home := t.TempDir()
	return DialOptions{
		Home:           home,
		KnownHostsFile: filepath.Join(home, ".ssh", "known_hosts"),
		AcceptNew:      true,
		PinnedKeysFile: filepath.Join(home, "pins"),
		Timeout:        time.Minute, // a stop, not the timeout, must end these dials
		Log:            nil,
	}
}

// stuckLoginServer is an SSH server on 127.0.0.1 whose every
// authentication callback blocks until the test ends: the key exchange
// completes, the login never does. inAuth is signalled when a callback was
// entered.
func stuckLoginServer(t *testing.T) (port int, inAuth <-chan struct{}) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	entered := make(chan struct{}, 16)
	block := func() {
		entered <- struct{}{}
		<-ended
	}
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
			block()
			return nil, errors.New("no")
		},
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
			block()
			return nil, errors.New("no")
		},
		KeyboardInteractiveCallback: func(ssh.ConnMetadata, ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			block()
			return nil, errors.New("no")
		},
	}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(ended)
		l.Close()
		wg.Wait()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if sc, _, _, err := ssh.NewServerConn(c, cfg); err == nil {
					sc.Close()
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, entered
}

// dialStopped dials vm, stops the dial (cancels its context) once ready is
// signalled, and returns the error; the dial must end promptly after the
// stop, long before its one-minute timeout.
func dialStopped(t *testing.T, vm vmctl.VM, opt DialOptions, ready <-chan struct{}) *StoppedError {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Dial(ctx, vm, opt)
		done <- result{c, err}
	}()
	select {
	case <-ready:
	case r := <-done:
		t.Fatalf("Dial ended before the stop: %v", r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the server never got as far as the test needs")
	}
	time.Sleep(300 * time.Millisecond) // the client has read what there was to read
	cancel()
	stopped := time.Now()
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Dial still running 5 s after the stop")
	}
	if took := time.Since(stopped); took > time.Second {
		t.Errorf("Dial took %v to end after the stop", took)
	}
	if r.err == nil {
		r.c.Close()
		t.Fatal("Dial succeeded")
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", r.err)
	}
	var se *StoppedError
	if !errors.As(r.err, &se) {
		t.Fatalf("error %T %v is not a *StoppedError", r.err, r.err)
	}
	t.Logf("stopped: %s", se.Error())
	if strings.Contains(se.Error(), "\n") {
		t.Errorf("not one line: %q", se.Error())
	}
	return se
}

func checkWords(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%q lacks %q", got, w)
		}
	}
}

// TestDialStoppedSaysWhatItWaitedFor (issue 15, item 7): a dial stopped
// before the login was done says which step was still pending, in the
// user's words: the greeting of a port that accepts TCP and never speaks
// SSH, the key exchange, the login.
func TestDialStoppedSaysWhatItWaitedFor(t *testing.T) {
	opt := stopTestHome(t)

	t.Run("no greeting", func(t *testing.T) {
		port, accepted := vmtest.SilentServer(t, "")
		vm := vmctl.VM{Name: "lab", Host: "127.0.0.1", Port: port, User: "tester"}
		se := dialStopped(t, vm, opt, accepted)
		checkWords(t, se.Waiting, "VM lab at 127.0.0.1:", "accepted the connection but sent no SSH greeting in ", "is this port an SSH server")
	})

	t.Run("not an SSH server", func(t *testing.T) {
		port, accepted := vmtest.SilentServer(t, "220 mail.example ESMTP ready\r\n")
		vm := vmctl.VM{Name: "lab", Host: "127.0.0.1", Port: port, User: "tester"}
		se := dialStopped(t, vm, opt, accepted)
		checkWords(t, se.Waiting, "sent no SSH greeting in", `(it sent "220 mail.example ESMTP ready")`)
	})

	t.Run("no key exchange", func(t *testing.T) {
		port, accepted := vmtest.SilentServer(t, "SSH-2.0-Silent_1.0\r\n")
		vm := vmctl.VM{Name: "lab", Host: "127.0.0.1", Port: port, User: "tester"}
		se := dialStopped(t, vm, opt, accepted)
		checkWords(t, se.Waiting, "VM lab at 127.0.0.1:", `sent its SSH greeting ("SSH-2.0-Silent_1.0") but the key exchange did not finish in`)
	})

	t.Run("login pending", func(t *testing.T) {
		port, inAuth := stuckLoginServer(t)
		o := opt
		o.Password = "secret"
		vm := vmctl.VM{Name: "lab", Host: "127.0.0.1", Port: port, User: "tester"}
		se := dialStopped(t, vm, o, inAuth)
		checkWords(t, se.Waiting, "logging in to VM lab at 127.0.0.1:", "as tester did not finish in", "authentication pending")
		if strings.Contains(se.Waiting, "secret") {
			t.Errorf("the password is in the message: %q", se.Waiting)
		}
	})

	t.Run("cancelled before the dial", func(t *testing.T) {
		port, _ := vmtest.SilentServer(t, "")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Dial(ctx, vmctl.VM{Name: "lab", Host: "127.0.0.1", Port: port}, opt)
		var se *StoppedError
		if !errors.As(err, &se) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err %T %v, want a *StoppedError wrapping context.Canceled", err, err)
		}
		checkWords(t, se.Waiting, "VM lab at 127.0.0.1:")
	})
}

// TestDialTimeoutSaysWhatItWaitedFor: the login limit's own error names
// the pending step the same way, and is no StoppedError (nobody stopped).
func TestDialTimeoutSaysWhatItWaitedFor(t *testing.T) {
	opt := stopTestHome(t)
	opt.Timeout = 300 * time.Millisecond
	port, _ := vmtest.SilentServer(t, "")
	_, err := Dial(context.Background(), vmctl.VM{Name: "lab", Host: "127.0.0.1", Port: port}, opt)
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	var se *StoppedError
	if errors.As(err, &se) {
		t.Errorf("a timeout is reported as a stop: %v", err)
	}
	checkWords(t, err.Error(), "VM lab at 127.0.0.1:", "accepted the connection but sent no SSH greeting in 0.3 s")
}

// TestDialSlowHint: a login still pending after slowHint is said once,
// while the dial goes on, through DialOptions.Slow.
func TestDialSlowHint(t *testing.T) {
	defer func(d time.Duration) { slowHint = d }(slowHint)
	slowHint = 200 * time.Millisecond
	opt := stopTestHome(t)
	hints := make(chan string, 4)
	opt.Slow = func(msg string) { hints <- msg }
	port, _ := vmtest.SilentServer(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, vmctl.VM{Name: "lab", Host: "127.0.0.1", Port: port}, opt)
		done <- err
	}()
	select {
	case msg := <-hints:
		checkWords(t, msg, "still connecting: VM lab at 127.0.0.1:", "accepted the connection but sent no SSH greeting in ")
	case err := <-done:
		t.Fatalf("Dial ended without a hint: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no hint 10 s into a silent login")
	}
	cancel()
	<-done
	select {
	case msg := <-hints:
		t.Errorf("a second hint: %q", msg)
	default:
	}
}

// TestDialNoHintWhenFast: a dial that fails before slowHint says nothing.
func TestDialNoHintWhenFast(t *testing.T) {
	opt := stopTestHome(t)
	var hints []string
	opt.Slow = func(msg string) { hints = append(hints, msg) }
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // refused
	if _, err := Dial(context.Background(), vmctl.VM{Name: "lab", Host: "127.0.0.1", Port: port}, opt); err == nil {
		t.Fatal("Dial succeeded")
	}
	time.Sleep(50 * time.Millisecond)
	if len(hints) > 0 {
		t.Errorf("hints for a fast failure: %q", hints)
	}
}

// TestWaitingWords covers the steps a loopback server cannot hold Dial in
// (a TCP connect that gets no answer, a jump host's channel) and the
// wording of durations.
func TestWaitingWords(t *testing.T) {
	p := newDialProgress(false, "root")
	checkWords(t, p.waiting("VM lab at 10.0.0.5:22", 2500*time.Millisecond),
		"VM lab at 10.0.0.5:22 did not answer the TCP connection in 2.5 s", "is the VM running")
	p = newDialProgress(true, "root")
	checkWords(t, p.waiting("VM lab at 10.0.0.5:22", 12400*time.Millisecond),
		"the jump host had not opened the connection to VM lab at 10.0.0.5:22 in 12 s")
	p.set(waitGreeting)
	p.read([]byte("SSH-2.0-Open"))
	checkWords(t, p.waiting("VM lab at 10.0.0.5:22", 3*time.Second), `sent no SSH greeting in 3 s (it sent "SSH-2.0-Open")`)
	p.read([]byte("SSH_9.2\r\nnext"))
	checkWords(t, p.waiting("VM lab at 10.0.0.5:22", 3*time.Second), `sent its SSH greeting ("SSH-2.0-OpenSSH_9.2") but the key exchange did not finish in 3 s`)
	p = newDialProgress(false, "root")
	p.set(waitGreeting)
	p.read([]byte("\x1b[31m" + strings.Repeat("x", 300) + "\n"))
	got := p.waiting("VM lab at 10.0.0.5:22", time.Second)
	checkWords(t, got, `(it sent "\x1b[31mxxx`, `..."`)
	if strings.ContainsRune(got, 0x1b) || len(got) > 250 {
		t.Errorf("server's text not escaped or not clipped: %q", got)
	}
	for d, want := range map[time.Duration]string{0: "0 s", 40 * time.Millisecond: "0 s", 360 * time.Millisecond: "0.4 s", time.Second: "1 s", 2950 * time.Millisecond: "3 s", 9940 * time.Millisecond: "9.9 s", 10 * time.Second: "10 s", 90 * time.Second: "90 s"} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %q, want %q", d, got, want)
		}
	}
}
