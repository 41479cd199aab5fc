package remotecap

import (
	"context"
	"fmt"

	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// usesAgent says whether spec's capture runs the capture agent rather than
// tcpdump: always with ToolAgent, never with ToolTcpdump, and with
// ToolAuto when the probe found no tcpdump on the VM (a minikube ISO, a
// read-only image), or, for a capture inside a container's namespace, no
// nsenter to enter it with (the agent joins the namespace itself) on a VM
// the agent runs on. The benchmark's replay never does.
func (s CaptureSpec) usesAgent(p probe.Probe) (bool, error) {
	if s.BenchRemoteFile != "" {
		return false, nil
	}
	switch s.Tool {
	case ToolAgent:
		return true, nil
	case ToolTcpdump:
		return false, nil
	case ToolAuto, "":
		noNsenter := !s.Netns.IsZero() && p.NsenterKnown && !p.Nsenter && AgentRuns(p)
		return p.Tcpdump == "" || noNsenter, nil
	}
	return false, fmt.Errorf("unknown capture tool %q (use auto, tcpdump or agent)", s.Tool)
}

// toolName names the program that captures, for messages: "tcpdump", or
// "vmdump's capture agent" once prepareAgent chose the agent.
func (s CaptureSpec) toolName() string {
	if s.agent != nil {
		return "vmdump's capture agent"
	}
	return "tcpdump"
}

// prepareAgent readies the specs that use the agent: their filters are
// compiled here and the agent is uploaded once for all of them. agent is
// nil when no spec uses it; otherwise the caller holds one reference and
// must release it once the captures have started (or failed to).
func prepareAgent(ctx context.Context, c *sshconn.Conn, specs []CaptureSpec, p probe.Probe) (out []CaptureSpec, agent *remoteAgent, err error) {
	out = append([]CaptureSpec(nil), specs...)
	var need []int
	programs := map[[2]string]string{}
	for i, s := range out {
		use, err := s.usesAgent(p)
		if err != nil {
			return nil, nil, err
		}
		if !use || s.agent != nil {
			continue
		}
		// Refuse a bad spec before anything is uploaded.
		probe := s
		probe.agent = &agentInvocation{path: "/" + agentFile}
		if _, err := CaptureCommand(probe, p); err != nil {
			return nil, nil, err
		}
		filter := normalizeFilter(s.Filter)
		key := [2]string{filter, fmt.Sprint(s.Snaplen)}
		prog, ok := programs[key]
		if !ok {
			if prog, err = agentProgram(ctx, filter, s.Snaplen, p); err != nil {
				return nil, nil, err
			}
			programs[key] = prog
		}
		out[i].agent = &agentInvocation{program: prog}
		need = append(need, i)
	}
	if len(need) == 0 {
		return out, nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	agent, err = uploadAgent(ctx, c, p)
	if err != nil {
		return nil, nil, err
	}
	agent.acquire() // the caller's hold
	for _, i := range need {
		out[i].agent.path = agent.path
		out[i].agent.owner = agent
	}
	return out, agent, nil
}
