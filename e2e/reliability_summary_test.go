package e2e

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// The reliability suite (issue 5) counts what it tried and what went wrong;
// TestMain prints the table after the tests ran, and writes it to the file
// named by VMDUMP_RELIABILITY_TABLE too: `go test ./...` shows a passing
// package's output only with -v, so CI collects the table from that file.

// tally is one row of the summary: how often something was tried and how
// often it went wrong (an orphan, an executed input, a failed case).
type tally struct {
	tried, bad atomic.Int64
}

// Stop kinds, in the order of the table.
const (
	stopSIGTERM   = "SIGTERM to vmdump (Wireshark's Stop)"
	stopSIGINT    = "SIGINT to tshark's group (Ctrl-C)"
	stopSIGKILL   = "SIGKILL of vmdump"
	stopReader    = "FIFO reader gone (dumpcap died)"
	stopDuration  = "tshark -a duration:N"
	stopSSHD      = "sshd session killed"
	stopLinkDown  = "link down (VM-side watchdog, 30 s)"
	stopConcurent = "8 concurrent captures stopped"
)

var stopKindOrder = []string{stopSIGTERM, stopSIGINT, stopSIGKILL, stopReader, stopDuration, stopSSHD, stopLinkDown, stopConcurent}

// Container stop kinds (issue 14): a capture of a container stopped the
// ways above, and the container itself going away under the capture.
const (
	stopCtrStopped = "docker stop, then SIGTERM while waiting"
	stopCtrRemoved = "docker rm -f, then SIGTERM while waiting"
)

var ctrStopKindOrder = []string{stopSIGTERM, stopSIGINT, stopSIGKILL, stopReader, stopDuration, stopSSHD, stopCtrStopped, stopCtrRemoved}

var (
	// stopTallies: tried = stops, bad = processes of vmdump's found in the
	// VM after the limit (orphans).
	stopTallies = func() map[string]*tally {
		m := map[string]*tally{}
		for _, k := range stopKindOrder {
			m[k] = &tally{}
		}
		return m
	}()
	// ctrStopTallies: as stopTallies, for captures of a container.
	ctrStopTallies = func() map[string]*tally {
		m := map[string]*tally{}
		for _, k := range ctrStopKindOrder {
			m[k] = &tally{}
		}
		return m
	}()
	// hostileTally: tried = hostile inputs, bad = inputs that ran a
	// command (the marker file appeared).
	hostileTally tally
	// faultTally: tried = fault cases (link loss, host keys, garbage,
	// broken local state, secrets, remote failures), bad = cases that
	// failed.
	faultTally tally
)

// stopTally is the row of a stop kind; an unknown kind is a bug in a test.
func stopTally(kind string) *tally {
	t, ok := stopTallies[kind]
	if !ok {
		panic("unknown stop kind " + kind)
	}
	return t
}

// ctrStopTally is the row of a container stop kind.
func ctrStopTally(kind string) *tally {
	t, ok := ctrStopTallies[kind]
	if !ok {
		panic("unknown container stop kind " + kind)
	}
	return t
}

// faultCase counts t as one fault case, passed unless t fails; a case
// skipped (no lab on this machine) was not tried after all. Call it at the
// start of the (sub)test that is the case.
func faultCase(t *testing.T) {
	t.Helper()
	faultTally.tried.Add(1)
	t.Cleanup(func() {
		switch {
		case t.Failed():
			faultTally.bad.Add(1)
		case t.Skipped():
			faultTally.tried.Add(-1)
		}
	})
}

// reliabilityTable renders the summary; "" when the suite did not run
// (e.g. go test -run selected other tests).
func reliabilityTable() string {
	var stops, orphans int64
	for _, k := range stopKindOrder {
		stops += stopTallies[k].tried.Load()
		orphans += stopTallies[k].bad.Load()
	}
	for _, k := range ctrStopKindOrder {
		stops += ctrStopTallies[k].tried.Load()
		orphans += ctrStopTallies[k].bad.Load()
	}
	hostile, executed := hostileTally.tried.Load(), hostileTally.bad.Load()
	faults, failed := faultTally.tried.Load(), faultTally.bad.Load()
	if stops+hostile+faults == 0 {
		return ""
	}
	var b strings.Builder
	row := func(what string, tried int64, result string) {
		fmt.Fprintf(&b, "| %-58s | %5d | %-18s |\n", what, tried, result)
	}
	line := "|" + strings.Repeat("-", 60) + "|" + strings.Repeat("-", 7) + "|" + strings.Repeat("-", 20) + "|\n"
	b.WriteString("vmdump reliability summary (issue 5)\n\n")
	fmt.Fprintf(&b, "| %-58s | %5s | %-18s |\n", "what", "tried", "result")
	b.WriteString(line)
	for _, k := range stopKindOrder {
		t := stopTallies[k]
		if t.tried.Load() > 0 {
			row("stop: "+k, t.tried.Load(), fmt.Sprintf("%d orphans found", t.bad.Load()))
		}
	}
	for _, k := range ctrStopKindOrder {
		t := ctrStopTallies[k]
		if t.tried.Load() > 0 {
			row("stop (container): "+k, t.tried.Load(), fmt.Sprintf("%d orphans found", t.bad.Load()))
		}
	}
	row("stops, total", stops, fmt.Sprintf("%d orphans found", orphans))
	row("hostile inputs", hostile, fmt.Sprintf("%d executed", executed))
	row("fault cases", faults, fmt.Sprintf("%d passed", faults-failed))
	return b.String()
}

// printReliabilitySummary is called by TestMain after m.Run.
func printReliabilitySummary(w io.Writer) {
	table := reliabilityTable()
	if table == "" {
		return
	}
	fmt.Fprint(w, "\n"+table)
	if path := os.Getenv("VMDUMP_RELIABILITY_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "writing the reliability table:", err)
		}
	}
}
