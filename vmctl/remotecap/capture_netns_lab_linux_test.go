package remotecap

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/vmdump/vmdump/internal/lab"
	"github.com/vmdump/vmdump/internal/vmtest"
)

// Captures inside the lab's container namespaces (see internal/lab) by the
// PID of a process there: a `sleep` the test starts in the container's
// namespace with `ip netns exec` and ends by its pid, as a container
// that stops.

// containerHolder is the test's process in container i's namespace.
type containerHolder struct {
	cmd  *exec.Cmd
	ns   Netns
	done chan struct{}
}

func holdContainer(t *testing.T, l *lab.Lab, i int) *containerHolder {
	t.Helper()
	h := &containerHolder{cmd: exec.Command("ip", "netns", "exec", l.ContainerNS(i), "sleep", "600"), done: make(chan struct{})}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.cmd.Wait(); close(h.done) }()
	t.Cleanup(h.end)
	h.ns.PID = h.cmd.Process.Pid
	var err error
	vmtest.WaitFor(t, "the sleep in the container's namespace", func() bool {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(h.ns.PID) + "/cmdline")
		h.ns.Link, err = os.Readlink("/proc/" + strconv.Itoa(h.ns.PID) + "/ns/net")
		return strings.HasPrefix(string(cmdline), "sleep\x00") && err == nil
	})
	if own, _ := os.Readlink("/proc/self/ns/net"); h.ns.Link == own {
		t.Fatalf("the sleep is in the test's namespace %s", own)
	}
	return h
}

