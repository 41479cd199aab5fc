package remotecap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/internal/vmtest/sshtest"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// capture integration tests: a real sshd on 127.0.0.1 stands in for the VM
// and the real tcpdump captures on lo.

func probeOK(t *testing.T, c *sshconn.Conn) probe.Probe {
	t.Helper()
	p, err := probe.Run(context.Background(), c)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	return p
}

// sshdVM is the rig of these tests: tcpdump here, a test sshd on loopback
// as the VM "vm", a connection to it and the probe over that connection.
func sshdVM(t *testing.T) (*vmtest.SSHD, *sshconn.Conn, probe.Probe) {
	t.Helper()
	vmtest.NeedTcpdump(t)
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	c := sshtest.Conn(t, s)
	return s, c, probeOK(t, c)
}

// proxiedSSHDVM is sshdVM with the connection through a proxy that can
// freeze or cut the link; tune, if set, adjusts the dial options.
func proxiedSSHDVM(t *testing.T, tune func(*sshconn.DialOptions)) (*vmtest.Proxy, *sshconn.Conn, probe.Probe) {
	t.Helper()
	vmtest.NeedTcpdump(t)
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	px := vmtest.StartProxy(t, s.Addr())
	c := sshtest.ProxiedConn(t, s, px, tune)
	return px, c, probeOK(t, c)
}

// startListening starts spec over c and waits until the capture listens
// (see waitListening).
func startListening(ctx context.Context, t *testing.T, c *sshconn.Conn, spec CaptureSpec, p probe.Probe) (*RemoteCapture, *pump) {
	t.Helper()
	r, err := Start(ctx, c, spec, p)
	if err != nil {
		t.Fatal(err)
	}
	out := startPump(r.Stdout())
	waitListening(t, r)
	return r, out
}

// startAllListening starts specs over c at once (StartAll) and waits until
// each capture listens.
func startAllListening(t *testing.T, c *sshconn.Conn, specs []CaptureSpec, p probe.Probe) ([]*RemoteCapture, []*pump) {
	t.Helper()
	caps, err := StartAll(context.Background(), c, specs, p)
	if err != nil {
		t.Fatal(err)
	}
	pumps := make([]*pump, len(caps))
	for i, r := range caps {
		pumps[i] = startPump(r.Stdout())
	}
	for _, r := range caps {
		waitListening(t, r)
	}
	return caps, pumps
}

// stopAll stops every capture, then checks each: its stream reaches EOF,
// Wait reports no error and its statistics count at least minReceived.
func stopAll(t *testing.T, caps []*RemoteCapture, pumps []*pump, minReceived uint64) {
	t.Helper()
	for _, r := range caps {
		_ = r.Stop()
	}
	for i, r := range caps {
		pumps[i].waitEOF(t)
		if err := r.Wait(); err != nil {
			t.Errorf("%s: Wait: %v", r.spec.Interface, err)
		}
		if st := r.Stats(); !st.Valid || st.Received < minReceived {
			t.Errorf("%s: stats %+v; stderr %s", r.spec.Interface, st, r.stderr.String())
		}
	}
}

// waitListening waits until r's tcpdump or agent said "listening on": it
// has set up its signal handlers and opened the interface.
func waitListening(t *testing.T, r *RemoteCapture) {
	t.Helper()
	vmtest.WaitFor(t, r.spec.Interface+"'s capture to listen", func() bool { return strings.Contains(r.stderr.String(), "listening on") })
}

// pump reads a capture's stdout in the background.
type pump struct {
	buf  vmtest.SyncBuffer
	done chan error
}

func startPump(r io.Reader) *pump {
	p := &pump{done: make(chan error, 1)}
	go func() {
		_, err := io.Copy(&p.buf, r)
		p.done <- err
	}()
	return p
}

