package e2e

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestReliabilityLinkLoss (issue 5, guarantees 1 and 2): the VM stops
// answering mid-capture (its link set down: no RST, no ICMP, silence).
// vmdump notices within 20 s through SSH keepalives and says so in one
// line; the file written so far is valid and holds every packet captured
// before the loss; and the VM, whose sshd never learns that the client is
// gone, ends tcpdump by itself within 30 s because vmdump's heartbeats
// stopped. vmdump is run directly so that the moment of its message is
// measured without tshark in between.
func TestReliabilityLinkLoss(t *testing.T) {
	t.Parallel()
	faultCase(t)
	l := lab.Start(t, lab.Options{})
	u := newPlainUser(t, l, configTOML("", labVM(l, "lab")))
	u.vmID = u.idOf("config", "lab")
	d := u.startDirect(t)
	u.waitDirectCapture(t, d)
	l.Send(t, 5, 20*time.Millisecond)
	time.Sleep(time.Second) // let the last echo reach the file

	since := time.Now()
	if err := l.SetLinkDown(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.SetLinkUp() })

	d.wait(t, 60*time.Second)
	noticed := d.stderr.firstWrite().Sub(since)
	t.Logf("vmdump reported the link loss %v after the link went down", noticed.Round(time.Millisecond))
	if noticed > noticeLimit {
		t.Errorf("vmdump reported the link loss %v after it happened, want within %v", noticed, noticeLimit)
	}
	checkOneLineError(t, d.stderr.String(), "lost the connection to VM lab", "captured so far are saved")
	if code := d.exitCode(); code == 0 {
		t.Errorf("vmdump exited 0 after losing the link")
	}

	// The VM side: nothing tells sshd, only the missing heartbeats.
	checkStop(t, l, stopLinkDown, since, watchdogLimit)

	if got := count(t, d.out, "tcp.len > 0"); got != 10 {
		t.Errorf("the file holds %d data segments, want the 10 captured before the loss", got)
	}
}

// toolbarLine is a "capturing …" toolbar line in vmdump's log.
var toolbarLine = regexp.MustCompile(`(?m)msg=toolbar .*line="capturing `)

// TestReliabilityReconnect (issue 5, guarantee 2, the option): with
// reconnect on, link down then up mid-capture: the capture goes on in the
// same pcapng, the packets after the gap on a second interface whose
// description says "reconnected after link loss"; meanwhile the VM ended
// the orphaned tcpdump by itself (30 s), and Wireshark is told nothing
// (no stderr).
func TestReliabilityReconnect(t *testing.T) {
	t.Parallel()
	faultCase(t)
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l)
	logFile := t.TempDir() + "/vmdump.log"
	ts := u.startTshark("-o", "extcap."+u.vmID+".reconnect:on",
		"-o", "extcap."+u.vmID+".loglevel:info", "-o", "extcap."+u.vmID+".logfile:"+logFile)
	u.waitRemoteCapture(ts)
	l.Send(t, 3, 20*time.Millisecond)
	time.Sleep(time.Second)

	since := time.Now()
	if err := l.SetLinkDown(); err != nil {
		t.Fatal(err)
	}
	linkUp := false
	t.Cleanup(func() {
		if !linkUp {
			l.SetLinkUp()
		}
	})
	lost := awaitLogLine(t, logFile, "link lost; reconnecting", 60*time.Second)
	t.Logf("vmdump noticed the link loss %v after it happened", lost.Sub(since).Round(time.Millisecond))
	if lost.Sub(since) > noticeLimit {
		t.Errorf("vmdump noticed the link loss %v after it happened, want within %v", lost.Sub(since), noticeLimit)
	}
	checkStop(t, l, stopLinkDown, since, watchdogLimit)

	if err := l.SetLinkUp(); err != nil {
		t.Fatal(err)
	}
	linkUp = true
	deadline := time.Now().Add(90 * time.Second)
	for len(tcpdumpsInVM(l)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no new tcpdump 90s after the link came back; tshark stderr:\n%s", ts.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	l.Send(t, 4, 20*time.Millisecond)
	time.Sleep(time.Second)
	stop := time.Now()
	ts.signal(syscall.SIGINT)
	ts.wait(t, 60*time.Second)
	if _, orphans := awaitVMClean(l, stop, stopLimit); len(orphans) > 0 {
		t.Errorf("left in the VM after the stop: %v", orphans)
	}
	checkStoppedQuietly(t, ts)
	// tshark has no toolbar: what vmdump would say there is in its log,
	// once for each of the two sessions.
	if n := len(toolbarLine.FindAllString(string(readOrNil(logFile)), -1)); n != 2 {
		t.Errorf("the log has %d toolbar lines \"capturing …\", want 2 (one per session):\n%s", n, shorten(string(readOrNil(logFile)), 3000))
	}

	out := read(t, ts.out, "-Y", "tcp.len > 0", "-T", "fields", "-E", "separator=|", "-e", "frame.interface_id", "-e", "frame.interface_description")
	perIface := map[string]int{}
	desc := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		id, d, _ := strings.Cut(line, "|")
		perIface[id]++
		desc[id] = d
	}
	if perIface["0"] != 6 || perIface["1"] != 8 || len(perIface) != 2 {
		t.Errorf("data segments per interface %v, want 6 before the gap (interface 0) and 8 after it (interface 1)", perIface)
	}
	if strings.Contains(desc["0"], "reconnected") || !strings.Contains(desc["1"], "reconnected after link loss") {
		t.Errorf("interface descriptions %q / %q: the second must note the reconnection", desc["0"], desc["1"])
	}
}

// awaitLogLine waits for a line holding text in vmdump's log file and
// returns the time slog stamped on it (so the harness's polling adds
// nothing to the measurement).
func awaitLogLine(t *testing.T, path, text string, limit time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if f, err := os.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				line := sc.Text()
				if !strings.Contains(line, text) {
					continue
				}
				f.Close()
				stamp, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
				at, err := time.Parse(time.RFC3339Nano, stamp)
				if err != nil {
					t.Fatalf("log line without a time: %s", line)
				}
				return at
			}
			f.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(path)
	t.Fatalf("no %q in vmdump's log within %v:\n%s", text, limit, log)
	return time.Time{}
}
