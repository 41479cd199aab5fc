package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vmdump/vmdump/internal/lab"
)

// Hostile container names (issues 5 and 14). Real Docker refuses names
// holding quotes, $( ), spaces or newlines, so only a hostile VM can
// offer them: the lab VM's docker is a fake one (lab.Options.FakeDocker)
// that answers vmdump's inventory (docker info, ps -q, inspect -f
// TEMPLATE ids...) and FindContainer (docker container inspect -f TEMPLATE
// -- NAME) with lines in exactly the form of the real template (tmplDocker:
// Go-quoted fields), for containers whose names try to run `touch m`. Each
// container's process is a real one, a sleep in the lab's container
// namespace c1, so a capture of it can really run. The lab shares this
// machine's file system: m appearing means a command ran somewhere.

// hostileContainerNames are the names, built around the marker m. Docker
// puts a "/" before a name in its inspect output; the fake engine does too.
// The variants without blanks get past vmdump's own check of a name that
// reaches the VM again (FindContainer): they test its quoting there.
var hostileContainerNames = []struct {
	name  string
	value func(m string) string
}{
	{"single-quote", func(m string) string { return "x'; touch " + m + "; echo '" }},
	{"single-quote-noblank", func(m string) string { return "x';touch${IFS}" + m + ";echo'" }},
	{"subst", func(m string) string { return "$(touch " + m + ")" }},
	{"subst-noblank", func(m string) string { return "$(touch${IFS}" + m + ")" }},
	{"backticks", func(m string) string { return "`touch " + m + "`" }},
	{"backticks-noblank", func(m string) string { return "`touch${IFS}" + m + "`" }},
	{"semicolon", func(m string) string { return "; touch " + m }},
	{"semicolon-noblank", func(m string) string { return "x;touch${IFS}" + m }},
	{"pipe-noblank", func(m string) string { return "x|touch${IFS}" + m }},
	{"newline", func(m string) string { return "n\ntouch " + m }},
	{"long-255", func(m string) string {
		tail := "$(touch${IFS}" + m + ")"
		return strings.Repeat("l", 255-len(tail)) + tail
	}},
	{"dash-w", func(m string) string { return "-w " + m }},
	{"dash-w-noblank", func(m string) string { return "-w" + m }},
	{"nul", func(m string) string { return "z\x00touch " + m }},
	{"invalid-utf8", func(m string) string { return "u\xff\xfe$(touch${IFS}" + m + ")" }},
	{"braces", func(m string) string { return "b}{value=x}{display=$(touch${IFS}" + m + ")}" }},
}

// fakeDockerScript is the VM's docker: as root (sudo) it answers from the
// files in $D, as the user it is refused the socket, as on a VM where the
// user is not in the docker group. Names are compared as bytes (cmp), never
// evaluated.
const fakeDockerScript = `#!/bin/sh
D=@DIR@
if [ "$(id -u)" != 0 ]; then echo "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock" >&2; exit 1; fi
case "$1" in
info) echo "[name=seccomp,profile=default name=cgroupns]"; exit 0 ;;
ps) cat "$D/ids"; exit 0 ;;
inspect)
shift
if [ "$1" = -f ]; then shift 2; fi
s=0
for id do case "$id" in *[!0-9a-f]*) echo "Error: No such object: $id" >&2; s=1 ;; *) if [ -f "$D/$id.line" ]; then cat "$D/$id.line"; else echo "Error: No such object: $id" >&2; s=1; fi ;; esac; done
exit $s ;;
container)
if [ "$2" != inspect ]; then exit 1; fi
shift 2
if [ "$1" = -f ]; then shift 2; fi
if [ "$1" = -- ]; then shift; fi
for f in "$D"/*.name "$D"/*.asked; do
if [ -f "$f" ] && printf "%s" "$1" | cmp -s - "$f"; then id=${f##*/}; id=${id%.*}; cat "$D/$id.line"; exit 0; fi
done
echo "Error response from daemon: No such container: $1"
exit 1 ;;
esac
echo "docker: unknown command $1" >&2
exit 1
`

// hostileContainer is one fake container: its name, marker, id and the
// sleep standing in for its process.
type hostileContainer struct {
	name, value, marker, id string
	sleep                   *exec.Cmd
}

