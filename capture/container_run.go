package capture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// containerPoll is how often a capture asks the engine whether its stopped
// container runs again (one short exec on the open connection, with sudo:
// each poll is a few lines of the VM's auth log). After
// containerPollFastFor of waiting it asks every containerPollSlow
// instead: a restart is usually over within seconds, a container stopped
// for good need not be asked every second.
var (
	containerPoll        = time.Second
	containerPollSlow    = 5 * time.Second
	containerPollFastFor = 30 * time.Second
)

// pollAfter is the wait before the next question to the engine, the
// container having been waited for since since.
func pollAfter(since time.Time) time.Duration {
	if time.Since(since) < containerPollFastFor {
		return containerPoll
	}
	return containerPollSlow
}

// runContainer captures the container s.Container names, inside its
// network namespace, and follows it: when it stops (docker stop, restart,
// rm -f) the capture stays open and says so; when a container of that name
// runs again, capture resumes into the same stream on a new interface
// block whose description says when it restarted. It ends like a NIC
// capture: ctx, the reader gone, the link lost, or a failure.
func (s *session) runContainer(ctx context.Context, conn *sshconn.Conn, p probe.Probe, si *sessionInventory, note string) outcome {
	ref := *s.Container
	label := "container " + ref.Name
	var stoppedAt time.Time  // when the container last stopped under the capture
	var gone remotecap.Netns // the namespace it left, and its process
	waiting := false
	var waitingSince time.Time
	for {
		c, running, err := probe.FindContainer(ctx, conn, ref)
		if err != nil {
			if ctx.Err() != nil {
				return outcome{}
			}
			return outcome{err: fmt.Errorf("VM %s: cannot ask %s about %s: %w", s.VM.Name, ref.Engine, label, err), linkLost: isDead(conn)}
		}
		// The engine may still name the process and namespace the
		// container just left (it is being torn down): that is not
		// running again. (A namespace's number alone is no proof: the
		// kernel hands freed numbers out again.)
		ns := remotecap.Netns{PID: c.PID, Link: c.NetNS}
		if !running || c.PID <= 0 || c.NetNS == "" || (!gone.IsZero() && ns == gone) {
			if !waiting {
				msg := fmt.Sprintf("%s is not running on %s; waiting for it to start", label, s.VM.Name)
				if !stoppedAt.IsZero() {
					msg = fmt.Sprintf("%s stopped at %s; waiting for it to run again", label, clock(stoppedAt))
				}
				s.n.Status(msg)
				s.n.Log(msg)
				s.Log.Info("container not running", "vm", s.VM.ID, "container", ref.Name, "engine", ref.Engine)
				waiting, waitingSince = true, time.Now()
			}
			select {
			case <-ctx.Done():
				return outcome{}
			case <-conn.Dead():
				return outcome{err: errors.New("the connection died while waiting for the container"), linkLost: true, why: conn.DeadReason()}
			case <-time.After(pollAfter(waitingSince)):
			}
			continue
		}
		if !stoppedAt.IsZero() {
			note = fmt.Sprintf("%s restarted at %s", label, time.Now().UTC().Format(time.RFC3339))
		}
		waiting, gone = false, remotecap.Netns{}

		specs, why := s.containerSpecs(ctx, c, p, si)
		s.writeNames(si, c)
		s.Log.Info("capturing container", "vm", s.VM.ID, "container", c.Name, "id", c.ID, "pid", c.PID, "interfaces", specNames(specs), "why", why)
		describe := func() []pcapng.NIC {
			return containerNICs(s.VM.Name, DisplayName(s.VM), c, specs, cmp.Or(p.OSPretty, s.VM.OS), note)
		}
		what := fmt.Sprintf("%s (%s)", label, joinNames(specNames(specs)))
		res, err := runCaptures(ctx, conn, p, specs, describe, s.w, s.n, s.VM.Name, what, why, s.Log, s.readerGone)
		switch {
		case err != nil && errors.Is(err, remotecap.ErrNetnsGone):
			// It stopped between the engine's answer and the start.
		case err != nil:
			return outcome{err: err, linkLost: isDead(conn)}
		case ctx.Err() != nil:
			return outcome{}
		case isDead(conn):
			return outcome{err: res.remoteErr, linkLost: true, why: conn.DeadReason()}
		case s.readerGone(res.pumpErr):
			return outcome{readerGone: true}
		case errors.Is(res.remoteErr, remotecap.ErrNetnsGone):
		case res.remoteErr != nil:
			return outcome{err: res.remoteErr}
		case res.pumpErr != nil:
			return outcome{err: res.pumpErr}
		default:
			return outcome{} // the remote capture ended by itself, the container still there
		}
		stoppedAt, gone = time.Now(), remotecap.Netns{PID: c.PID, Link: c.NetNS}
		s.Log.Info("container stopped", "vm", s.VM.ID, "container", ref.Name)
	}
}

