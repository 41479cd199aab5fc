package capture

import (
	"context"

	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// provisionIfAsked installs a missing tcpdump before the capture when the
// dialog's "Missing tcpdump" says so (off by default: installing software
// on someone's VM is their call) and the capture program may be tcpdump.
// It returns the probe to capture with: a fresh one after an install. A
// failed install fails the capture with its one-line error. With the
// option off the capture goes on, and a missing tcpdump is reported as
// the command to run (vmctl.MissingTcpdumpError).
func (s *session) provisionIfAsked(ctx context.Context, conn *sshconn.Conn, p probe.Probe) (probe.Probe, error) {
	if p.Tcpdump != "" || !s.InstallTcpdump || s.Spec.Tool == remotecap.ToolAgent {
		return p, nil
	}
	res, err := remotecap.Provision(ctx, conn, p, s.Spec.Priv)
	if err != nil {
		s.Log.Error("installing tcpdump failed", "vm", s.VM.ID, "ran", res.Ran, "exit", res.Exit, "err", err)
		return p, err
	}
	s.Log.Info("installed tcpdump", "vm", s.VM.ID, "ran", res.Ran, "path", res.Probe.Tcpdump, "took", res.Duration)
	return res.Probe, nil
}
