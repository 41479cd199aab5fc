package remotecap

import (
	"strconv"
	"strings"
)

// agentInvocation is what the wrapper needs to run the capture agent: its
// path on the VM and the compiled filter (programText; "" for none).
type agentInvocation struct {
	path, program string
	owner         *remoteAgent // the upload; each capture holds a reference
}

// agentCaptureInvocation replaces tcpdumpInvocation: the agent takes the
// wrapper's positional arguments the way tcpdump does ($1 program, $2
// interface, $3 snaplen), and the BPF program as $5.
const agentCaptureInvocation = `"$1" -i "$2" -s "$3" @FILTER@`

// agentNetnsInvocation is agentCaptureInvocation inside a container's
// network namespace ($6 the PID, $7 its link; see withNetns).
const agentNetnsInvocation = `"$1" -netns "/proc/$6/ns/net" -netns-link "$7" -i "$2" -s "$3" @FILTER@`

// agentHello replaces the wrapper's first line. The agent's directory is
// removed by the wrapper on exit, whatever ends it (stdin EOF when vmdump
// vanished, the watchdog, TERM, a failure to start): the EXIT trap runs in
// the wrapper only, not in its background helpers. The directory is named
// on the wrapper's pid line, which vmdump's error reports already skip.
const agentHello = `a="${1%/*}"; trap "rm -rf \"\$a\"" EXIT; echo "vmdump: wrapper pid $$, agent in $a" >&2`

// agentCommand is CaptureCommand for the capture agent: the same wrapper,
// with the same stop guarantees, around the agent.
func agentCommand(spec CaptureSpec, snaplen, watchdogSeconds int, sudo bool) (string, error) {
	script := strings.Replace(CaptureScript, `echo "vmdump: wrapper pid $$" >&2`, agentHello, 1)
	script = strings.Replace(script, `echo "vmdump: tcpdump: not found" >&2`, `echo "vmdump: the capture agent is gone from $1" >&2`, 1)
	invocation := agentCaptureInvocation
	if !spec.Netns.IsZero() {
		// The agent joins the namespace itself (setns before it opens
		// its socket) and checks it is still the one of the link.
		invocation = agentNetnsInvocation
	}
	script = strings.Replace(script, "@CAPTURE@", invocation, 1)
	args := []string{spec.agent.path, spec.Interface, strconv.Itoa(snaplen), strconv.Itoa(watchdogSeconds)}
	if spec.agent.program != "" {
		script = strings.Replace(script, "@FILTER@", `-f "$5"`, 1)
		args = append(args, spec.agent.program)
	} else {
		script = strings.Replace(script, "@FILTER@", "", 1)
	}
	if !spec.Netns.IsZero() {
		var err error
		if script, err = withNetns(script, false); err != nil {
			return "", err
		}
		args = netnsArgs(args, spec.Netns)
	}
	return wrapperCommand(sudo, script, args), nil
}

// agentDirOf finds the agent's directory on the wrapper's pid line.
func agentDirOf(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if _, dir, ok := strings.Cut(l, ", agent in "); ok && strings.HasPrefix(l, "vmdump: wrapper pid ") {
			return strings.TrimSpace(dir)
		}
	}
	return ""
}
