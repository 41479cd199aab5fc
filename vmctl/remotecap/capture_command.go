package remotecap

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vmdump/vmdump/internal/shquote"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// Priv says how the remote capture gets the right to capture.
type Priv string

const (
	// PrivAuto: nothing as root; `sudo -n` when the probe found
	// passwordless sudo (or could not tell the uid); otherwise tcpdump runs
	// as the user, which works when it has capabilities or the user is in
	// a pcap group, and fails with an error that explains the sudo choice.
	PrivAuto Priv = "auto"
	PrivNone Priv = "none" // run tcpdump as the login user
	PrivSudo Priv = "sudo" // always `sudo -n` (never prompts)
)

// CaptureSpec is what to capture on the VM.
type CaptureSpec struct {
	Interface string
	Filter    string // BPF, as built by BuildFilter; "" captures everything
	Snaplen   int    // 0: tcpdump's default (262144)
	Priv      Priv   // "" means PrivAuto
	// Tool is what captures on the VM: ToolAuto ("", tcpdump when the
	// probe found it, else the capture agent), ToolTcpdump or ToolAgent.
	Tool Tool
	// Heartbeat is how often vmdump writes a line to the command's stdin
	// (default 5s). The VM ends the capture when lines stop for about
	// two to four heartbeats (at least 10-20 s): the link is gone.
	Heartbeat time.Duration
	// BenchRemoteFile, when set, replaces tcpdump by `cat` of this pcap
	// file on the VM, inside the same wrapper (same stop guarantees): the
	// bulk-throughput benchmark. CaptureCommand takes it from the
	// environment variable VMDUMP_BENCH_REMOTE_FILE when empty. Never set
	// from Wireshark's dialog.
	BenchRemoteFile string

	// Netns, when set, captures inside a container's network namespace
	// (tcpdump under nsenter, or the agent joining it itself) and ends
	// with ErrNetnsGone when the container does. The zero value captures
	// in the VM's own namespace. Interface is then the container's
	// interface (eth0), or "any" for all of them.
	Netns Netns

	// agent, when set, runs the uploaded capture agent instead of tcpdump
	// (Start sets it; see agent_command.go).
	agent *agentInvocation
}

// Tool is the program that captures on the VM.
type Tool string

const (
	ToolAuto    Tool = "auto"
	ToolTcpdump Tool = "tcpdump"
	ToolAgent   Tool = "agent" // vmdump's capture agent, uploaded for the capture
)

func (s CaptureSpec) heartbeat() time.Duration {
	if s.Heartbeat <= 0 {
		return 5 * time.Second
	}
	return s.Heartbeat
}

// watchdogSeconds is the remote watchdog's period: the capture ends after
// one to two periods without a heartbeat.
func (s CaptureSpec) watchdogSeconds() int {
	w := int((2*s.heartbeat() + time.Second - 1) / time.Second)
	if w < 10 {
		w = 10
	}
	return w
}

