package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestTsharkListsTheVM: `tshark -D` shows the lab VM with a display name
// that says which VM and which manager.
func TestTsharkListsTheVM(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l)
	cmd := output("tshark", u.env, "-D")
	if !strings.Contains(cmd, u.vmID+" (Docker VM lab (config") {
		t.Fatalf("tshark -D does not list %s as the lab VM:\n%s", u.vmID, cmd)
	}
}

// TestCapturePayloadFilter: with no options beyond the interface, tshark
// captures exactly the data segments the containers exchanged (the seed's
// payload filter is on by default); with it off, the handshake and bare ACKs
// appear too.
func TestCapturePayloadFilter(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l)
	const messages = 10

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default-on", nil},
		{"off", []string{"-o", "extcap." + u.vmID + ".payloadonly:off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := u.startTshark(append([]string{"-a", "duration:8"}, tc.args...)...)
			u.waitRemoteCapture(ts)
			l.Send(t, messages, 20*time.Millisecond)
			ts.wait(t, 40*time.Second)
			u.assertNoOrphans()

			data := count(t, ts.out, "tcp.len > 0")
			all := count(t, ts.out, "")
			if data != 2*messages {
				t.Fatalf("%d data segments captured, want %d (each message and its echo); stderr: %s", data, 2*messages, ts.stderr.String())
			}
			if tc.name == "default-on" && all != data {
				t.Fatalf("payload filter on: %d packets, of which only %d carry data", all, data)
			}
			if tc.name == "off" && all <= data {
				t.Fatalf("payload filter off: %d packets, want more than the %d data segments (handshake, ACKs)", all, data)
			}
		})
	}
}

// TestCaptureFilterCombined: Wireshark's own capture filter (-f) is ANDed
// with the payload filter on the VM.
func TestCaptureFilterCombined(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l)
	// Only the server's packets (container 2) pass; of its TCP segments,
	// payload-only keeps the 5 echoes; anything else it sends that is not
	// TCP (ARP) passes too, as the user's filter asks.
	ts := u.startTshark("-a", "duration:8", "-f", "src host "+l.ContainerAddr(2))
	u.waitRemoteCapture(ts)
	l.Send(t, 5, 20*time.Millisecond)
	ts.wait(t, 40*time.Second)
	if got := count(t, ts.out, "tcp"); got != 5 {
		t.Fatalf("%d packets, want the 5 echoes from %s", got, l.ContainerAddr(2))
	}
	if got := count(t, ts.out, "ip.src == "+l.ContainerAddr(1)); got != 0 {
		t.Fatalf("%d packets from the client passed a filter on the server", got)
	}
}

// TestStopSignals: a capture stopped by Ctrl-C (SIGINT to tshark's process
// group) or by SIGTERM to tshark ends vmdump and leaves nothing in the VM,
// with a filter that matches nothing at the moment of stopping (the case
// where sshdump's tcpdump lives on forever); the file stays readable.
func TestStopSignals(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ts := u.startTshark("-f", quietFilter) // nothing in the lab uses port 9
			u.waitRemoteCapture(ts)
			if sig == syscall.SIGTERM {
				ts.cmd.Process.Signal(sig) // tshark alone, as a service manager would
			} else {
				ts.signal(sig)
			}
			ts.wait(t, 10*time.Second)
			u.assertNoOrphans()
			read(t, ts.out) // must parse
		})
	}
}

// TestHostileFilterRunsNothing: a capture filter full of shell syntax never
// runs a command on the VM (it is quoted all the way to tcpdump, which
// rejects it), and the user gets tcpdump's one-line complaint.
func TestHostileFilterRunsNothing(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l)
	marker := filepath.Join(t.TempDir(), "pwned")
	for _, f := range []string{
		"tcp'; touch " + marker + "; echo '",
		"tcp $(touch " + marker + ")",
		"tcp `touch " + marker + "`",
		"tcp && touch " + marker,
		"tcp | touch " + marker,
		"tcp\ntouch " + marker,
	} {
		ts := u.startTshark("-a", "duration:3", "-f", f)
		ts.wait(t, 30*time.Second)
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("filter %q ran a command on the VM", f)
		}
		if !strings.Contains(ts.stderr.String(), "vmdump") {
			t.Errorf("filter %q: no error from vmdump; stderr:\n%s", f, ts.stderr.String())
		}
		u.assertNoOrphans()
	}
}
