package capture

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/sshconn"
	"golang.org/x/crypto/ssh"
)

// recorder is a Notifier that keeps what it heard.
type recorder struct {
	mu     sync.Mutex
	status []string
	logs   []string
}

func (r *recorder) Status(msg string) { r.mu.Lock(); r.status = append(r.status, msg); r.mu.Unlock() }
func (r *recorder) Error(string)      {}
func (r *recorder) Log(msg string)    { r.mu.Lock(); r.logs = append(r.logs, msg); r.mu.Unlock() }

func (r *recorder) statuses() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.status...)
}

// stopOptions are Options for a VM at 127.0.0.1:port in an empty home.
func stopOptions(t *testing.T, port int) Options {
	t.Helper()
	t.Setenv("SSH_AUTH_SOCK", "")
	home := t.TempDir()
	return Options{
		Log:  slog.New(slog.DiscardHandler),
		VM:   vmctl.VM{ID: "vmdump_cfg_lab", Manager: "config", Name: "lab", Host: "127.0.0.1", Port: port, User: "tester"},
		NICs: []string{"eth0"},
		Dial: sshconn.DialOptions{
			Home: home, KnownHostsFile: filepath.Join(home, "known_hosts"), AcceptNew: true,
			PinnedKeysFile: filepath.Join(home, "pins"), Password: "pw",
		},
	}
}

// runStopped runs a capture, stops it (cancels ctx) after wait and
// returns Run's error; Run must end within a second of the stop.
func runStopped(t *testing.T, opt Options, n Notifier, wait time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opt, n, pcapng.NewWriter(&bytes.Buffer{}, "test")) }()
	select {
	case err := <-done:
		t.Fatalf("Run ended before the stop: %v", err)
	case <-time.After(wait):
	}
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Second):
		t.Fatal("Run still running 1 s after the stop")
		return nil
	}
}

// TestRunStoppedBeforeGreeting (issue 15, item 7): an endpoint that
// accepts TCP and never speaks SSH, and a stop before the login limit:
// Run says what it waited for instead of ending quietly, and the status
// bar said it while the capture still waited.
func TestRunStoppedBeforeGreeting(t *testing.T) {
	port, _ := vmtest.SilentServer(t, "") // accepts; never a byte
	rec := &recorder{}
	err := runStopped(t, stopOptions(t, port), rec, 2500*time.Millisecond)
	var early *StoppedEarlyError
	if !errors.As(err, &early) {
		t.Fatalf("Run returned %T %v, want a *StoppedEarlyError", err, err)
	}
	t.Logf("Run: %v", err)
	msg := err.Error()
	for _, w := range []string{"stopped before the capture started: VM lab at 127.0.0.1:", "accepted the connection but sent no SSH greeting in 2."} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q lacks %q", msg, w)
		}
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v does not wrap context.Canceled", err)
	}
	st := rec.statuses()
	if len(st) != 1 || !strings.Contains(st[0], "still connecting: VM lab at 127.0.0.1:") || !strings.Contains(st[0], "sent no SSH greeting") {
		t.Errorf("status bar heard %q, want one hint about the missing greeting", st)
	}
}

// TestRunStoppedDuringProbe: a server that logs vmdump in and then never
// opens the probe's session (it answers nothing at all). A stop ends Run
// at once, saying the probe was pending, although opening a session has no
// context of its own.
func TestRunStoppedDuringProbe(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) { return nil, nil }}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	loggedIn := make(chan struct{}, 4)
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
				sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				defer sc.Close()
				loggedIn <- struct{}{}
				// Neither channels nor requests are ever answered.
				go func() {
					for range reqs {
					}
				}()
				var held []ssh.NewChannel
				for ch := range chans {
					held = append(held, ch)
				}
			}()
		}
	}()
	rec := &recorder{}
	err = runStopped(t, stopOptions(t, l.Addr().(*net.TCPAddr).Port), rec, 1500*time.Millisecond)
	select {
	case <-loggedIn:
	default:
		t.Fatal("the test server never logged vmdump in")
	}
	var early *StoppedEarlyError
	if !errors.As(err, &early) {
		t.Fatalf("Run returned %T %v, want a *StoppedEarlyError", err, err)
	}
	t.Logf("Run: %v", err)
	if msg := err.Error(); !strings.Contains(msg, "stopped before the capture started: logged in to VM lab, but its shell had not answered vmdump's probe in ") {
		t.Errorf("%q does not say the probe was pending", msg)
	}
	if st := rec.statuses(); len(st) != 0 {
		t.Errorf("a fast login hinted %q", st)
	}
}

// TestRunDialFailureIsNoStop: a dial that fails by itself (refused) is the
// plain error, not a stop.
func TestRunDialFailureIsNoStop(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	err = Run(context.Background(), stopOptions(t, port), &recorder{}, pcapng.NewWriter(&bytes.Buffer{}, "test"))
	var early *StoppedEarlyError
	if err == nil || errors.As(err, &early) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Run: %v, want the refused connection", err)
	}
}