// containerSpecs are the remote captures of container c: the interfaces
// the user named (inside the container's namespace), else all of them
// ("any", loopback included) for a container sharing its namespace (a
// pod's containers talk over loopback), else its one interface, else all
// of them. A container on the VM's own network (--network host) is
// captured like the VM, on the NIC the VM's capture would take; its
// namespace is still watched, so the capture notices when it stops.
func (s *session) containerSpecs(ctx context.Context, c probe.Container, p probe.Probe, si *sessionInventory) ([]remotecap.CaptureSpec, string) {
	spec := s.Spec
	spec.Filter = remotecap.BuildFilter(s.CaptureFilter, s.PayloadOnly, p)
	spec.Netns = remotecap.Netns{PID: c.PID, Link: c.NetNS}
	names, why := s.NICs, "the interfaces named in the options"
	switch {
	case len(names) > 0 && !s.ChooseNIC:
	case c.HostNetwork:
		nic, w := s.chooseNIC(ctx, p, si)
		names, why = []string{cmp.Or(nic, "any")}, "host network: "+cmp.Or(w, "every interface of the VM")
	case sharesNamespace(c):
		names, why = []string{"any"}, "all interfaces of the namespace it shares, loopback included (where a pod's containers talk)"
	case len(c.NICs) == 1:
		names, why = []string{c.NICs[0].Name}, "its only interface"
	default:
		names, why = []string{"any"}, fmt.Sprintf("all of its %d interfaces and its loopback", len(c.NICs))
	}
	return captureSpecs(spec, names), why
}

// sharesNamespace: c is in a pod, or joined another container's namespace
// (--network container:x), so its neighbours talk to it over loopback.
func sharesNamespace(c probe.Container) bool {
	return c.Pod != "" || strings.HasPrefix(c.Network, "container:")
}

// writeNames writes the capture's name resolution records (captureNames)
// for c: from the session's fresh inventory when it has arrived; else now
// from the cached one, and once more when the fresh one arrives.
func (s *session) writeNames(si *sessionInventory, c probe.Container) {
	write := func(inv probe.Inventory) {
		if err := s.w.WriteNames(captureNames(s.VM.Name, inv, c)); err != nil {
			s.Log.Debug("names not written", "err", err)
		}
	}
	if si != nil {
		select {
		case <-si.done:
			if si.err == nil {
				write(si.inv)
				return
			}
		default:
			go func() {
				<-si.done
				if si.err == nil {
					write(si.inv)
				}
			}()
		}
	}
	inv, _ := probe.LoadInventory(s.Env, s.VM.ID)
	write(inv)
}

// containerNICs describe a container's captured interfaces: Wireshark
// shows Name as frame.interface_name ("lab:web/eth0"), Description in the
// file's properties ("Docker VM lab (config, running) container web
// (nginx, compose shop/web, docker) eth0", plus the restart note).
func containerNICs(vmName, vmDisplay string, c probe.Container, specs []remotecap.CaptureSpec, os, note string) []pcapng.NIC {
	nics := make([]pcapng.NIC, len(specs))
	for i, sp := range specs {
		d := vmDisplay + " container " + DescribeContainer(c) + " [" + c.Engine + "] " + sp.Interface
		if note != "" {
			d += " (" + note + ")"
		}
		nics[i] = pcapng.NIC{Name: vmName + ":" + c.Name + "/" + sp.Interface, Description: d, Filter: sp.Filter, OS: os}
	}
	return nics
}

func specNames(specs []remotecap.CaptureSpec) []string {
	out := make([]string, len(specs))
	for i, sp := range specs {
		out[i] = sp.Interface
	}
	return out
}

// clock is a time of day for a status line, "14:03:27".
func clock(t time.Time) string { return t.Format("15:04:05") }
