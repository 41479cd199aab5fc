//go:build linux

// Command fifolat measures one capture tool the way Wireshark sees it: it
// makes a FIFO, starts the tool with the FIFO's path (every "{fifo}" in its
// arguments is replaced), reads pcap or pcapng from the FIFO, and notes when
// each packet arrived. It then stops the tool (SIGTERM, by pid) and prints
// result lines for bench/run.sh, "metric<TAB>subject<TAB>value":
//
//	-mode first     <metric>_ms: tool start → first packet read (P2)
//	-mode latency   <metric>_p50_ms, <metric>_p99_ms, <metric>_packets:
//	                arrival − capture timestamp per packet, for -duration (P3)
//	-mode drain     <metric>_mbps, <metric>_packets, <metric>_seconds: read
//	                to EOF; pcap-equivalent bytes (16-byte record header +
//	                data) per second from the first packet to EOF (P4), and
//	                <metric>_cpu_ms_per_mb: the tool's own CPU time (user +
//	                system, whole run) per MB, which a busy machine skews
//	                less than wall time
//	-mode hold      <metric>_packets: read for -duration (P6's long capture)
//
// With -rss it also prints <metric>_rss_peak_mb (the tool's VmHWM from
// /proc/<pid>/status, and its rusage maximum after exit) and
// <metric>_rss_early_mb (VmHWM after a tenth of the run, at most 60 s): equal
// values mean memory stayed flat.
//
// Latency is only meaningful when the tool's timestamps come from the same
// clock, as in the lab (a network namespace on this machine).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	mode, metric, subject string
	duration, timeout     time.Duration
	expect                int64
	rss                   bool
	dir                   string
}

func main() {
	var c config
	flag.StringVar(&c.mode, "mode", "first", "first | latency | drain | hold")
	flag.StringVar(&c.metric, "metric", "", "metric name prefix, e.g. p2 (required)")
	flag.StringVar(&c.subject, "subject", "", "what is measured, e.g. vmdump (required)")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long latency and hold modes read")
	flag.DurationVar(&c.timeout, "timeout", 120*time.Second, "give up (fail) after this long")
	flag.Int64Var(&c.expect, "expect", 0, "drain: the number of packets that must arrive (0: any)")
	flag.BoolVar(&c.rss, "rss", false, "also report the tool's peak RSS")
	flag.StringVar(&c.dir, "dir", "", "directory for the FIFO (default: a new temp dir)")
	flag.Parse()
	if c.metric == "" || c.subject == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: fifolat -mode M -metric NAME -subject WHO [flags] -- command args... ({fifo} = the FIFO)")
		os.Exit(2)
	}
	res, err := measure(c, flag.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "fifolat %s %s: %s\n", c.metric, c.subject, err)
		os.Exit(1)
	}
	for _, r := range res {
		fmt.Printf("%s_%s\t%s\t%s\n", c.metric, r.name, c.subject, r.value)
	}
}

type result struct{ name, value string }

// run is one measurement's state, shared by the reader and the stopper.
type run struct {
	mu       sync.Mutex
	start    time.Time
	first    time.Time // arrival of the first packet
	last     time.Time // arrival of the last read
	packets  int64
	bytes    int64 // pcap-equivalent: 16 + caplen per packet
	lat      []time.Duration
	arrival  time.Time // time of the read being parsed
	firstHit chan struct{}
	keepLat  bool
}

// snapshot is what the results are computed from.
type snapshot struct {
	start, first, last time.Time
	packets, bytes     int64
	lat                []time.Duration
}

func (r *run) packet(ts time.Time, caplen int) {
	r.mu.Lock()
	if r.packets == 0 {
		r.first = r.arrival
		close(r.firstHit)
	}
	r.packets++
	r.bytes += int64(16 + caplen)
	if r.keepLat {
		r.lat = append(r.lat, r.arrival.Sub(ts))
	}
	r.mu.Unlock()
}

