package e2e

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// stopRepeats is how often each way of stopping is tried (the issue asks
// for at least 10): a leak that happens one time in a few shows up.
const stopRepeats = 10

// stopRun is one capture of the lab VM, with a filter that matches
// nothing, about to be stopped: under tshark, or (direct) run the way
// Wireshark runs it, a FIFO reader standing in for dumpcap.
type stopRun struct {
	u   *user
	ts  *tshark        // nil when direct
	d   *directCapture // nil unless direct
	pid int            // vmdump --capture
}

// stopWay is one way of stopping a capture, a row of the reliability table.
type stopWay struct {
	kind string
	// direct: vmdump runs without tshark (see startDirect).
	direct bool
	// args are tshark's (when direct, vmdump's) arguments besides the
	// interface and the filter.
	args []string
	// stopsItself: tshark's own limit ends the capture, maybe before
	// tcpdump started, so the run waits for nothing and stop is nil; the
	// clock starts when dumpcap is seen gone, the first sign of the stop
	// visible from outside.
	stopsItself bool
	// stop stops the capture; the clock starts just before.
	stop func(t *testing.T, r *stopRun)
	// killed: vmdump runs no code at all, so its own exit is not awaited.
	killed bool
	// check checks what the user is left with once vmdump has ended.
	check func(t *testing.T, r *stopRun)
}

// stopWays are the ways of stopping, in the order of the table (the link
// going down and eight stops at once have tests of their own).
var stopWays = []stopWay{
	// Wireshark's Stop button: SIGTERM to the extcap alone.
	{kind: stopSIGTERM, stop: func(t *testing.T, r *stopRun) { signalPid(r.pid, syscall.SIGTERM) }, check: stoppedQuietly},
	// Ctrl-C in tshark's terminal: SIGINT to tshark, dumpcap and vmdump at
	// once (its process group).
	{kind: stopSIGINT, stop: func(t *testing.T, r *stopRun) { r.ts.signal(syscall.SIGINT) }, check: stoppedQuietly},
	// Wireshark's SIGKILL after its 30 s (and the closest a Unix test gets
	// to Windows' TerminateProcess): vmdump runs no code at all.
	{kind: stopSIGKILL, killed: true, stop: func(t *testing.T, r *stopRun) { signalPid(r.pid, syscall.SIGKILL) },
		check: func(t *testing.T, r *stopRun) { read(t, r.ts.out) }},
	// dumpcap (or Wireshark with it) dying first: the FIFO loses its
	// reader and no signal comes. vmdump must notice although it has
	// nothing to write, and a reader that went away is a normal stop.
	{kind: stopReader, direct: true, stop: func(t *testing.T, r *stopRun) { r.d.reader.Process.Kill() },
		check: func(t *testing.T, r *stopRun) {
			if s := r.d.stderr.String(); s != "" {
				t.Errorf("a reader that went away is a normal stop, but vmdump wrote to stderr:\n%s", s)
			}
			if code := r.d.exitCode(); code != 0 {
				t.Errorf("vmdump exit status %d after its reader went away, want 0", code)
			}
		}},
	// tshark's own limit: tshark stops dumpcap, and when dumpcap has gone
	// sends SIGTERM to vmdump.
	{kind: stopDuration, args: []string{"-a", "duration:4"}, stopsItself: true, check: stoppedQuietlyOrEarly},
	// The per-connection sshd processes under the capture are killed (an
	// sshd crash, an OOM kill): the session's stdin closes, the VM-side
	// reader ends tcpdump, and vmdump, whose connection died, exits with
	// one line saying so: either "the capture on VM lab ended ... (the SSH
	// session was closed)" or "lost the connection to VM lab", depending on
	// whether the session or the connection is seen to end first.
	{kind: stopSSHD, stop: func(t *testing.T, r *stopRun) {
		if n, err := r.u.lab.KillSSHSessions(); err != nil || n == 0 {
			t.Fatalf("killing sshd sessions: %d killed, %v", n, err)
		}
	}, check: func(t *testing.T, r *stopRun) {
		checkTsharkOneLineError(t, r.ts, "VM lab")
		read(t, r.ts.out)
	}},
}