// TestReliabilityHostileContainer: a hostile VM's container names never
// run a command: `vmdump list --check`, --extcap-interfaces and `tshark -D`
// exit 0 and list them as clean lines, and a capture of each listed
// container interface is refused in one line or runs with the name quoted;
// nothing is left running.
func TestReliabilityHostileContainer(t *testing.T) {
	t.Parallel()
	needTshark(t)
	dir := markerDir(t)
	data, err := os.MkdirTemp("", "vmdump-fakedocker-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(data, "docker")
	if err := os.WriteFile(fake, []byte(strings.Replace(fakeDockerScript, "@DIR@", shq(data), 1)), 0o755); err != nil {
		t.Fatal(err)
	}
	l := lab.Start(t, lab.Options{FakeDocker: fake})

	var ctrs []*hostileContainer
	var ids []string
	for i, hn := range hostileContainerNames {
		m := filepath.Join(dir, fmt.Sprintf("c%02d", i))
		sum := sha256.Sum256([]byte(fmt.Sprintf("vmdump-hostile-%d-%d", os.Getpid(), i)))
		c := &hostileContainer{name: hn.name, value: hn.value(m), marker: m, id: hex.EncodeToString(sum[:])}
		c.sleep = exec.Command("ip", "netns", "exec", l.ContainerNS(1), "sleep", "600")
		if err := c.sleep.Start(); err != nil {
			t.Fatal(err)
		}
		sleep := c.sleep
		t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
		ctrs = append(ctrs, c)
		ids = append(ids, c.id)
	}
	// `ip netns exec` execs sleep in place once it has entered the
	// namespace: wait for that, then describe each container.
	for _, c := range ctrs {
		pid := c.sleep.Process.Pid
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, _, comm, _ := procStat(pid)
			if comm == "sleep" && netnsOf(pid) != netnsOf(os.Getpid()) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the stand-in process %d of %s did not become a sleep in %s", pid, c.name, l.ContainerNS(1))
			}
			time.Sleep(5 * time.Millisecond)
		}
		// The template's fields: PID, name, id, image, compose project and
		// service, pod namespace and name, network mode, then addresses.
		line := fmt.Sprintf("%d %s %s %s \"\" \"\" \"\" \"\" %s %s/24 /0\n", pid,
			strconv.Quote("/"+c.value), strconv.Quote(c.id), strconv.Quote("vmdump-hostile:latest"), strconv.Quote("bridge"), l.ContainerAddr(1))
		writeShared(t, filepath.Join(data, c.id+".line"), line)
		writeShared(t, filepath.Join(data, c.id+".name"), c.value)
		// vmdump asks again by the name as it lists it (cleaned): this
		// engine answers that too, so that the capture gets this far.
		if clean := cleanName(c.value); clean != c.value {
			writeShared(t, filepath.Join(data, c.id+".asked"), clean)
		}
	}
	writeShared(t, filepath.Join(data, "ids"), strings.Join(ids, "\n")+"\n")

	u := newUser(t, l)
	for range hostileContainerNames {
		hostileTally.tried.Add(1)
	}
	defer func() {
		// A command could still be on its way: look once nothing of
		// vmdump's runs in the VM any more, then count the markers.
		if _, left := awaitVMClean(l, time.Now(), 30*time.Second); len(left) > 0 {
			t.Errorf("still running in the VM 30s after the hostile containers: %v", left)
		}
		for _, c := range ctrs {
			if _, err := os.Stat(c.marker); err == nil {
				hostileTally.bad.Add(1)
				t.Errorf("EXECUTED: container name %s (%q) left its marker", c.name, c.value)
			}
		}
	}()

	// The inventory: vmdump's first connection.
	stdout, stderr, code := u.vmdumpRun(t, 60*time.Second, "list", "--check")
	checkNoPanic(t, stdout+stderr)
	t.Logf("vmdump list --check: exit %d\n%s%s", code, stdout, stderr)
	if code != 0 {
		t.Fatalf("vmdump list --check: exit %d", code)
	}
	checkCleanLines(t, "vmdump list --check", stdout)
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "touch ") {
			t.Errorf("a container name's newline broke vmdump list --check's output: line %q", line)
		}
	}

	// Wireshark's listing.
	stdout, stderr, code = u.vmdumpRun(t, 30*time.Second, "--extcap-interfaces")
	checkNoPanic(t, stdout+stderr)
	if code != 0 || !strings.HasPrefix(stdout, "extcap {version=") {
		t.Fatalf("--extcap-interfaces: exit %d, stdout %q, stderr %q", code, shorten(stdout, 500), shorten(stderr, 500))
	}
	extcapLine := regexp.MustCompile(`^interface \{value=([^{}\n]*)\}\{display=([^{}\n]*)\}$`)
	var ctrIfaces []string
	display := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		if !strings.HasPrefix(line, "interface ") {
			continue
		}
		m := extcapLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("--extcap-interfaces line is not one clean interface {value=…}{display=…}: %q", line)
			continue
		}
		checkCleanLines(t, "interface display", m[2])
		if strings.HasPrefix(m[1], u.vmID+"__c__") {
			ctrIfaces = append(ctrIfaces, m[1])
			display[m[1]] = m[2]
		}
	}
	t.Logf("%d container interfaces listed for %d hostile containers", len(ctrIfaces), len(ctrs))
	for _, id := range ctrIfaces {
		t.Logf("  %s: %s", id, display[id])
	}
	// Each container is listed: its display names it (as cleaned: without
	// what is not printable), up to Wireshark's length.
	for _, c := range ctrs {
		found := false
		// Braces would end extcap's {display=…}: vmdump shows them as
		// parentheses.
		want := "container " + strings.NewReplacer("{", "(", "}", ")").Replace(cleanName(c.value))
		for _, id := range ctrIfaces {
			if strings.Contains(display[id], prefixOf(want, 60)) {
				found = true
			}
		}
		if !found {
			t.Errorf("container %s (%q) is not listed (want a display with %q)", c.name, c.value, want)
		}
	}
	if len(ctrIfaces) != len(ctrs) {
		t.Errorf("%d container interfaces listed, want %d", len(ctrIfaces), len(ctrs))
	}

	// tshark -D: each line one numbered interface.
	out := output("tshark", u.env, "-D")
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.HasPrefix(line, "Running as user ") { // tshark's warning to root, on stderr
			continue
		}
		if !regexp.MustCompile(`^\d+\. \S+( \(.*\))?$`).MatchString(line) {
			t.Errorf("tshark -D line is not one interface: %q", line)
		}
	}
	if n := strings.Count(out, u.vmID+"__c__"); n != len(ctrIfaces) {
		t.Errorf("tshark -D lists %d container interfaces, --extcap-interfaces %d:\n%s", n, len(ctrIfaces), out)
	}

	// A capture of each: refused in one line, or run with the name quoted.
	var mu sync.Mutex
	outcomes := map[string]string{}
	t.Run("capture", func(t *testing.T) {
		for _, id := range ctrIfaces {
			t.Run(strings.TrimPrefix(id, u.vmID+"__c__"), func(t *testing.T) {
				t.Parallel()
				cu := *u.on(id)
				cu.t = t
				logFile := filepath.Join(t.TempDir(), "vmdump.log")
				d := cu.startDirect(t, "--extcap-capture-filter", quietFilter, "--log-level", "debug", "--log-file", logFile)
				judgeHostileRun(t, d, logFile)
				log, _ := os.ReadFile(logFile)
				what := "refused: " + shorten(strings.TrimSpace(d.stderr.String()), 200)
				if strings.Contains(string(log), "remote capture started") {
					what = "ran"
					// It ran on the fake container's process, inside
					// its namespace.
					ok := false
					for _, c := range ctrs {
						ok = ok || strings.Contains(string(log), "pid="+strconv.Itoa(c.sleep.Process.Pid)+" ")
					}
					if !strings.Contains(string(log), "capturing container") || !ok {
						t.Errorf("the capture ran, but not on a hostile container's process; log:\n%s", shorten(string(log), 3000))
					}
				}
				mu.Lock()
				outcomes[id] = what
				mu.Unlock()
			})
		}
	})
	for _, id := range ctrIfaces {
		t.Logf("%s: %s", display[id], outcomes[id])
	}
	// Nothing of the captures runs in the containers' namespace (nsenter
	// put tcpdump there, outside the VM's).
	ours := map[int]bool{}
	for _, c := range ctrs {
		ours[c.sleep.Process.Pid] = true
	}
	ctrNS := netnsOf(ctrs[0].sleep.Process.Pid)
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; {
		left = nil
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || ours[pid] || zombie(pid) || netnsOf(pid) != ctrNS {
				continue
			}
			_, _, comm, _ := procStat(pid)
			if comm == "tcpdump" || comm == "nsenter" || comm == "sh" || comm == "sleep" || comm == "sudo" {
				left = append(left, fmt.Sprintf("%d %s", pid, comm))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("left running in the containers' namespace: %v", left)
	}
	// Each sleep must still be the fake containers' process: nothing
	// killed it or ran in its place.
	for _, c := range ctrs {
		if exited(c.sleep.Process.Pid) {
			t.Errorf("the process of container %s ended under the captures", c.name)
		}
		c.sleep.Process.Signal(syscall.SIGKILL)
	}
}

// cleanName is a container name as vmdump shows it: printable runes only,
// trimmed (see probe's cleanInventoryText).
func cleanName(s string) string {
	s = strings.ToValidUTF8(s, "")
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r != 0x7f {
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// prefixOf is s cut to at most n bytes, at a rune's start.
func prefixOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// checkCleanLines fails t when s holds a NUL or a carriage return, or is
// not valid UTF-8.
func checkCleanLines(t *testing.T, what, s string) {
	t.Helper()
	if strings.ContainsAny(s, "\x00\r") || !utf8.ValidString(s) {
		t.Errorf("%s is not clean text: %q", what, shorten(s, 500))
	}
}

// writeShared writes a file anyone may read (the fake docker reads it as
// root, but through the lab's mount namespace).
func writeShared(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shq quotes s as one sh word.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