func (p *pump) waitEOF(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		if err != nil {
			t.Logf("stdout ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("stdout did not reach EOF")
	}
}

// waitWrapperPID waits until the remote wrapper has reported its pid.
func waitWrapperPID(t *testing.T, r *RemoteCapture) int {
	t.Helper()
	var pid int
	vmtest.WaitFor(t, "the wrapper's pid", func() bool { pid = r.wrapperPID(); return pid != 0 })
	return pid
}

// processesWith lists live processes whose command line contains marker.
func processesWith(marker string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(marker)) {
			stat, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && bytes.HasPrefix(bytes.TrimSpace(stat[i+1:]), []byte("Z")) {
				continue
			}
			out = append(out, d.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

// uniqueQuietFilter matches nothing and carries a marker that finds every
// process of this capture in /proc.
func uniqueQuietFilter(t *testing.T) (filter, marker string) {
	marker = fmt.Sprintf("192.0.2.%d", 1+time.Now().UnixNano()%250)
	port := 20000 + time.Now().UnixNano()%20000
	return fmt.Sprintf("udp port %d and host %s", port, marker), fmt.Sprintf("udp port %d", port)
}

func waitNoneWith(t *testing.T, marker string) {
	t.Helper()
	vmtest.WaitNone(t, 15*time.Second, "left running", func() []string { return processesWith(marker) })
}

func TestProbeOverSSH(t *testing.T) {
	s, _, p := sshdVM(t)
	if p.ClientAddr != "127.0.0.1" || p.ServerAddr != "127.0.0.1" || p.ServerPort != strconv.Itoa(s.Port) || p.ClientPort == "" {
		t.Errorf("SSH_CONNECTION fields %+v", p)
	}
	if p.UID != 0 || p.Tcpdump == "" || !p.ImmediateMode || !slices.Contains(p.Interfaces, "lo") || p.Kernel == "" {
		t.Errorf("probe %+v", p)
	}
	if p.Label != "VM vm" {
		t.Errorf("label %q", p.Label)
	}
	// The own-session filter names exactly this connection.
	if f := OwnSessionFilter(p); !strings.Contains(f, "tcp src port "+p.ClientPort) || !strings.Contains(f, "tcp dst port "+strconv.Itoa(s.Port)) {
		t.Errorf("own filter %q", f)
	}
}

func TestStartCaptureStreamsPacketsAndStops(t *testing.T) {
	_, c, p := sshdVM(t)

	rx, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	port := rx.LocalAddr().(*net.UDPAddr).Port
	spec := CaptureSpec{Interface: "lo", Filter: BuildFilter(fmt.Sprintf("udp port %d", port), false, p), Heartbeat: 200 * time.Millisecond}
	r, err := Start(context.Background(), c, spec, p)
	if err != nil {
		t.Fatal(err)
	}
	out := startPump(r.Stdout())
	wrapper := waitWrapperPID(t, r)

	payload := []byte("vmdump-test-payload-" + strconv.Itoa(port))
	tx, err := net.Dial("udp", rx.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	vmtest.WaitFor(t, "the packet in the pcap stream", func() bool {
		_, _ = tx.Write(payload)
		return bytes.Contains([]byte(out.buf.String()), payload)
	})
	head := out.buf.String()
	if !strings.HasPrefix(head, "\xd4\xc3\xb2\xa1") && !strings.HasPrefix(head, "\xa1\xb2\xc3\xd4") && !strings.HasPrefix(head, "\x4d\x3c\xb2\xa1") {
		t.Errorf("stream does not start with a pcap header: % x", head[:min(len(head), 8)])
	}

	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	_ = r.Stop() // idempotent
	out.waitEOF(t)
	if err := r.Wait(); err != nil {
		t.Errorf("Wait after Stop: %v", err)
	}
	if st := r.Stats(); !st.Valid || st.Received == 0 {
		t.Errorf("stats %+v; stderr %s", st, r.stderr)
	}
	waitSessionEmpty(t, wrapper)
	// The connection is still usable for another session.
	if _, err := probe.Run(context.Background(), c); err != nil {
		t.Errorf("probe after capture: %v", err)
	}
}

func TestStartCaptureStopLeavesNothing(t *testing.T) {
	_, c, p := sshdVM(t)
	for _, priv := range []Priv{PrivNone, PrivSudo} {
		t.Run(string(priv), func(t *testing.T) {
			filter, marker := uniqueQuietFilter(t)
			r, out := startListening(context.Background(), t, c, CaptureSpec{Interface: "lo", Filter: filter, Priv: priv}, p)
			if len(processesWith(marker)) == 0 {
				t.Fatal("the marker finds no process: the leak check would prove nothing")
			}
			wrapper := r.wrapperPID()
			_ = r.Stop()
			out.waitEOF(t)
			if err := r.Wait(); err != nil {
				t.Errorf("Wait: %v", err)
			}
			waitNoneWith(t, marker)
			if priv == PrivNone {
				waitSessionEmpty(t, wrapper)
			}
		})
	}
}

func TestStartCaptureStopsOnContextCancel(t *testing.T) {
	_, c, p := sshdVM(t)
	filter, marker := uniqueQuietFilter(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, out := startListening(ctx, t, c, CaptureSpec{Interface: "lo", Filter: filter}, p)
	cancel()
	out.waitEOF(t)
	if err := r.Wait(); err != nil {
		t.Errorf("Wait: %v", err)
	}
	waitNoneWith(t, marker)
}

// TestCaptureEndsWhenClientVanishes: vmdump is SIGKILLed or its host drops
// off; the TCP connection closes and the VM side must clean up by itself.
func TestCaptureEndsWhenClientVanishes(t *testing.T) {
	px, c, p := proxiedSSHDVM(t, nil)
	filter, marker := uniqueQuietFilter(t)
	startListening(context.Background(), t, c, CaptureSpec{Interface: "lo", Filter: filter}, p)
	px.Cut() // no Stop, no channel close: the connection just ends
	waitNoneWith(t, marker)
}

// TestCaptureWatchdogEndsCaptureOnFrozenLink: the link goes down without
// any FIN; sshd never notices. The VM-side watchdog must end tcpdump once
// heartbeats stop (10-20 s with the shortest period).
func TestCaptureWatchdogEndsCaptureOnFrozenLink(t *testing.T) {
	if testing.Short() {
		t.Skip("takes up to 20 s")
	}
	px, c, p := proxiedSSHDVM(t, func(opt *sshconn.DialOptions) {
		opt.Keepalive = time.Hour // the client must not notice and close first
	})
	filter, marker := uniqueQuietFilter(t)
	startListening(context.Background(), t, c, CaptureSpec{Interface: "lo", Filter: filter, Heartbeat: time.Second}, p)
	px.Freeze()
	vmtest.WaitNone(t, 30*time.Second, "remote capture still running 30 s after the link froze", func() []string { return processesWith(marker) })
}

func TestStartCaptureClassifiesRemoteFailures(t *testing.T) {
	_, c, p := sshdVM(t)
	for _, tc := range []struct {
		name string
		spec CaptureSpec
		p    probe.Probe
		want string
	}{
		{"no such interface", CaptureSpec{Interface: "vmdumpnone0"}, p, `VM vm has no interface "vmdumpnone0"; it has: `},
		{"bad filter", CaptureSpec{Interface: "lo", Filter: "tcp port"}, p, "the capture filter does not compile on VM vm: can't parse filter expression: syntax error"},
		{"no tcpdump", CaptureSpec{Interface: "lo"}, func() probe.Probe { q := p; q.Tcpdump = "/nonexistent/tcpdump"; return q }(), "tcpdump is not installed on VM vm: install it there with: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Start(context.Background(), c, tc.spec, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			out := startPump(r.Stdout())
			out.waitEOF(t)
			// As vmdump does: Stop after the stream ended, then Wait.
			// The capture ended by itself, so the failure is reported.
			_ = r.Stop()
			err = r.Wait()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Wait = %v, want %q", err, tc.want)
			}
			if strings.Contains(fmt.Sprint(err), "\n") {
				t.Errorf("not one line: %q", err)
			}
			if out.buf.String() != "" {
				t.Errorf("stdout %q", out.buf.String())
			}
		})
	}
}

// TestStartCaptureHostileFiltersOverSSH sends filters built to run
// `touch MARKER` through the real login shell, sh and tcpdump: the marker
// must never appear; tcpdump just rejects (or, if valid, runs) the filter.
func TestStartCaptureHostileFiltersOverSSH(t *testing.T) {
	_, c, p := sshdVM(t)
	marker := filepath.Join(t.TempDir(), "MARKER")
	for _, filter := range hostileFilters(marker) {
		r, err := Start(context.Background(), c, CaptureSpec{Interface: "lo", Filter: filter}, p)
		if err != nil {
			t.Fatal(err)
		}
		out := startPump(r.Stdout())
		select {
		case <-out.done:
		case <-time.After(3 * time.Second): // compiled and is capturing
			_ = r.Stop()
			out.waitEOF(t)
		}
		err = r.Wait()
		if err != nil && !strings.Contains(err.Error(), "capture filter does not compile") {
			t.Errorf("filter %q: %v", filter, err)
		}
		if _, serr := os.Stat(marker); serr == nil {
			t.Fatalf("filter %q ran a command on the VM", filter)
		}
	}
}

// TestCaptureEndedOnTheVMIsReported: tcpdump ends on the VM (here: someone
// kills it) while vmdump is still reading. Stop then Wait, as vmdump does,
// must still say so rather than treat it as a clean stop.
func TestCaptureEndedOnTheVMIsReported(t *testing.T) {
	_, c, p := sshdVM(t)
	filter, marker := uniqueQuietFilter(t)
	r, out := startListening(context.Background(), t, c, CaptureSpec{Interface: "lo", Filter: filter}, p)
	killed := false
	for _, proc := range processesWith(marker) {
		pid, cmd, _ := strings.Cut(proc, " ")
		if strings.Contains(cmd, "tcpdump -U") && !strings.HasPrefix(cmd, "sh ") && !strings.HasPrefix(cmd, "bash ") {
			n, _ := strconv.Atoi(pid)
			if proc, err := os.FindProcess(n); err == nil && proc.Signal(syscall.SIGTERM) == nil {
				killed = true
			}
		}
	}
	if !killed {
		t.Fatalf("remote tcpdump not found among %q", processesWith(marker))
	}
	out.waitEOF(t)
	_ = r.Stop()
	err := r.Wait()
	if err == nil || !strings.Contains(err.Error(), "ended by itself") {
		t.Errorf("Wait = %v, want \"ended by itself\"", err)
	}
	if st := r.Stats(); !st.Valid {
		t.Errorf("no stats after tcpdump's clean exit: %s", r.stderr)
	}
}
