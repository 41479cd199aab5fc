package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// stopRepeats is how often each way of stopping is tried (the issue asks
// for at least 10): a leak that happens one time in a few shows up.
const stopRepeats = 10

// TestReliabilityNoOrphans (issue 5, guarantee 1): however a capture is
// stopped, nothing of vmdump's (tcpdump, the wrapper shell, its reader and
// watchdog, their sleep, sudo) runs in the VM 2 s later, and vmdump itself
// has exited by then unless it was killed. The capture filter matches
// nothing at the moment of stopping, so tcpdump never writes and never gets
// a SIGPIPE: only vmdump's design can end it. Each way of stopping has its
// own lab, so the loops run in parallel and a leftover is attributed to the
// right one.
func TestReliabilityNoOrphans(t *testing.T) {
	for _, c := range []struct {
		kind string
		stop func(t *testing.T, u *user)
	}{
		{stopSIGTERM, stopBySIGTERM},
		{stopSIGINT, stopBySIGINT},
		{stopSIGKILL, stopBySIGKILL},
		{stopReader, stopByReaderGone},
		{stopDuration, stopByDuration},
		{stopSSHD, stopBySSHDKilled},
	} {
		t.Run(strings.Fields(c.kind)[0], func(t *testing.T) {
			t.Parallel()
			l := lab.Start(t, lab.Options{})
			u := newUser(t, l)
			failed := 0
			for i := range stopRepeats {
				if !t.Run(fmt.Sprintf("run%02d", i), func(t *testing.T) { c.stop(t, u) }) {
					// A broken stop need not be shown ten times.
					if failed++; failed == 3 {
						t.Fatalf("giving up after %d failed runs", failed)
					}
				}
			}
		})
	}
}

// stopBySIGTERM is Wireshark's Stop button: SIGTERM to the extcap alone.
func stopBySIGTERM(t *testing.T, u *user) {
	ts := u.startTshark("-f", quietFilter)
	u.waitRemoteCapture(ts)
	pid := ts.capturePid(t)
	since := time.Now()
	signalPid(pid, syscall.SIGTERM)
	awaitExit(t, pid, since, stopLimit, "vmdump")
	checkStop(t, u.lab, stopSIGTERM, since, stopLimit)
	ts.wait(t, 60*time.Second)
	checkStoppedQuietly(t, ts)
}

// stopBySIGINT is Ctrl-C in tshark's terminal: SIGINT to tshark, dumpcap
// and vmdump at once (its process group).
func stopBySIGINT(t *testing.T, u *user) {
	ts := u.startTshark("-f", quietFilter)
	u.waitRemoteCapture(ts)
	pid := ts.capturePid(t)
	since := time.Now()
	ts.signal(syscall.SIGINT)
	awaitExit(t, pid, since, stopLimit, "vmdump")
	checkStop(t, u.lab, stopSIGINT, since, stopLimit)
	ts.wait(t, 60*time.Second)
	checkStoppedQuietly(t, ts)
}

// stopBySIGKILL is Wireshark's SIGKILL after its 30 s (and the closest a
// Unix test gets to Windows' TerminateProcess): vmdump runs no code at all.
func stopBySIGKILL(t *testing.T, u *user) {
	ts := u.startTshark("-f", quietFilter)
	u.waitRemoteCapture(ts)
	pid := ts.capturePid(t)
	since := time.Now()
	signalPid(pid, syscall.SIGKILL)
	checkStop(t, u.lab, stopSIGKILL, since, stopLimit)
	ts.wait(t, 60*time.Second)
	read(t, ts.out)
}

// stopByReaderGone is dumpcap (or Wireshark with it) dying first: the FIFO
// loses its reader and no signal comes. vmdump must notice although it has
// nothing to write.
func stopByReaderGone(t *testing.T, u *user) {
	d := u.startDirect(t, "--extcap-capture-filter", quietFilter)
	u.waitDirectCapture(t, d)
	since := time.Now()
	d.reader.Process.Kill()
	awaitExit(t, d.cmd.Process.Pid, since, stopLimit, "vmdump")
	checkStop(t, u.lab, stopReader, since, stopLimit)
	d.wait(t, 60*time.Second)
	if s := d.stderr.String(); s != "" {
		t.Errorf("a reader that went away is a normal stop, but vmdump wrote to stderr:\n%s", s)
	}
	if code := d.exitCode(); code != 0 {
		t.Errorf("vmdump exit status %d after its reader went away, want 0", code)
	}
}

// stopByDuration is tshark's own limit: tshark stops dumpcap, and when
// dumpcap has gone sends SIGTERM to vmdump. The clock starts when dumpcap
// is seen gone (the first sign of the stop visible from outside).
func stopByDuration(t *testing.T, u *user) {
	ts := u.startTshark("-a", "duration:4", "-f", quietFilter)
	pid := ts.capturePid(t)
	dumpcap := 0
	for dumpcap == 0 && !exited(pid) {
		dumpcap = ts.dumpcapPid()
		time.Sleep(10 * time.Millisecond)
	}
	// Whether tcpdump had started by the time tshark stopped depends on
	// the machine's speed; both must end clean, only the first is the
	// issue's case.
	started := false
	for !exited(dumpcap) {
		if !started && len(tcpdumpsInVM(u.lab)) > 0 {
			started = true
		}
		time.Sleep(10 * time.Millisecond)
	}
	since := time.Now()
	if !started {
		t.Logf("tshark's duration ended before tcpdump started (slow machine); the stop is checked all the same")
	}
	awaitExit(t, pid, since, stopLimit, "vmdump")
	checkStop(t, u.lab, stopDuration, since, stopLimit)
	ts.wait(t, 60*time.Second)
	checkStoppedQuietly(t, ts)
}

// stopBySSHDKilled kills the per-connection sshd processes under the
// capture (an sshd crash, an OOM kill): the session's stdin closes, the
// VM-side reader ends tcpdump, and vmdump, whose connection died, exits with
// one line saying so.
func stopBySSHDKilled(t *testing.T, u *user) {
	ts := u.startTshark("-f", quietFilter)
	u.waitRemoteCapture(ts)
	pid := ts.capturePid(t)
	since := time.Now()
	if n, err := u.lab.KillSSHSessions(); err != nil || n == 0 {
		t.Fatalf("killing sshd sessions: %d killed, %v", n, err)
	}
	awaitExit(t, pid, since, stopLimit, "vmdump")
	checkStop(t, u.lab, stopSSHD, since, stopLimit)
	ts.wait(t, 60*time.Second)
	// Either "the capture on VM lab ended ... (the SSH session was
	// closed)" or "lost the connection to VM lab": which one depends on
	// whether the session or the connection is seen to end first.
	checkTsharkOneLineError(t, ts, "VM lab")
	read(t, ts.out)
}

// checkStoppedQuietly: a stop the user asked for is no error (Wireshark
// would show any stderr in a dialog), and the file tshark wrote is valid.
func checkStoppedQuietly(t *testing.T, ts *tshark) {
	t.Helper()
	if msg, ok := extcapError(ts.stderr.String()); ok {
		t.Errorf("vmdump wrote to stderr on a normal stop: %s", msg)
	}
	checkNoPanic(t, ts.stderr.String())
	read(t, ts.out)
}