// captureScript is the remote wrapper around tcpdump, POSIX sh for busybox
// ash, dash and bash (no bashisms, no `read -t`), free of single quotes.
// Arguments: $1 tcpdump, $2 interface, $3 snaplen, $4 watchdog seconds,
// $5 filter (only when there is one). User data never becomes script text.
// @CAPTURE@ is tcpdumpInvocation (or, for benchmarks, replayInvocation;
// for the capture agent, agentCaptureInvocation, see agentCommand).
//
// Why each part:
//   - -B 16384 (KiB): with --immediate-mode libpcap's ring has one slot per
//     snaplen-sized packet, so tcpdump's default 2 MiB holds a handful of
//     packets and a burst is dropped by the kernel (measured in the lab:
//     117 of 4008 back-to-back packets lost; none with 16 MiB).
//   - sshd does not notice a client that vanished, and a tcpdump whose
//     filter matches nothing never writes, so never gets SIGPIPE: the VM side
//     must end the capture itself. It does on stdin EOF (vmdump closed the
//     channel or died: the reader loop ends and kills tcpdump) and when
//     heartbeat lines stop (link down: the watchdog finds no fresh stamp).
//   - "vmdump-pcap-start" on stdout marks where the pcap stream begins:
//     whatever a login script printed before is skipped, not taken for a
//     broken pcap header.
//   - Only tcpdump keeps the channel's stdout; the helpers get /dev/null,
//     so when tcpdump ends the wrapper ends and vmdump sees EOF at once.
//   - An asynchronous command gets /dev/null as stdin, so the channel's stdin
//     is handed to the reader through fd 3.
//   - The wrapper sets its trap only after forking the helpers: a signal
//     that reaches a freshly forked subshell before it drops the parent's
//     trap is swallowed (dash), and the helper would outlive its kill.
//   - TERM/HUP/INT (vmdump's SSH "signal" request) go to tcpdump, which
//     then writes its statistics and exits 0; the wrapper waits for it,
//     ends its helpers (the watchdog kills its own sleep), removes its
//     temp dir and exits with tcpdump's status. Nothing stays behind.
const CaptureScript = `
PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"
export PATH
echo "vmdump: wrapper pid $$" >&2
command -v "$1" >/dev/null 2>&1 || { echo "vmdump: tcpdump: not found" >&2; exit 127; }
d=$(mktemp -d "${TMPDIR:-/tmp}/vmdump.XXXXXX" 2>/dev/null) || { d="${TMPDIR:-/tmp}/vmdump.$$"; mkdir -m 700 "$d" 2>/dev/null || { echo "vmdump: cannot create a temporary directory in ${TMPDIR:-/tmp}" >&2; exit 125; }; }
: >"$d/hb"
echo vmdump-pcap-start
exec 3<&0 </dev/null
@CAPTURE@ 3<&- &
p=$!
{ while IFS= read -r _; do : >"$d/hb"; done; kill $p; } <&3 >/dev/null 2>&1 &
r=$!
(trap "kill \$z 2>/dev/null; exit 0" TERM; while :; do sleep "$4" & z=$!; wait $z; if [ -e "$d/hb" ]; then rm -f "$d/hb"; else kill $p 2>/dev/null; exit 0; fi; done) </dev/null >/dev/null 2>&1 3<&- &
w=$!
trap "kill $p 2>/dev/null" TERM HUP INT
exec 3<&-
wait $p
s=$?
if [ $s -gt 128 ]; then wait $p; t=$?; if [ $t -ne 127 ]; then s=$t; fi; fi
kill $r $w 2>/dev/null
wait
rm -rf "$d"
exit $s
`

// CaptureCommand builds the exec string that runs tcpdump on the VM:
//
//	exec [sudo -n] sh -c '<captureScript>' vmdump <tcpdump> <iface> <snaplen> <watchdog> [<filter>]
//
// Every value is a separate, single-quoted argument: a filter holding
// quotes, ;, $( ), backticks or newlines reaches tcpdump as text and runs
// nothing. Newlines and tabs in the filter become spaces (BPF treats them
// as whitespace; some login shells reject a newline inside quotes).
//
// With spec.Netns the arguments go on with [<filter or "">] <pid> <link>
// ($5 is then always there, $6 and $7 the namespace) and the wrapper
// gains the namespace's start check, its watcher and its end check (see
// withNetns); tcpdump runs under `nsenter -t <pid> -n`. A PID reused by
// another namespace between the check and nsenter is caught by the watcher
// within a second (the agent checks the namespace it opened, atomically).
func CaptureCommand(spec CaptureSpec, p probe.Probe) (string, error) {
	spec = spec.withBenchFile()
	return captureCommand(spec, p, spec.watchdogSeconds())
}