// TestReliabilityNoOrphans (issue 5, guarantee 1): however a capture is
// stopped, nothing of vmdump's (tcpdump, the wrapper shell, its reader and
// watchdog, their sleep, sudo) runs in the VM 2 s later, and vmdump itself
// has exited by then unless it was killed. The capture filter matches
// nothing at the moment of stopping, so tcpdump never writes and never gets
// a SIGPIPE: only vmdump's design can end it. Each way of stopping has its
// own lab, so the loops run in parallel and a leftover is attributed to the
// right one.
func TestReliabilityNoOrphans(t *testing.T) {
	for _, w := range stopWays {
		t.Run(strings.Fields(w.kind)[0], func(t *testing.T) {
			t.Parallel()
			l := lab.Start(t, lab.Options{})
			u := newUser(t, l)
			failed := 0
			for i := range stopRepeats {
				if !t.Run(fmt.Sprintf("run%02d", i), func(t *testing.T) { w.run(t, u) }) {
					// A broken stop need not be shown ten times.
					if failed++; failed == 3 {
						t.Fatalf("giving up after %d failed runs", failed)
					}
				}
			}
		})
	}
}

// run starts one capture, stops it this way and checks the stop: vmdump
// gone within the limit (unless killed), nothing of its left in the VM,
// and what the user is left with.
func (w stopWay) run(t *testing.T, u *user) {
	r := &stopRun{u: u}
	if w.direct {
		r.d = u.startDirect(t, slices.Concat(w.args, []string{"--extcap-capture-filter", quietFilter})...)
		u.waitDirectCapture(t, r.d)
		r.pid = r.d.cmd.Process.Pid
	} else {
		r.ts = u.startTshark(slices.Concat(w.args, []string{"-f", quietFilter})...)
		if !w.stopsItself {
			u.waitRemoteCapture(r.ts)
		}
		r.pid = r.ts.capturePid(t)
	}
	var since time.Time
	if w.stopsItself {
		since = r.awaitDumpcapGone(t)
	} else {
		since = time.Now()
		w.stop(t, r)
	}
	if !w.killed {
		awaitExit(t, r.pid, since, stopLimit, "vmdump")
	}
	checkStop(t, u.lab, w.kind, since, stopLimit)
	if w.direct {
		r.d.wait(t, 60*time.Second)
	} else {
		r.ts.wait(t, 60*time.Second)
	}
	w.check(t, r)
}

// awaitDumpcapGone waits for tshark's dumpcap to come and go, and returns
// when it was seen gone. Whether tcpdump had started by then depends on
// the machine's speed; both must end clean, only the first is the issue's
// case.
func (r *stopRun) awaitDumpcapGone(t *testing.T) time.Time {
	dumpcap := 0
	for dumpcap == 0 && !exited(r.pid) {
		dumpcap = r.ts.dumpcapPid()
		time.Sleep(10 * time.Millisecond)
	}
	started := false
	for !exited(dumpcap) {
		if !started && len(tcpdumpsInVM(r.u.lab)) > 0 {
			started = true
		}
		time.Sleep(10 * time.Millisecond)
	}
	since := time.Now()
	if !started {
		t.Logf("tshark's duration ended before tcpdump started (slow machine); the stop is checked all the same")
	}
	return since
}

// stoppedQuietly is checkStoppedQuietly for a run under tshark.
func stoppedQuietly(t *testing.T, r *stopRun) { checkStoppedQuietly(t, r.ts) }

// stoppedQuietlyOrEarly is stoppedQuietly for a stop that may come before
// tcpdump started (tshark's own limit on a slow machine): then vmdump's
// one line saying what it was waiting for is the only stderr allowed.
func stoppedQuietlyOrEarly(t *testing.T, r *stopRun) {
	t.Helper()
	if msg, ok := extcapError(r.ts.stderr.String()); ok && !strings.HasPrefix(msg, "vmdump: stopped before the capture started: ") {
		t.Errorf("vmdump wrote to stderr on a normal stop: %s", msg)
	}
	checkNoPanic(t, r.ts.stderr.String())
	read(t, r.ts.out)
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
