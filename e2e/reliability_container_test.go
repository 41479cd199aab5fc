package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/ctrlab"
)

// Container stops (issue 14 joins issue 5's guarantee 1): a capture of a
// container, through its own interface, runs tcpdump under nsenter inside
// the container's network namespace, below the rig's sshd, and polls the
// engine while the container is away. However it is stopped, nothing of it
// (the wrapper shell, its reader and watchdog, their sleep, nsenter,
// tcpdump, sudo, a container query) runs stopLimit later, below the rig's
// sshd, in the root namespace or in the container's, and vmdump has exited.

// ctrStopRepeats is how often each way is tried on a container: fewer than
// the VM's stopRepeats, since the ways run one after another on one rig
// (one rig at a time: the engine's 24-container listing cap).
const ctrStopRepeats = 5

// ctrStopRun is one capture of the rig's bridge container about to be
// stopped.
type ctrStopRun struct {
	r       *ctrlab.Rig
	u       *user // capturing the container's interface
	c       *ctrlab.Container
	ts      *tshark        // nil when direct
	d       *directCapture // nil unless direct
	logFile string         // direct: vmdump's debug log
	pid     int            // vmdump --capture
	w       *rigWatch
}

// ctrStopWay is one way of stopping a container capture.
type ctrStopWay struct {
	name        string // the subtest's
	kind        string
	direct      bool
	args        []string
	stopsItself bool
	killed      bool
	// away, when set, makes the container go away under the capture
	// before the stop; back brings it back once the run is checked.
	away func(t *testing.T, r *ctrStopRun)
	back func(t *testing.T, r *ctrStopRun)
	stop func(t *testing.T, r *ctrStopRun)
	// check checks what the user is left with once vmdump has ended.
	check func(t *testing.T, r *ctrStopRun)
}

func ctrStopWays() []ctrStopWay {
	term := func(t *testing.T, r *ctrStopRun) { signalPid(r.pid, syscall.SIGTERM) }
	quietTshark := func(t *testing.T, r *ctrStopRun) { checkStoppedQuietly(t, r.ts) }
	quietDirect := func(t *testing.T, r *ctrStopRun) {
		checkNoPanic(t, r.d.stderr.String())
		if s := r.d.stderr.String(); s != "" {
			t.Errorf("vmdump wrote to stderr on a normal stop:\n%s", shorten(s, 2000))
		}
		if code := r.d.exitCode(); code != 0 {
			t.Errorf("vmdump exit status %d on a normal stop, want 0", code)
		}
	}
	return []ctrStopWay{
		{name: "SIGTERM", kind: stopSIGTERM, stop: term, check: quietTshark},
		{name: "SIGINT", kind: stopSIGINT, stop: func(t *testing.T, r *ctrStopRun) { r.ts.signal(syscall.SIGINT) }, check: quietTshark},
		{name: "SIGKILL", kind: stopSIGKILL, killed: true, stop: func(t *testing.T, r *ctrStopRun) { signalPid(r.pid, syscall.SIGKILL) },
			check: func(t *testing.T, r *ctrStopRun) { read(t, r.ts.out) }},
		{name: "reader-gone", kind: stopReader, direct: true, stop: func(t *testing.T, r *ctrStopRun) { r.d.reader.Process.Kill() }, check: quietDirect},
		{name: "duration", kind: stopDuration, args: []string{"-a", "duration:2"}, stopsItself: true, check: stoppedQuietlyOrEarlyCtr},
		{name: "sshd-killed", kind: stopSSHD, stop: func(t *testing.T, r *ctrStopRun) {
			killed := 0
			for _, p := range r.r.Host.Sessions() {
				if isSSHD(p) && signalPid(p.Pid, syscall.SIGKILL) == nil {
					killed++
				}
			}
			if killed == 0 {
				t.Fatalf("no sshd session to kill below the rig's sshd: %v", r.r.Host.Sessions())
			}
		}, check: func(t *testing.T, r *ctrStopRun) {
			checkTsharkOneLineError(t, r.ts, "VM rig")
			read(t, r.ts.out)
		}},
		// The container stops under the capture (docker stop): tcpdump's
		// namespace goes away, the capture stays open and asks the engine
		// every second; Wireshark's Stop comes while it waits.
		{name: "docker-stop", kind: stopCtrStopped, direct: true, stop: term, check: quietDirect,
			away: func(t *testing.T, r *ctrStopRun) {
				if err := r.r.Stop(r.c); err != nil {
					t.Fatal(err)
				}
				r.awaitWaiting(t)
			},
			back: func(t *testing.T, r *ctrStopRun) {
				if err := r.r.Restart(r.c); err != nil {
					t.Fatal(err)
				}
			}},
		// The container is removed under the capture (docker rm -f): the
		// engine no longer knows the name while vmdump waits for it.
		{name: "docker-rm", kind: stopCtrRemoved, direct: true, stop: term, check: quietDirect,
			away: func(t *testing.T, r *ctrStopRun) {
				if err := r.r.Remove(r.c); err != nil {
					t.Fatal(err)
				}
				r.awaitWaiting(t)
			},
			back: func(t *testing.T, r *ctrStopRun) {
				if err := r.r.Rerun(r.c); err != nil {
					t.Fatal(err)
				}
			}},
	}
}