// end kills the holder by its pid and reaps it: the container stops.
func (h *containerHolder) end() {
	select {
	case <-h.done:
	default:
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// sessionOf is the session id of process pid (0 when gone).
func sessionOf(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // state ppid pgrp session
	if len(f) < 4 {
		return 0
	}
	sid, _ := strconv.Atoi(f[3])
	return sid
}

// captureNetnsOf is the network namespace of the capture program (tcpdump
// or the agent) in session sid, "" when there is none.
func captureNetnsOf(sid int) string {
	for _, p := range sessionProcesses(sid) {
		f := strings.Fields(p)
		if len(f) > 1 && (strings.HasSuffix(f[1], "/tcpdump") || f[1] == "tcpdump" || strings.HasSuffix(f[1], "/"+agentFile)) {
			link, _ := os.Readlink("/proc/" + f[0] + "/ns/net")
			return link
		}
	}
	return ""
}

// TestNetnsCaptureLabContainer: tcpdump (under nsenter) and the agent
// (-netns) capture inside container 1's namespace by its PID, on eth0 and
// on any, and see the lab's conversation (the payload-only filter passes
// exactly its data segments); when the container's process ends, the
// capture ends by itself within a few seconds with ErrNetnsGone, and
// nothing of it stays on the VM.
func TestNetnsCaptureLabContainer(t *testing.T) {
	vmtest.NeedTcpdump(t) // the agent's filter is compiled here
	l, c, p := labVM(t, lab.Options{})
	for _, tool := range []Tool{ToolTcpdump, ToolAgent} {
		for _, iface := range []string{"eth0", "any"} {
			t.Run(string(tool)+"/"+iface, func(t *testing.T) {
				h := holdContainer(t, l, 1)
				spec := CaptureSpec{Interface: iface, Filter: BuildFilter("", true, p), Tool: tool, Netns: h.ns}
				r, pu := startListening(context.Background(), t, c, spec, p)
				defer r.Stop()
				sid := sessionOf(waitWrapperPID(t, r))
				if sid == 0 {
					t.Fatal("no session for the wrapper")
				}
				if got := captureNetnsOf(sid); got != h.ns.Link {
					t.Fatalf("%s captures in %q, want the container's %s; session %q", tool, got, h.ns.Link, sessionProcesses(sid))
				}
				dir := agentDirOf(r.stderr.String())
				if (dir != "") != (tool == ToolAgent) {
					t.Fatalf("agent dir %q with %s: %s", dir, tool, r.stderr.String())
				}
				const messages = 5
				l.Send(t, messages, 10*time.Millisecond)
				vmtest.WaitFor(t, "the conversation's data segments", func() bool {
					return len(vmtest.DecodePcap(t, pu.buf.String(), false)) >= 2*messages
				})

				h.end() // the container stops
				begin := time.Now()
				select {
				case err := <-pu.done:
					if err != nil {
						t.Logf("stdout ended with %v", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("the capture still runs 5 s after the container's process ended; stderr: %s", r.stderr.String())
				}
				err := r.Wait()
				t.Logf("ended %v after the container; %v", time.Since(begin).Round(10*time.Millisecond), err)
				if !errors.Is(err, ErrNetnsGone) || strings.Contains(err.Error(), "\n") {
					t.Errorf("Wait: %v, want ErrNetnsGone; stderr: %s", err, r.stderr.String())
				}
				pkts := vmtest.DecodePcap(t, pu.buf.String(), true)
				if len(pkts) != 2*messages {
					t.Errorf("%d packets, want the %d data segments", len(pkts), 2*messages)
				}
				for _, pk := range pkts {
					if tcp := tcpOf(pk); tcp == nil || len(tcp.Payload) == 0 {
						t.Fatalf("not a TCP data segment: %v", pk)
					}
				}
				vmtest.WaitNone(t, 15*time.Second, "left on the VM", func() []string { return sessionProcesses(sid) })
				if dir != "" {
					waitNoAgentLeft(t, l, dir)
				}
			})
		}
	}
}

// tcpOf is pk's TCP layer; tcpdump -i any writes LINUX_SLL2 (link type
// 276), which gopacket does not decode: its 20-byte header is skipped.
func tcpOf(pk gopacket.Packet) *layers.TCP {
	if tcp, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		return tcp
	}
	if d := pk.Data(); len(d) > 20 && binary.BigEndian.Uint16(d[0:2]) == 0x0800 {
		ip := gopacket.NewPacket(d[20:], layers.LayerTypeIPv4, gopacket.Default)
		tcp, _ := ip.Layer(layers.LayerTypeTCP).(*layers.TCP)
		return tcp
	}
	return nil
}

// TestNetnsCaptureLabBothContainers: StartAll captures eth0 in each
// container's namespace at once over one connection (the same interface
// name in two namespaces), one upload of the agent for both; Stop ends
// both and leaves nothing, the containers untouched.
func TestNetnsCaptureLabBothContainers(t *testing.T) {
	vmtest.NeedTcpdump(t)
	l, c, p := labVM(t, lab.Options{})
	for _, tool := range []Tool{ToolTcpdump, ToolAgent} {
		t.Run(string(tool), func(t *testing.T) {
			h1, h2 := holdContainer(t, l, 1), holdContainer(t, l, 2)
			filter := BuildFilter("", true, p)
			specs := []CaptureSpec{{Interface: "eth0", Filter: filter, Tool: tool, Netns: h1.ns}, {Interface: "eth0", Filter: filter, Tool: tool, Netns: h2.ns}}
			caps, pumps := startAllListening(t, c, specs, p)
			var sids []int
			for i, r := range caps {
				sid := sessionOf(waitWrapperPID(t, r))
				if got, want := captureNetnsOf(sid), specs[i].Netns.Link; got != want {
					t.Fatalf("capture %d in %q, want %s", i, got, want)
				}
				sids = append(sids, sid)
			}
			const messages = 4
			l.Send(t, messages, 10*time.Millisecond)
			vmtest.WaitFor(t, "the data segments in both containers", func() bool {
				return len(vmtest.DecodePcap(t, pumps[0].buf.String(), false)) >= 2*messages && len(vmtest.DecodePcap(t, pumps[1].buf.String(), false)) >= 2*messages
			})
			dir := agentDirOf(caps[0].stderr.String())
			stopAll(t, caps, pumps, 2*messages)
			for _, sid := range sids {
				vmtest.WaitNone(t, 15*time.Second, "left on the VM", func() []string { return sessionProcesses(sid) })
			}
			if dir != "" {
				waitNoAgentLeft(t, l, dir)
			}
			for _, h := range []*containerHolder{h1, h2} {
				select {
				case <-h.done:
					t.Error("a container's process ended")
				default:
				}
			}
		})
	}
}

// TestNetnsCaptureLabOtherNamespace: a link that is not the process's (the
// PID now belongs to another container) ends the capture at once with
// ErrNetnsGone: no tcpdump, no agent, no pcap stream.
func TestNetnsCaptureLabOtherNamespace(t *testing.T) {
	vmtest.NeedTcpdump(t)
	l, c, p := labVM(t, lab.Options{})
	h1, h2 := holdContainer(t, l, 1), holdContainer(t, l, 2)
	for _, tool := range []Tool{ToolTcpdump, ToolAgent} {
		r, err := Start(context.Background(), c, CaptureSpec{Interface: "eth0", Tool: tool, Netns: Netns{PID: h1.ns.PID, Link: h2.ns.Link}}, p)
		if err != nil {
			t.Fatal(err)
		}
		pu := startPump(r.Stdout())
		select {
		case <-pu.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still running: %s", tool, r.stderr.String())
		}
		err = r.Wait()
		if !errors.Is(err, ErrNetnsGone) || strings.Contains(r.stderr.String(), "listening") || pu.buf.String() != "" {
			t.Errorf("%s: %v; stdout %q; stderr %s", tool, err, pu.buf.String(), r.stderr.String())
		}
		r.Stop()
		if dir := agentDirOf(r.stderr.String()); dir != "" {
			waitNoAgentLeft(t, l, dir)
		}
	}
}

// TestNetnsCaptureLabClientVanishes: vmdump vanishes (the connection just
// ends, no Stop) during a capture in a container's namespace: the wrapper
// sees stdin EOF and leaves nothing, the container untouched.
func TestNetnsCaptureLabClientVanishes(t *testing.T) {
	vmtest.NeedTcpdump(t)
	l := lab.Start(t, lab.Options{})
	for _, tool := range []Tool{ToolTcpdump, ToolAgent} {
		t.Run(string(tool), func(t *testing.T) {
			c := labConn(t, l)
			p := probeOK(t, c)
			h := holdContainer(t, l, 1)
			r, _ := startListening(context.Background(), t, c, CaptureSpec{Interface: "eth0", Filter: "udp port 9", Tool: tool, Netns: h.ns}, p)
			sid := sessionOf(waitWrapperPID(t, r))
			if got := captureNetnsOf(sid); got != h.ns.Link {
				t.Fatalf("captures in %q, want %s", got, h.ns.Link)
			}
			dir := agentDirOf(r.stderr.String())
			c.Client.Close() // the TCP connection ends, as when vmdump is killed
			vmtest.WaitNone(t, 15*time.Second, "left on the VM", func() []string { return sessionProcesses(sid) })
			if dir != "" {
				waitNoAgentLeft(t, l, dir)
			}
			select {
			case <-h.done:
				t.Error("the container's process ended")
			default:
			}
		})
	}
}
