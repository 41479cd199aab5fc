package extcap

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/vmdump/vmdump/internal/localtcpdump"
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
	tcpdump := localtcpdump.Find()
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

// compileFilter runs "tcpdump -d -r - -- filter"; tcpdump exits 1 with
// "tcpdump: <reason>" on stderr for a bad filter.
func compileFilter(ctx context.Context, tcpdump, filter string) (string, bool) {
	_, msg, err := localtcpdump.Compile(ctx, tcpdump, "-d", filter, 262144)
	if err == nil {
		return "", true
	}
	var exit *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &exit) || exit.ExitCode() != 1 {
		return "", false
	}
	if msg == "" || nameLookupFailed(msg) {
		// A name only the VM might resolve, or a failure that is not about
		// the filter: say "cannot check" rather than "invalid".
		return "", false
	}
	return msg, true
}

// nameLookupFailed: "unknown host 'x'", "unknown ether host 'x'",
// "unknown network 'x'" — resolved on this machine, not in the VM.
func nameLookupFailed(msg string) bool {
	return strings.HasPrefix(msg, "unknown ") && (strings.Contains(msg, "host '") || strings.Contains(msg, "network '"))
}
