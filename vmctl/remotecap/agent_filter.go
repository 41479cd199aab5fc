package remotecap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"

	"github.com/vmdump/vmdump/internal/localtcpdump"
)

// agentProgram compiles a capture filter for the capture agent, which
// takes classic BPF: the VM may have no libpcap, so the filter is compiled
// here, by the local tcpdump (`tcpdump -ddd -r -`, reading an empty
// Ethernet capture file: no capture rights needed, the same trick as
// extcap's filter check). Without a local tcpdump (Windows, a Mac without
// it) the filters vmdump builds itself are assembled by vmdump; a user's
// own filter then cannot be compiled, and the error says so. "" (capture
// everything) needs no program.
func agentProgram(ctx context.Context, filter string, snaplen int, p probe.Probe) (string, error) {
	if filter == "" {
		return "", nil
	}
	if snaplen == 0 {
		snaplen = 262144
	}
	if tcpdump := findLocalTcpdump(); tcpdump != "" {
		prog, err := compileLocally(ctx, tcpdump, filter, snaplen)
		if err != nil {
			return "", err
		}
		return programText(prog), nil
	}
	prog, ok, err := builtinProgram(filter, snaplen, p)
	switch {
	case !ok:
		return "", errors.New("the capture agent needs the capture filter compiled on this machine, which has no tcpdump: install tcpdump here, install tcpdump in the VM, or clear the capture filter")
	case err != nil:
		return "", fmt.Errorf("cannot build the capture filter for the capture agent: %v", err)
	}
	return programText(prog), nil
}

// findLocalTcpdump is a variable so that tests can take tcpdump away.
var findLocalTcpdump = localtcpdump.Find

// compileLocally runs `tcpdump -ddd -r - -- filter`.
func compileLocally(ctx context.Context, tcpdump, filter string, snaplen int) ([]bpfInsn, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	stdout, msg, err := localtcpdump.Compile(ctx, tcpdump, "-ddd", filter, snaplen)
	if err != nil {
		if msg == "" {
			msg = oneline.Err(err)
		}
		return nil, fmt.Errorf("the capture filter does not compile (for the capture agent, with %s): %s", tcpdump, sshconn.ClipValue(msg))
	}
	prog, err := parseDDD(stdout)
	if err != nil {
		return nil, fmt.Errorf("%s -ddd printed no BPF program: %v", tcpdump, err)
	}
	return prog, nil
}
