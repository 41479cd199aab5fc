package remotecap

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
	"github.com/vmdump/vmdump/internal/vmtest"
)

// The lab VM without tcpdump (lab.Options.HideTcpdump), as a minikube ISO:
// the capture agent is uploaded, captures, and leaves nothing.

// agentLeftovers lists the agent processes in the lab VM and whether dir
// still exists.
func agentLeftovers(l *lab.Lab, dir string) []string {
	var left []string
	for _, p := range l.ProcessesInVM() {
		if strings.Contains(p.Cmdline, agentFile) {
			left = append(left, p.Cmdline)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		left = append(left, "directory "+dir)
	}
	return left
}

func waitNoAgentLeft(t *testing.T, l *lab.Lab, dir string) {
	t.Helper()
	vmtest.WaitNone(t, 20*time.Second, "left in the VM", func() []string { return agentLeftovers(l, dir) })
}

// TestAgentCaptureLabVeths: with ToolAuto on a VM without tcpdump, one
// upload serves both container veths; the kernel filter (payload-only and
// vmdump's own session, compiled here) passes exactly the conversation's
// data segments; Stop leaves no agent process and no directory.
func TestAgentCaptureLabVeths(t *testing.T) {
	vmtest.NeedTcpdump(t) // compiles the filter here
	l, c, p := labVM(t, lab.Options{HideTcpdump: true})
	if p.Tcpdump != "" || p.Arch == "" {
		t.Fatalf("probe: tcpdump %q arch %q; the lab should hide tcpdump", p.Tcpdump, p.Arch)
	}
	var dir string
	captureLabVeths(t, l, c, p, func(stderr []string) {
		dirs := []string{agentDirOf(stderr[0]), agentDirOf(stderr[1])}
		if dirs[0] == "" || dirs[0] != dirs[1] {
			t.Fatalf("agent directories %q: want one upload for both interfaces", dirs)
		}
		if fi, err := os.Stat(dirs[0]); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("agent directory: %v %v", fi, err)
		}
		dir = dirs[0]
	})
	waitNoAgentLeft(t, l, dir)
}

// TestAgentCaptureExplicitWithTcpdumpPresent: ToolAgent uses the agent
// even where tcpdump is installed; ToolTcpdump there runs tcpdump.
func TestAgentCaptureExplicitWithTcpdumpPresent(t *testing.T) {
	vmtest.NeedTcpdump(t)
	l, c, p := labVM(t, lab.Options{})
	if p.Tcpdump == "" {
		t.Fatal("the lab VM has no tcpdump")
	}
	r, pu := startListening(context.Background(), t, c, CaptureSpec{Interface: l.ContainerVeth(1), Filter: BuildFilter("", true, p), Tool: ToolAgent}, p)
	dir := agentDirOf(r.stderr.String())
	if dir == "" {
		t.Fatalf("not the agent: %s", r.stderr.String())
	}
	l.Send(t, 3, 10*time.Millisecond)
	vmtest.WaitFor(t, "the data segments", func() bool { return len(vmtest.DecodePcap(t, pu.buf.String(), false)) >= 6 })
	r.Stop()
	pu.waitEOF(t)
	if err := r.Wait(); err != nil {
		t.Error(err)
	}
	waitNoAgentLeft(t, l, dir)

	r, _ = startListening(context.Background(), t, c, CaptureSpec{Interface: l.ContainerVeth(1), Tool: ToolTcpdump}, p)
	if !strings.Contains(r.stderr.String(), "tcpdump: listening on") {
		t.Errorf("not tcpdump: %s", r.stderr.String())
	}
	if agentDirOf(r.stderr.String()) != "" {
		t.Error("ToolTcpdump ran the agent")
	}
	r.Stop()
	r.Wait()
}

// TestAgentCaptureEndsWhenClientVanishes: the connection ends with no Stop
// (vmdump killed): the wrapper sees stdin EOF, ends the agent and removes
// its directory by itself (vmdump can no longer reach the VM).
func TestAgentCaptureEndsWhenClientVanishes(t *testing.T) {
	vmtest.NeedTcpdump(t)
	l, c, p := labVM(t, lab.Options{HideTcpdump: true})
	// Filters out everything at the moment: the agent never writes, so
	// only the wrapper can end it.
	r, _ := startListening(context.Background(), t, c, CaptureSpec{Interface: l.ContainerVeth(1), Filter: "udp port 9"}, p)
	dir := agentDirOf(r.stderr.String())
	if dir == "" || len(agentLeftovers(l, dir)) < 2 {
		t.Fatalf("agent not running from %q: %q", dir, agentLeftovers(l, dir))
	}
	c.Client.Close() // the TCP connection ends, as when vmdump is killed
	waitNoAgentLeft(t, l, dir)
}

// A VM of an architecture without an agent build: one line that says to
// install tcpdump, and nothing uploaded.
func TestAgentCaptureUnknownArch(t *testing.T) {
	l, c, p := labVM(t, lab.Options{HideTcpdump: true})
	p.Arch = "riscv64"
	_, err := Start(context.Background(), c, CaptureSpec{Interface: l.ContainerVeth(1)}, p)
	if err == nil || !strings.Contains(err.Error(), "riscv64") || !strings.Contains(err.Error(), "install tcpdump") {
		t.Errorf("riscv64: %v", err)
	}
}
