package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// silentEndpoint is a TCP listener on 127.0.0.1 (never any other address)
// that accepts every connection and never sends a byte: a VM's SSH port
// forward whose VM is not up yet, or a port that is not an SSH server. It
// reports when each connection it accepted was closed by the client.
type silentEndpoint struct {
	port   int
	closed chan time.Time // one per accepted connection, when the client closed it
}

func startSilentEndpoint(t *testing.T) *silentEndpoint {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &silentEndpoint{port: l.Addr().(*net.TCPAddr).Port, closed: make(chan time.Time, 16)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				var b [1]byte
				for {
					if _, err := c.Read(b[:]); err != nil { // the client's version line, then its close
						e.closed <- time.Now()
						return
					}
				}
			}()
		}
	}()
	return e
}

// newSilentVMUser is a user with vmdump installed for tshark and one
// [[vm]] "lab" at 127.0.0.1:port; no lab VM is involved.
func newSilentVMUser(t *testing.T, port int) *user {
	t.Helper()
	needTshark(t)
	home := t.TempDir()
	u := &user{t: t, home: home}
	u.env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if out, err := u.vmdump("install"); err != nil {
		t.Fatalf("vmdump install: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(home, ".config", "vmdump", "config.toml"),
		fmt.Sprintf("[[vm]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = %d\nuser = \"tester\"\n", port))
	u.vmID = u.idOf("config", "lab")
	return u
}

// TestReliabilitySilentSSHEndpoint (issue 15, item 7): an SSH endpoint
// that accepts TCP and never speaks SSH, and a capture that ends before
// vmdump's 10 s login limit. tshark stopped the capture itself (or Ctrl-C
// did), yet the user learns why nothing was captured: vmdump's one line
// says what it was still waiting for, tshark shows it ("tshark: Error by
// extcap pipe: vmdump: stopped before the capture started: ..."), and
// vmdump has exited and closed the connection promptly after the stop,
// without waiting for its login limit.
func TestReliabilitySilentSSHEndpoint(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		stop func(ts *tshark, pid int) // nil: tshark's -a limit stops it
	}{
		{name: "duration", args: []string{"-a", "duration:3"}},
		// Ctrl-C in tshark's terminal: SIGINT to tshark, dumpcap and vmdump.
		{name: "ctrl-c", stop: func(ts *tshark, _ int) { ts.signal(syscall.SIGINT) }},
		// Wireshark's Stop button: SIGTERM to vmdump alone.
		{name: "sigterm", stop: func(_ *tshark, pid int) { signalPid(pid, syscall.SIGTERM) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ep := startSilentEndpoint(t)
			u := newSilentVMUser(t, ep.port)
			ts := u.startTshark(c.args...)
			pid := ts.capturePid(t)
			var since time.Time
			if c.stop != nil {
				time.Sleep(3 * time.Second) // well into the login, well before its limit
				since = time.Now()
				c.stop(ts, pid)
			} else {
				// The clock starts when dumpcap is seen gone, the first
				// sign of tshark's stop visible from outside.
				dumpcap := 0
				for dumpcap == 0 && !exited(pid) {
					dumpcap = ts.dumpcapPid()
					time.Sleep(10 * time.Millisecond)
				}
				for !exited(dumpcap) {
					time.Sleep(10 * time.Millisecond)
				}
				since = time.Now()
			}
			awaitExit(t, pid, since, stopLimit, "vmdump")
			ts.wait(t, 30*time.Second)
			if took := time.Since(since); took > 5*time.Second {
				t.Errorf("tshark took %v to end after the stop", took.Round(time.Millisecond))
			}
			select {
			case at := <-ep.closed:
				if d := at.Sub(since); d > stopLimit {
					t.Errorf("vmdump closed its connection %v after the stop", d.Round(time.Millisecond))
				}
			case <-time.After(5 * time.Second):
				t.Error("vmdump's connection to the endpoint is still open 5 s after the stop")
			}
			msg := checkTsharkOneLineError(t, ts,
				"vmdump: stopped before the capture started: ",
				fmt.Sprintf("VM lab at 127.0.0.1:%d accepted the connection but sent no SSH greeting in ", ep.port),
				"is this port an SSH server")
			t.Logf("tshark showed: %s", strings.TrimSpace(msg))
			if ts.err != nil {
				t.Errorf("tshark exit status: %v; stderr:\n%s", ts.err, ts.stderr.String())
			}
			read(t, ts.out) // the file tshark wrote is valid
		})
	}
}
