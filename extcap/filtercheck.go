package extcap

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

// CheckFilter checks a capture filter for Wireshark's filter box
// (--extcap-capture-filter without --capture, reference §5). The GUI calls
// it on every edit, without any dialog options, so it cannot ask the VM: it
// compiles the filter locally with tcpdump instead.
//
//   - known false: the filter cannot be checked here (no tcpdump, a host or
//     network name that only the VM may resolve, a timeout). main exits 1,
//     which Wireshark shows yellow: "Unable to check capture filter".
//   - known true, problem "": valid. main prints nothing and exits 0 (green).
//   - known true, problem set: one line naming the error; main prints it and
//     exits 0 (red, with that text).
//
// The filter is later combined as "(filter) and (...)", so unbalanced
// parentheses — which the parentheses would hide — are refused here. ctx
// bounds the time; the GUI waits for the answer.
func CheckFilter(ctx context.Context, filter string) (problem string, known bool) {
	if strings.TrimSpace(filter) == "" {
		return "", true
	}
	if p := parenProblem(filter); p != "" {
		return p, true
	}
	tcpdump := findTcpdump()
	if tcpdump == "" {
		return "", false
	}
	return compileFilter(ctx, tcpdump, filter)
}

// parenProblem finds a parenthesis without partner.
func parenProblem(filter string) string {
	depth := 0
	for i, c := range filter {
		switch c {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return fmt.Sprintf("unbalanced parentheses: ')' at position %d has no matching '('", i+1)
			}
			depth--
		}
	}
	if depth > 0 {
		return fmt.Sprintf("unbalanced parentheses: %d '(' not closed", depth)
	}
	return ""
}

// tcpdumpPaths are searched after PATH: GUI apps (and sudo) often run with
// a PATH that lacks the sbin directories.
var tcpdumpPaths = []string{"/usr/sbin/tcpdump", "/usr/bin/tcpdump", "/sbin/tcpdump", "/usr/local/sbin/tcpdump", "/usr/local/bin/tcpdump"}

func findTcpdump() string {
	if p, err := exec.LookPath("tcpdump"); err == nil {
		return p
	}
	for _, p := range tcpdumpPaths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// ethernetPcapHeader is an empty Ethernet capture file: "tcpdump -d -r -"
// takes the link type from it and needs no capture privileges.
var ethernetPcapHeader = []byte{
	0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, // magic, version 2.4
	0, 0, 0, 0, 0, 0, 0, 0, // thiszone, sigfigs
	0, 0, 4, 0, // snaplen 262144
	1, 0, 0, 0, // LINKTYPE_ETHERNET
}

// compileFilter runs "tcpdump -d -r - -- filter"; tcpdump exits 1 with
// "tcpdump: <reason>" on stderr for a bad filter.
func compileFilter(ctx context.Context, tcpdump, filter string) (string, bool) {
	cmd := exec.CommandContext(ctx, tcpdump, "-d", "-r", "-", "--", filter)
	cmd.Stdin = bytes.NewReader(ethernetPcapHeader)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return "", true
	}
	var exit *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &exit) || exit.ExitCode() != 1 {
		return "", false
	}
	msg := tcpdumpMessage(stderr.String())
	if msg == "" || nameLookupFailed(msg) {
		// A name only the VM might resolve, or a failure that is not about
		// the filter: say "cannot check" rather than "invalid".
		return "", false
	}
	return msg, true
}

// tcpdumpMessage is the last "tcpdump: ..." line of stderr, without that
// prefix, limited to one short line.
func tcpdumpMessage(stderr string) string {
	msg := ""
	for _, line := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "tcpdump: "); ok {
			msg = strings.TrimSpace(rest)
		}
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return strings.ToValidUTF8(msg, "")
}

// nameLookupFailed: "unknown host 'x'", "unknown ether host 'x'",
// "unknown network 'x'" — resolved on this machine, not in the VM.
func nameLookupFailed(msg string) bool {
	return strings.HasPrefix(msg, "unknown ") && (strings.Contains(msg, "host '") || strings.Contains(msg, "network '"))
}