func measure(c config, argv []string) ([]result, error) {
	dir := c.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "fifolat")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fifo := filepath.Join(dir, "fifo")
	os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(fifo)
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = strings.ReplaceAll(a, "{fifo}", fifo)
	}

	cmd := exec.Command(args[0], args[1:]...)
	var stderr tail
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	r := &run{firstHit: make(chan struct{}), keepLat: c.mode == "latency"}
	r.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	var rs *rssSampler
	if c.rss {
		rs = startRSS(pid, c)
	}
	fail := func(err error) ([]result, error) {
		stopTool(cmd, exited)
		return nil, fmt.Errorf("%v; tool output: %s", err, stderr.String())
	}

	// Opening blocks until the tool opens its end; a tool that dies first
	// would leave us blocked, so we then open the write end ourselves.
	opened := make(chan *os.File, 1)
	openErr := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_RDONLY, 0)
		if err != nil {
			openErr <- err
			return
		}
		opened <- f
	}()
	var f *os.File
	select {
	case f = <-opened:
	case err := <-openErr:
		return fail(err)
	case <-exited:
		unblock(fifo, opened)
		return nil, fmt.Errorf("the tool exited before opening the FIFO (%v): %s", waitErr, stderr.String())
	case <-time.After(c.timeout):
		unblock(fifo, opened)
		return fail(errors.New("the tool did not open the FIFO in time"))
	}
	defer f.Close()

	readDone := make(chan error, 1)
	go func() { readDone <- r.read(f) }()

	deadline := time.After(c.timeout)
	switch c.mode {
	case "first":
		select {
		case <-r.firstHit:
		case err := <-readDone:
			return fail(fmt.Errorf("stream ended before any packet: %v", err))
		case <-deadline:
			return fail(errors.New("no packet within the timeout"))
		}
	case "latency", "hold":
		select {
		case <-time.After(time.Until(r.start.Add(c.duration))):
		case err := <-readDone:
			return fail(fmt.Errorf("stream ended early: %v", err))
		}
	case "drain":
		select {
		case err := <-readDone:
			if err != nil {
				return fail(err)
			}
		case <-deadline:
			return fail(errors.New("stream not finished within the timeout"))
		}
		// The stream is whole: the tool should now end by itself, and well.
		select {
		case <-exited:
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				return nil, fmt.Errorf("the tool exited with status %d after sending everything: %s", code, stderr.String())
			}
		case <-time.After(10 * time.Second):
		}
	default:
		return fail(fmt.Errorf("unknown mode %q", c.mode))
	}
	r.mu.Lock()
	snap := snapshot{start: r.start, first: r.first, last: r.last, packets: r.packets, bytes: r.bytes, lat: slices.Clone(r.lat)}
	r.mu.Unlock()

	var peakKB, earlyKB int64
	if rs != nil {
		earlyKB, peakKB = rs.stop()
	}
	stopTool(cmd, exited)
	if rs != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > peakKB {
			peakKB = ru.Maxrss
		}
	}

	var out []result
	add := func(name, format string, v ...any) { out = append(out, result{name, fmt.Sprintf(format, v...)}) }
	switch c.mode {
	case "first":
		add("ms", "%.3f", ms(snap.first.Sub(snap.start)))
	case "latency":
		if len(snap.lat) == 0 {
			return nil, errors.New("no packets")
		}
		slices.Sort(snap.lat)
		add("p50_ms", "%.3f", ms(quantile(snap.lat, 0.50)))
		add("p99_ms", "%.3f", ms(quantile(snap.lat, 0.99)))
		add("packets", "%d", len(snap.lat))
	case "drain":
		if c.expect > 0 && snap.packets != c.expect {
			return nil, fmt.Errorf("%d packets arrived, want %d", snap.packets, c.expect)
		}
		secs := snap.last.Sub(snap.first).Seconds()
		add("mbps", "%.1f", float64(snap.bytes)/secs/1e6)
		add("packets", "%d", snap.packets)
		add("seconds", "%.3f", snap.last.Sub(snap.start).Seconds())
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && snap.bytes > 0 {
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			add("cpu_ms_per_mb", "%.3f", ms(cpu)/(float64(snap.bytes)/1e6))
		}
	case "hold":
		add("packets", "%d", snap.packets)
	}
	if rs != nil {
		add("rss_peak_mb", "%.1f", float64(peakKB)/1024)
		add("rss_early_mb", "%.1f", float64(earlyKB)/1024)
	}
	return out, nil
}

// read parses the FIFO until EOF, noting each read's arrival time.
func (r *run) read(f *os.File) error {
	p := &parser{onPacket: r.packet}
	buf := make([]byte, 1<<20)
	for {
		n, err := f.Read(buf)
		now := time.Now()
		if n > 0 {
			r.mu.Lock()
			r.arrival, r.last = now, now
			r.mu.Unlock()
			if perr := p.feed(buf[:n]); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			if len(p.pending) > 0 {
				return fmt.Errorf("stream ended inside a packet (%d bytes left)", len(p.pending))
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// stopTool ends the tool: SIGTERM, then SIGKILL after 10 s (by its pid).
func stopTool(cmd *exec.Cmd, exited chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// unblock opens the FIFO's write end so that a pending read-open returns.
func unblock(fifo string, opened chan *os.File) {
	if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
	select {
	case f := <-opened:
		f.Close()
	case <-time.After(time.Second):
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile of sorted values, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// tail keeps the last 4 KiB written (the tool's output, for errors).
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(strings.Fields(string(t.b)), " ")
}