// captureCommand is CaptureCommand with the watchdog period given (tests
// use a short one).
func captureCommand(spec CaptureSpec, p probe.Probe, watchdogSeconds int) (string, error) {
	if len(spec.Interface) > maxInterfaceName {
		return "", fmt.Errorf("interface name %q is too long to be a network interface", sshconn.ClipValue(spec.Interface))
	}
	if err := shquote.CheckInterfaceName(spec.Interface); err != nil {
		return "", err
	}
	if err := spec.Netns.check(); err != nil {
		return "", err
	}
	if spec.Snaplen < 0 || spec.Snaplen > 262144 {
		return "", fmt.Errorf("snapshot length %d out of range (0-262144; 0 means the whole packet)", spec.Snaplen)
	}
	if strings.ContainsRune(spec.Filter, 0) {
		return "", fmt.Errorf("the capture filter contains a NUL character")
	}
	snaplen := spec.Snaplen
	if snaplen == 0 {
		snaplen = 262144
	}
	filter := normalizeFilter(spec.Filter)

	sudo, err := useSudo(spec.Priv, p)
	if err != nil {
		return "", err
	}
	if spec.BenchRemoteFile != "" {
		return replayCommand(spec, watchdogSeconds, sudo)
	}
	if spec.agent != nil {
		return agentCommand(spec, snaplen, watchdogSeconds, sudo)
	}
	invocation := tcpdumpInvocation
	if !spec.Netns.IsZero() {
		invocation = `nsenter -t "$6" -n ` + invocation
	}
	script := strings.Replace(CaptureScript, "@CAPTURE@", invocation, 1)
	imm := ""
	if p.ImmediateMode {
		imm = "--immediate-mode"
	}
	script = strings.Replace(script, "@IMMEDIATE@", imm, 1)
	if filter != "" {
		script = strings.Replace(script, "@FILTER@", `-- "$5"`, 1)
	} else {
		script = strings.Replace(script, "@FILTER@", "", 1)
	}

	tcpdump := p.Tcpdump
	if tcpdump == "" {
		tcpdump = "tcpdump"
	}
	args := []string{tcpdump, spec.Interface, strconv.Itoa(snaplen), strconv.Itoa(watchdogSeconds)}
	if filter != "" {
		args = append(args, filter)
	}
	if !spec.Netns.IsZero() {
		if script, err = withNetns(script, true); err != nil {
			return "", err
		}
		args = netnsArgs(args, spec.Netns)
	}
	return wrapperCommand(sudo, script, args), nil
}

// normalizeFilter turns newlines and tabs into spaces (BPF treats them as
// whitespace; some login shells reject a newline inside quotes).
func normalizeFilter(f string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' || r == '\v' || r == '\f' {
			return ' '
		}
		return r
	}, f))
}

// tcpdumpInvocation is the capture the wrapper runs in the background.
const tcpdumpInvocation = `"$1" -U @IMMEDIATE@ -B 16384 -s "$3" -i "$2" -w - @FILTER@`

// wrapperCommand is `exec [sudo -n] sh -c '<script>' vmdump '<arg>'...`.
func wrapperCommand(sudo bool, script string, args []string) string {
	var b strings.Builder
	b.WriteString("exec ")
	if sudo {
		b.WriteString("sudo -n ")
	}
	b.WriteString("sh -c ")
	b.WriteString(shquote.Quote(shquote.OneLine(script)))
	b.WriteString(" vmdump")
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(shquote.Quote(a))
	}
	return b.String()
}

// maxInterfaceName bounds a remote interface name far above any real one
// (Linux and the BSDs allow 15 characters), so that a pasted blob is
// refused before it reaches the VM and comes back in a huge error.
const maxInterfaceName = 256

// useSudo decides whether the capture runs under `sudo -n`.
func useSudo(priv Priv, p probe.Probe) (bool, error) {
	switch priv {
	case PrivNone:
		return false, nil
	case PrivSudo:
		return true, nil
	case PrivAuto, "":
		switch {
		case p.UID == 0:
			return false, nil
		case p.UID < 0 || p.SudoNoPassword:
			return true, nil
		}
		return false, nil
	}
	return false, fmt.Errorf("unknown privilege mode %q (use auto, none or sudo)", priv)
}