// TestReliabilityContainerNoOrphans (issues 5 and 14): each way of stopping
// a capture of a container, repeated, leaves nothing running stopLimit
// after the stop. The ways run one after another on one rig.
func TestReliabilityContainerNoOrphans(t *testing.T) {
	r := startRig(t, ctrlab.Options{})
	u := rigUser(t, r)
	id, display := containerInterface(t, u, r.Bridge.Name)
	t.Logf("capturing %s (%s)", id, display)
	cu := u.on(id)
	for _, w := range ctrStopWays() {
		t.Run(w.name, func(t *testing.T) {
			failed := 0
			for i := range ctrStopRepeats {
				if !t.Run(fmt.Sprintf("run%02d", i), func(t *testing.T) { w.run(t, r, cu) }) {
					if failed++; failed == 2 {
						t.Fatalf("giving up after %d failed runs", failed)
					}
				}
			}
		})
	}
}

func (w ctrStopWay) run(t *testing.T, rig *ctrlab.Rig, u *user) {
	r := &ctrStopRun{r: rig, u: &user{t: t, home: u.home, env: u.env, vmID: u.vmID}, c: rig.Bridge}
	r.w = watchRig(rig)
	defer r.w.end()
	if w.direct {
		r.logFile = filepath.Join(t.TempDir(), "vmdump.log")
		r.d = r.u.startDirect(t, "--extcap-capture-filter", quietFilter, "--log-level", "debug", "--log-file", r.logFile)
		r.pid = r.d.cmd.Process.Pid
		awaitContainerTcpdump(t, rig, r.c, r.d.done, r.d.stderr.String)
	} else {
		r.ts = r.u.startTshark(slices.Concat(w.args, []string{"-f", quietFilter})...)
		if !w.stopsItself {
			awaitContainerTcpdump(t, rig, r.c, r.ts.done, r.ts.stderr.String)
		}
		r.pid = r.ts.capturePid(t)
	}
	if w.away != nil {
		w.away(t, r)
		if w.back != nil {
			defer func() {
				// The next run needs the container back, even after a
				// failure of this one.
				r.w.end() // it reads the container's pid
				if r.c.Pid == 0 || exited(r.c.Pid) {
					w.back(t, r)
				}
			}()
		}
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
	checkRigStop(t, r, w.kind, since, stopLimit)
	if w.direct {
		r.d.wait(t, 60*time.Second)
	} else {
		r.ts.wait(t, 60*time.Second)
	}
	w.check(t, r)
}

// awaitContainerTcpdump waits until vmdump's tcpdump captures inside c's
// network namespace, then gives it a moment to attach its filter.
func awaitContainerTcpdump(t *testing.T, r *ctrlab.Rig, c *ctrlab.Container, done chan struct{}, stderr func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if len(rigCaptures(r, c.Pid)) > 0 {
			time.Sleep(300 * time.Millisecond)
			return
		}
		select {
		case <-done:
			t.Fatalf("the capture ended before its tcpdump ran in %s; stderr:\n%s", c.Name, shorten(stderr(), 2000))
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no tcpdump started in %s's network namespace within 30s; sshd sessions: %v; stderr:\n%s",
		c.Name, r.Host.Sessions(), shorten(stderr(), 2000))
}

// awaitWaiting waits until the direct capture, its container gone, says in
// its log that it waits for the container, and no tcpdump of it is left.
func (r *ctrStopRun) awaitWaiting(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		log, _ := os.ReadFile(r.logFile)
		if strings.Contains(string(log), "container not running") {
			for _, p := range r.r.Host.Sessions() {
				if f := strings.Fields(p.Cmdline); len(f) > 0 && filepath.Base(f[0]) == "tcpdump" {
					t.Errorf("tcpdump %d still runs below sshd while vmdump waits for the container: %s", p.Pid, p.Cmdline)
				}
			}
			return
		}
		if !r.d.running() {
			t.Fatalf("vmdump ended when the container went away, want it to wait; stderr:\n%s", shorten(r.d.stderr.String(), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(r.logFile)
	t.Fatalf("vmdump does not say it waits for the container 30s after it went away; log:\n%s", shorten(string(log), 4000))
}

// awaitDumpcapGone waits for tshark's dumpcap to come and go (tshark's own
// duration), and returns when it was seen gone.
func (r *ctrStopRun) awaitDumpcapGone(t *testing.T) time.Time {
	dumpcap := 0
	for dumpcap == 0 && !exited(r.pid) {
		dumpcap = r.ts.dumpcapPid()
		time.Sleep(10 * time.Millisecond)
	}
	started := false
	for !exited(dumpcap) {
		if !started && len(rigCaptures(r.r, r.c.Pid)) > 0 {
			started = true
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !started {
		t.Logf("tshark's duration ended before tcpdump started (slow machine); the stop is checked all the same")
	}
	return time.Now()
}

// stoppedQuietlyOrEarlyCtr is stoppedQuietlyOrEarly for a container run.
func stoppedQuietlyOrEarlyCtr(t *testing.T, r *ctrStopRun) {
	t.Helper()
	stoppedQuietlyOrEarly(t, &stopRun{ts: r.ts})
}

// procKey tells a process from a later one that got its pid.
type procKey struct {
	pid   int
	start string // /proc/PID/stat field 22, the start time in ticks
}

func procKeyOf(pid int) (procKey, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procKey{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procKey{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return procKey{}, false
	}
	return procKey{pid, f[19]}, true
}

// rigWatch samples, every 10 ms while a capture runs, what runs below the
// rig's sshd and which network namespaces it entered: a process that left
// sshd's tree (re-parented to init) is still known, and a namespace the
// container left is still searched.
type rigWatch struct {
	mu     sync.Mutex
	seen   map[procKey]string // cmdline
	netns  map[string]bool
	rootNS string
	quit   chan struct{}
	done   chan struct{}
}

func watchRig(r *ctrlab.Rig) *rigWatch {
	w := &rigWatch{seen: map[procKey]string{}, netns: map[string]bool{}, rootNS: netnsOf(os.Getpid()),
		quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			w.sample(r)
			select {
			case <-w.quit:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *rigWatch) sample(r *ctrlab.Rig) {
	procs := r.Host.Sessions()
	var nss []string
	for _, c := range r.Containers() {
		if !c.HostNetwork() && c.Pid > 0 {
			nss = append(nss, netnsOf(c.Pid))
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range procs {
		if k, ok := procKeyOf(p.Pid); ok {
			if _, known := w.seen[k]; !known {
				w.seen[k] = p.Cmdline
			}
		}
		if ns := netnsOf(p.Pid); ns != "" && ns != w.rootNS {
			w.netns[ns] = true
		}
	}
	for _, ns := range nss {
		if ns != "" {
			w.netns[ns] = true
		}
	}
}

// end stops the sampling (once more first, so that the last look counts).
func (w *rigWatch) end() {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	<-w.done
}

// rigLeft is one process of the capture still running.
type rigLeft struct {
	pid  int
	desc string
}

// leftovers lists what of the capture still runs: a process seen below
// sshd (same pid and start time, not a zombie), anything below sshd now, and
// a tcpdump, nsenter, shell or sleep in a namespace the capture entered or
// of one of the rig's containers.
func (w *rigWatch) leftovers(r *ctrlab.Rig) []rigLeft {
	w.sample(r)
	w.mu.Lock()
	seen := make(map[procKey]string, len(w.seen))
	for k, v := range w.seen {
		seen[k] = v
	}
	netns := make(map[string]bool, len(w.netns))
	for k := range w.netns {
		netns[k] = true
	}
	w.mu.Unlock()
	found := map[int]bool{}
	var left []rigLeft
	add := func(pid int, why string) {
		if found[pid] || zombie(pid) {
			return
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			return
		}
		found[pid] = true
		left = append(left, rigLeft{pid, fmt.Sprintf("%d %s (%s)", pid, shorten(strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " "), 200), why)})
	}
	for k := range seen {
		if now, ok := procKeyOf(k.pid); ok && now == k {
			add(k.pid, "ran below sshd during the capture")
		}
	}
	for _, p := range r.Host.Sessions() {
		add(p.Pid, "below the rig's sshd")
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !netns[netnsOf(pid)] {
			continue
		}
		if captureLike(pid) && w.orphanOfCapture(r, pid, seen) {
			add(pid, "in a container's network namespace")
		}
	}
	sort.Slice(left, func(i, j int) bool { return left[i].pid < left[j].pid })
	return left
}

// captureLike: pid is what a capture runs (tcpdump, nsenter, a shell,
// sleep, sudo, timeout).
func captureLike(pid int) bool {
	_, _, comm, ok := procStat(pid)
	if !ok {
		return false
	}
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	s := string(cmd)
	return strings.Contains(s, "tcpdump") || strings.Contains(s, "nsenter") || strings.HasPrefix(s, "sh\x00") || strings.Contains(s, "/sh\x00") ||
		comm == "sleep" || comm == "sudo" || comm == "timeout"
}

// orphanOfCapture tells the capture's processes in a namespace from
// another's (a namespace's number is handed out again once it is freed,
// maybe to another test's container): pid is the capture's when an
// ancestor ran below the rig's sshd, or when it and every ancestor up to
// init are what a capture runs (an orphan re-parented to init).
func (w *rigWatch) orphanOfCapture(r *ctrlab.Rig, pid int, seen map[procKey]string) bool {
	sshd := r.Host.SSHDPid()
	ours := func(p int) bool {
		if p == sshd {
			return true
		}
		k, ok := procKeyOf(p)
		_, known := seen[k]
		return ok && known
	}
	for p, depth := pid, 0; depth < 64; depth++ {
		if ours(p) {
			return true
		}
		_, ppid, _, ok := procStat(p)
		if !ok {
			return false
		}
		if ppid <= 1 {
			return true // every process on the way is what a capture runs
		}
		if !ours(ppid) && !captureLike(ppid) {
			return false
		}
		p = ppid
	}
	return false
}

// checkRigStop counts one container stop of kind and fails t if anything
// of the capture still ran in a look that began later than limit after
// since (as awaitVMClean: the harness's own delays cannot fail it).
// Orphans are killed by pid, so the next run starts clean.
func checkRigStop(t *testing.T, r *ctrStopRun, kind string, since time.Time, limit time.Duration) {
	t.Helper()
	tl := ctrStopTally(kind)
	tl.tried.Add(1)
	for {
		look := time.Now()
		left := r.w.leftovers(r.r)
		if len(left) == 0 {
			r.w.mu.Lock()
			seen, tcpdumps := len(r.w.seen), 0
			for _, cmd := range r.w.seen {
				if f := strings.Fields(cmd); len(f) > 0 && filepath.Base(f[0]) == "tcpdump" {
					tcpdumps++
				}
			}
			r.w.mu.Unlock()
			t.Logf("%s: nothing left %v after the stop (%d processes of the capture seen, %d tcpdump)",
				kind, look.Sub(since).Round(time.Millisecond), seen, tcpdumps)
			return
		}
		if look.Sub(since) > limit {
			tl.bad.Add(int64(len(left)))
			var list []string
			for _, l := range left {
				list = append(list, l.desc)
				signalPid(l.pid, syscall.SIGKILL)
			}
			t.Errorf("%s: left running %v after the stop:\n%s", kind, limit, strings.Join(list, "\n"))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
