package remotecap

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// BenchRemoteFileEnv names the environment variable of the bulk-throughput
// benchmark (BENCHMARKS.md, P4): when it holds a path on the VM, vmdump
// streams that pcap file instead of capturing, so that what is measured is
// vmdump's data path (SSH, pcap → pcapng, FIFO) at full speed rather than
// the traffic tcpdump happens to see. It is an expert option on purpose
// kept out of Wireshark's dialog: a capture that shows a file is not a
// capture.
const BenchRemoteFileEnv = "VMDUMP_BENCH_REMOTE_FILE"

// replayInvocation replaces tcpdumpInvocation: `cat -- <file>`, with the
// file a positional argument ($5) like the filter, so that a path never
// becomes script text. Everything else in the wrapper stays: the stdin-EOF
// and heartbeat watchdogs and the TERM trap stop `cat` exactly as they stop
// tcpdump.
const replayInvocation = `"$1" -- "$5"`

// replayCommand is CaptureCommand for spec.BenchRemoteFile: the wrapper
// around `cat` (as tcpdump would run: under sudo when the capture would).
func replayCommand(spec CaptureSpec, watchdogSeconds int, sudo bool) (string, error) {
	file := spec.BenchRemoteFile
	if strings.ContainsAny(file, "\x00\n\r") {
		return "", fmt.Errorf("%s must be one line without NUL characters", BenchRemoteFileEnv)
	}
	script := strings.Replace(CaptureScript, "@CAPTURE@", replayInvocation, 1)
	args := []string{"cat", spec.Interface, strconv.Itoa(max(spec.Snaplen, 0)), strconv.Itoa(watchdogSeconds), file}
	return wrapperCommand(sudo, script, args), nil
}

// withBenchFile fills BenchRemoteFile from BenchRemoteFileEnv when unset.
func (s CaptureSpec) withBenchFile() CaptureSpec {
	if s.BenchRemoteFile == "" {
		s.BenchRemoteFile = os.Getenv(BenchRemoteFileEnv)
	}
	return s
}
