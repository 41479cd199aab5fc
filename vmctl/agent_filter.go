package vmctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// agentProgram compiles a capture filter for the capture agent, which
// takes classic BPF: the VM may have no libpcap, so the filter is compiled
// here, by the local tcpdump (`tcpdump -ddd -r -`, reading an empty
// Ethernet capture file: no capture rights needed, the same trick as
// extcap's filter check). Without a local tcpdump (Windows, a Mac without
// it) the filters vmdump builds itself are assembled by vmdump; a user's
// own filter then cannot be compiled, and the error says so. "" (capture
// everything) needs no program.
func agentProgram(ctx context.Context, filter string, snaplen int, p Probe) (string, error) {
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

// localTcpdumpPaths are searched after PATH: GUI apps often run with a
// PATH that lacks the sbin directories.
var localTcpdumpPaths = []string{"/usr/sbin/tcpdump", "/usr/bin/tcpdump", "/sbin/tcpdump", "/usr/local/sbin/tcpdump", "/usr/local/bin/tcpdump"}

// findLocalTcpdump is a variable so that tests can take tcpdump away.
var findLocalTcpdump = func() string {
	if p, err := exec.LookPath("tcpdump"); err == nil {
		return p
	}
	for _, p := range localTcpdumpPaths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// emptyEthernetPcap is a capture file with no packets: tcpdump -r takes the
// link type and the snapshot length (the program's accept value) from it.
func emptyEthernetPcap(snaplen int) []byte {
	return []byte{
		0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, // magic, version 2.4
		0, 0, 0, 0, 0, 0, 0, 0, // thiszone, sigfigs
		byte(snaplen), byte(snaplen >> 8), byte(snaplen >> 16), byte(snaplen >> 24),
		1, 0, 0, 0, // LINKTYPE_ETHERNET
	}
}

// compileLocally runs `tcpdump -ddd -r - -- filter`.
func compileLocally(ctx context.Context, tcpdump, filter string, snaplen int) ([]bpfInsn, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tcpdump, "-ddd", "-r", "-", "--", filter)
	cmd.Stdin = bytes.NewReader(emptyEthernetPcap(snaplen))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		msg := ""
		for _, l := range strings.Split(stderr.String(), "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "tcpdump: "); ok {
				msg = rest
			}
		}
		if msg == "" {
			msg = oneLineErr(err)
		}
		return nil, fmt.Errorf("the capture filter does not compile (for the capture agent, with %s): %s", tcpdump, clipValue(msg))
	}
	prog, err := parseDDD(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("%s -ddd printed no BPF program: %v", tcpdump, err)
	}
	return prog, nil
}
