package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// The capture agent end to end: a VM without tcpdump (the lab hides it),
// tshark capturing through vmdump, which uploads its agent over the SSH
// session, captures the containers' traffic with it, and leaves nothing in
// the VM.

// agentRunning returns the agent's directory once an agent process in the
// VM has opened its capture socket ("" before).
func (u *user) agentRunning() string {
	for _, p := range u.lab.ProcessesInVM() {
		argv := strings.Fields(p.Cmdline)
		if len(argv) == 0 || filepath.Base(argv[0]) != "vmdump-agent" {
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid))
		for _, fd := range fds {
			if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.Pid, fd.Name())); err == nil && strings.HasPrefix(link, "socket:") {
				return filepath.Dir(argv[0])
			}
		}
	}
	return ""
}

// waitAgent waits for the agent to capture and returns its directory.
func (u *user) waitAgent(ts *tshark) string {
	u.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if dir := u.agentRunning(); dir != "" {
			time.Sleep(300 * time.Millisecond) // it reads right after opening its socket
			return dir
		}
		select {
		case <-ts.done:
			u.t.Fatalf("tshark ended before the agent ran; stderr:\n%s", ts.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	u.t.Fatalf("no capture agent ran in the VM within 30s; tshark stderr:\n%s", ts.stderr.String())
	return ""
}

// assertAgentGone fails unless, within a few seconds, no process of the
// agent or its wrapper runs in the VM and its directory is gone.
func (u *user) assertAgentGone(dir string) {
	u.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		for _, p := range u.lab.ProcessesInVM() {
			if strings.Contains(p.Cmdline, "vmdump-agent") {
				left = append(left, fmt.Sprintf("%d %s", p.Pid, p.Cmdline))
			}
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			left = append(left, "directory "+dir)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("left in the VM after the capture:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgentCaptureTshark: --capture-tool auto (the VM has no tcpdump) and
// agent: the pcapng holds exactly the data segments the containers
// exchanged (the payload filter, on by default, works through the agent's
// kernel filter); after the stop the agent and its file are gone.
func TestAgentCaptureTshark(t *testing.T) {
	l := lab.Start(t, lab.Options{HideTcpdump: true})
	u := newUser(t, l)
	const messages = 10
	for _, tool := range []string{"auto", "agent"} {
		t.Run(tool, func(t *testing.T) {
			ts := u.startTshark("-a", "duration:8", "-o", "extcap."+u.vmID+".capturetool:"+tool)
			dir := u.waitAgent(ts)
			if !strings.HasPrefix(filepath.Base(dir), "vmdump-agent.") {
				t.Errorf("agent runs from %s", dir)
			}
			l.Send(t, messages, 20*time.Millisecond)
			ts.wait(t, 40*time.Second)
			u.assertAgentGone(dir)
			u.assertNoOrphans()

			data := count(t, ts.out, "tcp.len > 0")
			all := count(t, ts.out, "")
			if data != 2*messages || all != data {
				t.Fatalf("%d packets, %d data segments; want the %d messages and echoes only; stderr: %s", all, data, 2*messages, ts.stderr.String())
			}
			between := count(t, ts.out, fmt.Sprintf("ip.addr == %s && ip.addr == %s", l.ContainerAddr(1), l.ContainerAddr(2)))
			if between != all {
				t.Errorf("%d of %d packets between the containers", between, all)
			}
		})
	}
}

// TestAgentCaptureToolTcpdumpRefuses: --capture-tool tcpdump on a VM
// without it fails with the one-line "not installed" error, uploads nothing.
func TestAgentCaptureToolTcpdumpRefuses(t *testing.T) {
	l := lab.Start(t, lab.Options{HideTcpdump: true})
	u := newUser(t, l)
	ts := u.startTshark("-a", "duration:5", "-o", "extcap."+u.vmID+".capturetool:tcpdump")
	ts.wait(t, 40*time.Second)
	if !strings.Contains(ts.stderr.String(), "tcpdump is not installed") {
		t.Errorf("tshark stderr: %s", ts.stderr.String())
	}
	if dir := u.agentRunning(); dir != "" {
		t.Errorf("the agent ran from %s", dir)
	}
}

// TestAgentVmdumpKilled: vmdump killed with SIGKILL mid-capture runs no
// code; the VM side alone (stdin EOF at the wrapper) ends the agent and
// removes its file, with a filter that matches nothing so the agent never
// meets a broken pipe.
func TestAgentVmdumpKilled(t *testing.T) {
	l := lab.Start(t, lab.Options{HideTcpdump: true})
	u := newUser(t, l)
	ts := u.startTshark("-f", quietFilter)
	dir := u.waitAgent(ts)
	pid := ts.capturePid(t)
	signalPid(pid, syscall.SIGKILL)
	u.assertAgentGone(dir)
	u.assertNoOrphans()
	ts.signal(syscall.SIGINT)
	ts.wait(t, 30*time.Second)
}
