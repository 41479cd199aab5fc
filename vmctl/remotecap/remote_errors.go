package remotecap

import (
	"fmt"
	"strings"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// ClassifyRemoteError turns the remote capture command's stderr and exit
// status into one line that says what to do, or nil when the command
// ended cleanly (exit 0). exit is the remote exit status, -1 when the
// session ended without one.
func ClassifyRemoteError(stderr string, exit int, p probe.Probe, spec CaptureSpec) error {
	vm := p.VMLabel()
	tool := spec.toolName()
	lines := meaningfulLines(stderr)
	all := strings.Join(lines, "\n")
	lower := strings.ToLower(all)
	iface := spec.Interface
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(lower, strings.ToLower(s)) {
				return true
			}
		}
		return false
	}
	tcpdumpLine := func() string {
		for _, l := range lines {
			if strings.HasPrefix(l, "tcpdump: ") {
				return strings.TrimPrefix(l, "tcpdump: ")
			}
		}
		return oneline.LastLines(all, 1)
	}

	if err := netnsError(lower, exit, vm, spec); err != nil {
		return err
	}
	switch {
	case has("vmdump: tcpdump: not found") ||
		exit == 127 && has("tcpdump") && has("not found", "no such file"):
		return MissingTcpdumpError(p)
	case has("a password is required", "no tty present", "a terminal is required"):
		return fmt.Errorf("sudo on %s needs a password: allow passwordless sudo for tcpdump or log in as root", vm)
	case has("is not in the sudoers file", "may not run sudo", "is not allowed to execute"):
		return fmt.Errorf("the login user may not use sudo on %s: allow passwordless sudo for tcpdump or log in as root", vm)
	case exit == 127 && has("sudo") && has("not found"):
		return fmt.Errorf("sudo is not installed on %s: log in as root, or set privilege to none if tcpdump may capture as the login user", vm)
	case has("vmdump: cannot create a temporary directory"):
		return fmt.Errorf("cannot create a temporary directory on %s (is /tmp full or read-only?): %s", vm, strings.TrimPrefix(lastMatching(lines, "vmdump: cannot"), "vmdump: "))
	case has("don't have permission", "operation not permitted", "permission denied"):
		if p.UID != 0 && !usedSudo(spec, p) {
			return fmt.Errorf("%s on %s may not capture on %s as the login user: allow passwordless sudo for %s (then privilege auto uses it) or log in as root", tool, vm, iface, tool)
		}
		return fmt.Errorf("%s on %s was refused capturing on %s even with root rights: %s", tool, vm, iface, tcpdumpLine())
	case has("no such device", "siocgifhwaddr", "no suitable device", "no such interface"):
		if !spec.Netns.IsZero() {
			return fmt.Errorf("the container's network namespace on %s (%s) has no interface %q: choose the container's interface (eth0) or any", vm, spec.Netns, iface)
		}
		if len(p.Interfaces) > 0 {
			return fmt.Errorf("%s has no interface %q; it has: %s", vm, iface, strings.Join(p.Interfaces, ", "))
		}
		return fmt.Errorf("%s has no interface %q: set the remote interface in the options dialog", vm, iface)
	case has("that device is not up", "network is down"):
		return fmt.Errorf("interface %s on %s is down: bring it up on the VM or choose another interface", iface, vm)
	case isFilterError(lower):
		return fmt.Errorf("the capture filter does not compile on %s: %s", vm, tcpdumpLine())
	case exit == 0:
		return nil
	case exit < 0:
		if l := oneline.LastLines(all, 1); l != "" {
			return fmt.Errorf("the capture on %s ended without an exit status: %s", vm, l)
		}
		return fmt.Errorf("the capture on %s ended without an exit status (the SSH session was closed)", vm)
	case exit > 128 && exit < 160 && len(lines) == 0:
		return fmt.Errorf("the capture on %s was killed by signal %d", vm, exit-128)
	}
	if l := oneline.LastLines(all, 2); l != "" {
		return fmt.Errorf("the capture on %s failed (exit %d): %s", vm, exit, l)
	}
	return fmt.Errorf("the capture on %s failed (exit %d) without a message", vm, exit)
}

// isFilterError recognises libpcap's compile errors as tcpdump prints them.
func isFilterError(lower string) bool {
	for _, s := range []string{
		"filter expression", "syntax error", "unknown host", "illegal ", "modifier applied",
		"not a valid", "rejects all packets", "unknown port", "unknown protocol", "unknown network",
		"out of range", "bogus", "ambiguous", "unknown ether", "invalid", "not supported for",
	} {
		if strings.Contains(lower, s) {
			return true
		}
	}
	return false
}

func usedSudo(spec CaptureSpec, p probe.Probe) bool {
	s, err := useSudo(spec.Priv, p)
	return err == nil && s
}

// meaningfulLines drops what tcpdump and the wrapper print in every run
// (the wrapper's pid, "listening on", the statistics), keeping the rest.
func meaningfulLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(stderr, "\r", ""), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "",
			strings.HasPrefix(l, "vmdump: wrapper pid"),
			strings.HasPrefix(l, "tcpdump: listening on"),
			strings.HasPrefix(l, "listening on "),
			statReceived.MatchString(l), statDropped.MatchString(l),
			strings.HasSuffix(l, " packets captured"), strings.HasSuffix(l, " packet captured"),
			strings.HasPrefix(l, "tcpdump: verbose output suppressed"):
			continue
		}
		out = append(out, l)
	}
	return out
}

func lastMatching(lines []string, prefix string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			return lines[i]
		}
	}
	return ""
}
