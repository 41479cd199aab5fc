package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vmdump/vmdump/internal/shquote"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// findScript is FindContainer's script: sh -c findScript sh ENGINE
// root|user NAME. It asks one engine about one container (one inspect, by
// name, so a restarted container is found under its new id and PID) and,
// when it runs, visits its namespace with nsHelper. It prints the same
// lines as the inventory (inv.ctr, inv.ctrns, inv.ctrif, inv.ctraddr, the
// VM's inv.nic lines for naming the VM's end of its veth), so that
// ParseInventory's parser reads both; plus inv.fstatus (the inspect's exit
// status) and inv.ferr (its other output: why it failed). The name is an
// argument, never script text. The costs are what a capture can pay every
// second while it waits for the container: the privilege and timeout
// checks, the sysfs loop (shell builtins), one inspect, one readlink, one
// nsenter.
var findScript = `
PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin:/usr/bin:/bin"
export PATH
echo inv.v=1
g=$1
r=$2
c=$3
` + scriptPrivilege + `
` + scriptNICs + `
echo inv.nics.end=1
` + scriptNSHelper + `
h=$(command -v $g 2>/dev/null)
case "$h" in /*) ;; *) echo "inv.ferr=$g: command not found"; echo inv.end=1; exit 0 ;; esac
echo "inv.engine=$g $h"
E=$g
if [ $r = root ] && [ $P = 1 ]; then E="$S $g"; fi
` + scriptTemplate + `
q=$($T $E container inspect -f "$F" -- "$c" </dev/null 2>&1)
echo "inv.fstatus=$?"
printf "%s\n" "$q" | while IFS= read -r l; do case "$l" in [0-9]*) printf "%s\n" "inv.ctr=$g $r $l" ;; *) printf "%s\n" "inv.ferr=$l" ;; esac; done
p=$(printf "%s\n" "$q" | while read -r p l; do case "$p" in [1-9]*) echo "$p" ;; esac; done)
if [ -n "$p" ] && [ $P = 1 ]; then $W $S sh -c "$H" sh "$i" - $p </dev/null 2>/dev/null; elif [ -n "$p" ]; then $W sh -c "$H" sh "$i" U $p </dev/null 2>/dev/null; fi
echo inv.end=1
`

// findOutputMax bounds FindContainer's output: the VM's sysfs lines
// (~150 bytes per interface) and one container's.
const findOutputMax = 1 << 20

// findCommand is the exec string of FindContainer for ref, which
// checkContainerRef accepted.
func findCommand(ref ContainerRef) string {
	as := "root"
	if ref.Rootless {
		as = "user"
	}
	return "exec sh -c " + shquote.Quote(shquote.OneLine(findScript)) + " sh " + ref.Engine + " " + as + " " + shquote.Quote(ref.Name)
}

// checkContainerRef refuses what no engine would call a container before
// it reaches the VM. The name still travels only as a quoted argument
// (after "--", so a leading '-' could not be an option either).
func checkContainerRef(ref ContainerRef) error {
	switch ref.Engine {
	case "docker", "podman", "nerdctl":
	default:
		return fmt.Errorf("container engine %q: vmdump knows docker, podman and nerdctl", ref.Engine)
	}
	n := ref.Name
	if n == "" || len(n) > maxInventoryText || !utf8.ValidString(n) || strings.HasPrefix(n, "-") {
		return fmt.Errorf("container name %q: not a container name", n)
	}
	for _, r := range n {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("container name %q: not a container name", n)
		}
	}
	return nil
}

// FindContainer asks ref's engine in the VM, in one exec on c, whether the
// container called ref.Name runs, and returns it as the inventory would
// (PID, NetNS, HostNetwork, NICs with their addresses and VM peers, ID,
// Image, Compose, Pod, Network). The engine runs as the login user when
// ref.Rootless, else as root (sudo -n when the user has passwordless sudo;
// as the user otherwise, the Docker group's way). A container that does not
// exist, or exists but does not run, is running false and no error (the
// container, when it exists, is returned with its ID); an engine that
// cannot answer is an error. A capture calls this at its start and about
// every second while it waits for a stopped container, hence one round
// trip and a handful of processes in the VM. Without a deadline in ctx it
// allows 15 s.
func FindContainer(ctx context.Context, c *sshconn.Conn, ref ContainerRef) (Container, bool, error) {
	ref.Name = strings.TrimPrefix(ref.Name, "/")
	if err := checkContainerRef(ref); err != nil {
		return Container{}, false, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return Container{}, false, fmt.Errorf("looking for container %s in %s: %w", ref.Name, c.Label(), err)
	}
	run, err := c.RunCommand(ctx, findCommand(ref), findOutputMax)
	if err != nil {
		return Container{}, false, err
	}
	ctr, running, ferr := parseFind(run.Stdout, ref)
	if ferr != nil {
		if why := strings.TrimSpace(firstLine(string(run.Stderr))); why != "" && !strings.Contains(ferr.Error(), why) {
			ferr = fmt.Errorf("%w (%s)", ferr, cleanInventoryText(why))
		}
		return Container{}, false, fmt.Errorf("looking for container %s in %s: %w", ref.Name, c.Label(), ferr)
	}
	return ctr, running, nil
}

// parseFind reads findScript's output for ref. Only a container whose name
// is ref.Name counts: Docker's inspect also takes an id prefix for a name,
// which could be another container.
func parseFind(out []byte, ref ContainerRef) (Container, bool, error) {
	ps := parseInventoryLines(out)
	if !ps.started || !ps.nicsEnded {
		return Container{}, false, errors.New("the VM's shell did not run vmdump's container query")
	}
	nics := ps.nics()
	for _, c := range ps.containerList(nics, func(rawContainer) bool { return ref.Rootless }) {
		if c.Engine == ref.Engine && c.Name == ref.Name {
			if !ps.ended {
				return Container{}, false, errors.New("the container query's output was cut short")
			}
			return c, c.PID > 0, nil
		}
	}
	if !ps.ended {
		return Container{}, false, errors.New("the container query's output was cut short")
	}
	switch {
	case ps.findStatus == "0":
		return Container{}, false, nil // listed, but as something else
	case strings.Contains(strings.ToLower(ps.findErr), "no such"):
		// docker "No such container: x" (20.10; 28: "Error response
		// from daemon: No such container: x"), podman "no such
		// container", nerdctl "no such container".
		return Container{}, false, nil
	case ps.findErr != "":
		return Container{}, false, fmt.Errorf("%s: %s", ref.Engine, ps.findErr)
	case ps.findStatus != "":
		return Container{}, false, fmt.Errorf("%s container inspect: exit status %s", ref.Engine, ps.findStatus)
	}
	return Container{}, false, fmt.Errorf("%s: no answer", ref.Engine)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
