package remotecap

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// Netns names a container's network namespace on the VM: a process in it
// (PID, as the VM's /proc numbers it) and that process's /proc/PID/ns/net
// link as read when the container was found ("net:[4026532198]"). The link
// guards against a PID that was reused: the capture starts only while
// /proc/PID/ns/net still reads Link, and ends (ErrNetnsGone) once it does
// not. The zero value is the VM's own namespace.
type Netns struct {
	PID  int
	Link string
}

// IsZero reports whether n is the VM's own namespace (no container).
func (n Netns) IsZero() bool { return n == Netns{} }

// String is "net:[N] of process PID", for messages.
func (n Netns) String() string {
	if n.IsZero() {
		return "the VM's network namespace"
	}
	return n.Link + " of process " + strconv.Itoa(n.PID)
}

var netnsLink = regexp.MustCompile(`^net:\[[0-9]{1,20}\]$`)

// check refuses a Netns that cannot be one, before anything runs on the VM.
func (n Netns) check() error {
	if n.IsZero() {
		return nil
	}
	if n.PID <= 0 || n.PID > 1<<22 {
		return fmt.Errorf("container network namespace: %d is not a process id: choose the container again", n.PID)
	}
	if !netnsLink.MatchString(n.Link) {
		return fmt.Errorf("container network namespace: %q is not a namespace link like net:[4026532198]: choose the container again", sshconn.ClipValue(n.Link))
	}
	return nil
}

// ErrNetnsGone: the container's network namespace is gone (the container
// stopped or restarted), before or during the capture.
var ErrNetnsGone = errors.New("the container's network namespace is gone")

// netnsGoneStatus is the wrapper's exit status when the namespace is gone
// (EX_TEMPFAIL: tcpdump never exits with it).
const netnsGoneStatus = 75

// netnsGoneLine is in the message of the wrapper ("vmdump: netns gone:
// ...") and of the agent ("vmdump-agent: netns gone: ...") for
// netnsGoneStatus.
const netnsGoneLine = "netns gone: "

// nsenterMissingLine is the wrapper's message when the VM has no nsenter.
const nsenterMissingLine = "vmdump: nsenter: not found"

// netnsError classifies the netns wrapper's own failures; nil for others.
func netnsError(lower string, exit int, vm string, spec CaptureSpec) error {
	if spec.Netns.IsZero() {
		return nil
	}
	switch {
	case exit == netnsGoneStatus && strings.Contains(lower, netnsGoneLine):
		return fmt.Errorf("%w on %s (%s; the container stopped or restarted): start the capture again to follow the container", ErrNetnsGone, vm, spec.Netns)
	case strings.Contains(lower, nsenterMissingLine):
		return fmt.Errorf("%s has no nsenter to capture inside the container's network namespace: install util-linux there, or choose Capture program: agent", vm)
	case strings.Contains(lower, "vmdump: cannot read the network namespace"):
		return fmt.Errorf("the login user may not read the container's network namespace on %s: set privilege to auto or sudo (passwordless sudo) or log in as root", vm)
	}
	return nil
}

// netnsCheck goes after the wrapper's first lines: the namespace must
// still be the one that was found ($6 the PID, $7 the link), else the
// wrapper ends with netnsGoneStatus before it creates anything. A process
// the login user may not inspect (not root: readlink fails though /proc/PID
// exists) is a privilege problem, not a gone namespace.
const netnsCheck = `g=$(readlink "/proc/$6/ns/net" 2>/dev/null)
if [ -z "$g" ] && [ -d "/proc/$6" ] && [ "$(id -u)" != 0 ]; then echo "vmdump: cannot read the network namespace of process $6 as uid $(id -u)" >&2; exit 126; fi
if [ "$g" != "$7" ]; then echo "vmdump: netns gone: process $6 is no longer in $7" >&2; exit 75; fi
`

// nsenterCheck follows netnsCheck for tcpdump (the agent joins the
// namespace by itself).
const nsenterCheck = `command -v nsenter >/dev/null 2>&1 || { echo "vmdump: nsenter: not found" >&2; exit 127; }
`

// netnsWatch is a helper like the watchdog, forked before the wrapper's
// trap for the same reason: every second it reads /proc/$6/ns/net, and
// when that is no longer $7 (the container's process ended; tcpdump's own
// reference keeps the namespace and its interfaces alive, so tcpdump would
// capture a dead namespace forever) it ends the capture. Its sleep is
// killed by its TERM trap like the watchdog's.
const netnsWatch = `(trap "kill \$y 2>/dev/null; exit 0" TERM; while :; do sleep 1 & y=$!; wait $y; if [ "$(readlink "/proc/$6/ns/net" 2>/dev/null)" != "$7" ]; then kill $p 2>/dev/null; exit 0; fi; done) </dev/null >/dev/null 2>&1 3<&- &
n=$!
`

// netnsGoneAfter runs once the capture has ended: whether the watcher
// ended it or the capture failed because its interface vanished with the
// container, a namespace that is gone makes the wrapper's status
// netnsGoneStatus.
const netnsGoneAfter = `if [ "$(readlink "/proc/$6/ns/net" 2>/dev/null)" != "$7" ]; then echo "vmdump: netns gone: process $6 left $7" >&2; s=75; fi
`

// withNetns turns the wrapper script (CaptureScript with its capture
// invocation in place) into the netns wrapper: the namespace checked before
// the start and watched during the capture. nsenter adds the nsenter
// check. The positional arguments $6 and $7 are the PID and the link.
func withNetns(script string, nsenter bool) (string, error) {
	pre := netnsCheck
	if nsenter {
		pre += nsenterCheck
	}
	out, ok := insertBefore(script, "d=$(mktemp", pre)
	if ok {
		out, ok = insertAfter(out, "w=$!\n", netnsWatch)
	}
	if ok {
		out, ok = insertBefore(out, "kill $r $w 2>/dev/null", netnsGoneAfter)
	}
	if ok {
		out, ok = replaceOnce(out, "kill $r $w 2>/dev/null", "kill $r $w $n 2>/dev/null")
	}
	if !ok {
		return "", fmt.Errorf("internal error: the capture wrapper lacks an anchor for the network namespace")
	}
	return out, nil
}

func insertBefore(s, anchor, add string) (string, bool) {
	i := strings.Index(s, anchor)
	if i < 0 {
		return s, false
	}
	return s[:i] + add + s[i:], true
}

func insertAfter(s, anchor, add string) (string, bool) {
	i := strings.Index(s, anchor)
	if i < 0 {
		return s, false
	}
	i += len(anchor)
	return s[:i] + add + s[i:], true
}

func replaceOnce(s, old, new string) (string, bool) {
	if !strings.Contains(s, old) {
		return s, false
	}
	return strings.Replace(s, old, new, 1), true
}

// netnsArgs appends the namespace's arguments: $5 is always present in
// netns mode (the filter or agent program, "" for none), then $6 the PID
// and $7 the link.
func netnsArgs(args []string, n Netns) []string {
	if len(args) == 4 {
		args = append(args, "")
	}
	return append(args, strconv.Itoa(n.PID), n.Link)
}

// where names a spec's interface for messages: "eth0", or "eth0 in net:[N]
// of process PID".
func (s CaptureSpec) where() string {
	if s.Netns.IsZero() {
		return s.Interface
	}
	return s.Interface + " in " + s.Netns.String()
}
