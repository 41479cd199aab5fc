package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/ctrlab"
)

// The container tests (issue 14) capture real containers of this machine's
// Docker engine (and a rootless Podman one), which internal/ctrlab starts;
// the machine itself is the "Docker VM", reached through an sshd on
// 127.0.0.1 (lab.Host) as the VM [[vm]] "rig" of the user's config.
// vmdump lists each running container of a VM as an interface whose
// display text reads "<vm>: container <name> (<image>[, compose p/s]…)".

// rigUser is a Wireshark user whose vmdump config names the rig's host as
// the VM "rig". Its lab is nil: the capture helpers here look at the
// host's sshd sessions instead.
// rigMu lets one container rig run at a time. Every rig's containers run
// on this machine's one Docker engine, so each rig's VM sees them all, and
// a VM running more than 24 containers lists none of them one by one (see
// README: Many containers); one rig has 6 to 7. The tests that build a rig
// are therefore not parallel (they run one after another, before the
// parallel tests): a parallel test waiting here would hold one of
// -test.parallel's slots, and a rig's parallel subtests could wait for a
// slot forever. The lock guards the rule.
var rigMu sync.Mutex

// startRig is ctrlab.Start once no other rig of this package runs; the
// next may start when this test's rig is gone.
func startRig(t *testing.T, opt ctrlab.Options) *ctrlab.Rig {
	t.Helper()
	rigMu.Lock()
	t.Cleanup(rigMu.Unlock) // runs after the rig's own Close (cleanups run last-in first-out)
	return ctrlab.Start(t, opt)
}

func rigUser(t *testing.T, r *ctrlab.Rig) *user {
	t.Helper()
	needTshark(t)
	home := t.TempDir()
	u := &user{t: t, home: home}
	u.env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if out, err := u.vmdump("install"); err != nil {
		t.Fatalf("vmdump install: %v\n%s", err, out)
	}
	h := r.Host
	writeFile(t, filepath.Join(home, ".config", "vmdump", "config.toml"), fmt.Sprintf(
		"[[vm]]\nname = \"rig\"\nhost = %q\nport = %d\nuser = %q\nkey = %q\ninterface = \"docker0\"\n",
		h.Addr, h.Port, h.User, h.KeyFile))
	writeFile(t, filepath.Join(home, ".ssh", "known_hosts"), h.KnownHostsLine()+"\n")
	u.vmID = u.idOf("config", "rig")
	// Wireshark's listing never touches the network: containers are listed
	// from the inventory vmdump cached at its last connection to the VM (a
	// capture, the dialog's Reload, or this).
	if out, err := u.vmdump("list", "--check"); err != nil {
		t.Fatalf("vmdump list --check: %v\n%s", err, out)
	}
	return u
}

// tsharkInterfaces is `tshark -D`: display text by interface name.
func tsharkInterfaces(t *testing.T, u *user) (map[string]string, string) {
	t.Helper()
	out := output("tshark", u.env, "-D")
	ifaces := map[string]string{}
	line := regexp.MustCompile(`^\d+\. (\S+) \((.*)\)$`)
	for _, l := range strings.Split(out, "\n") {
		if m := line.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			ifaces[m[1]] = m[2]
		}
	}
	return ifaces, out
}

// containerInterface finds the interface of container name of VM "rig" in
// `tshark -D`, or fails.
func containerInterface(t *testing.T, u *user, name string) (id, display string) {
	t.Helper()
	ifaces, out := tsharkInterfaces(t, u)
	want := "rig: container " + name + " ("
	for id, d := range ifaces {
		if strings.Contains(d, want) {
			return id, d
		}
	}
	t.Fatalf("tshark -D has no interface for container %s (%q):\n%s", name, want, out)
	return "", ""
}

// on is the user capturing interface id instead of the VM's.
func (u *user) on(id string) *user {
	c := *u
	c.vmID = id
	return &c
}

// netnsOf is the network namespace of pid, "net:[4026532198]".
func netnsOf(pid int) string {
	s, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	return s
}

// rigCaptures lists the tcpdumps below the rig's sshd that run in the
// network namespace of pid (the container's) and have opened their
// capture socket.
func rigCaptures(r *ctrlab.Rig, pid int) []int {
	want := netnsOf(pid)
	var found []int
	for _, p := range r.Host.Sessions() {
		argv := strings.Fields(p.Cmdline)
		if len(argv) == 0 || filepath.Base(argv[0]) != "tcpdump" || want == "" || netnsOf(p.Pid) != want {
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid))
		for _, fd := range fds {
			if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.Pid, fd.Name())); err == nil && strings.HasPrefix(link, "socket:") {
				found = append(found, p.Pid)
				break
			}
		}
	}
	return found
}

// waitContainerCapture waits until vmdump's tcpdump captures inside the
// container's network namespace (through the rig's sshd), then gives it a
// moment to attach its filter. It returns what the capture runs below
// sshd, for the orphan check.
func waitContainerCapture(t *testing.T, r *ctrlab.Rig, c *ctrlab.Container, ts *tshark) []int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if len(rigCaptures(r, c.Pid)) > 0 {
			time.Sleep(300 * time.Millisecond)
			var pids []int
			for _, p := range r.Host.Sessions() {
				pids = append(pids, p.Pid)
			}
			return pids
		}
		select {
		case <-ts.done:
			t.Fatalf("tshark ended before the capture of %s started; stderr:\n%s", c.Name, ts.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no tcpdump started in %s's network namespace within 30s; sshd sessions: %v; tshark stderr:\n%s",
		c.Name, r.Host.Sessions(), ts.stderr.String())
	return nil
}

// assertRigNoOrphans fails if, 2 s after a capture stopped, anything of it
// still runs: a process seen below the rig's sshd during the capture
// (seen), anything still below sshd, or a tcpdump, nsenter or shell
// wrapper anywhere in the network namespace of one of the rig's
// containers (an orphan is no longer below sshd).
func assertRigNoOrphans(t *testing.T, r *ctrlab.Rig, seen []int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := rigLeftovers(r, seen)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left running 2s after the capture stopped:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func rigLeftovers(r *ctrlab.Rig, seen []int) []string {
	var left []string
	found := map[int]bool{}
	add := func(pid int, why string) {
		if found[pid] {
			return
		}
		found[pid] = true
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			return // gone meanwhile
		}
		left = append(left, fmt.Sprintf("%d %s (%s)", pid, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " "), why))
	}
	for _, pid := range seen {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil && !zombie(pid) {
			add(pid, "ran below sshd during the capture")
		}
	}
	for _, p := range r.Host.Sessions() {
		if !zombie(p.Pid) {
			add(p.Pid, "below the rig's sshd")
		}
	}
	netns := map[string]string{}
	for _, c := range r.Containers() {
		if !c.HostNetwork() {
			if ns := netnsOf(c.Pid); ns != "" {
				netns[ns] = c.Name
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, ok := netns[netnsOf(pid)]
		if !ok {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		s := string(cmd)
		if strings.Contains(s, "tcpdump") || strings.Contains(s, "nsenter") || strings.HasPrefix(s, "sh\x00") || strings.Contains(s, "/sh\x00") {
			add(pid, "in "+name+"'s network namespace")
		}
	}
	sort.Strings(left)
	return left
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// TestContainersRigTraffic checks the rig, not vmdump: each container's
// traffic, captured by the test's own tcpdump inside its network
// namespace, matches what the capture tests below look for, and none of
// what they must not find. It passes before vmdump knows containers, so
// that their failures are vmdump's.
func TestContainersRigTraffic(t *testing.T) {
	needTshark(t)
	r := startRig(t, ctrlab.Options{})
	for _, tc := range rigCases(r) {
		t.Run(tc.c.Role, func(t *testing.T) {
			t.Parallel()
			file := localCapture(t, tc.c.Pid, 4*time.Second)
			if got := count(t, file, tc.mine); got < 5 {
				t.Errorf("%s: %d packets matching %q, want at least 5 (of %d)", tc.c.Name, got, tc.mine, count(t, file, ""))
			}
			if tc.foreign != "" {
				if got := count(t, file, tc.foreign); got != 0 {
					t.Errorf("%s: %d packets matching %q, want none", tc.c.Name, got, tc.foreign)
				}
			}
		})
	}
}

// TestContainersRigVM checks the rig as vmdump's VM: the VM "rig" itself
// (interface docker0 of the machine, through the rig's sshd and sudo)
// captures the default bridge's traffic, and nothing is left running.
func TestContainersRigVM(t *testing.T) {
	r := startRig(t, ctrlab.Options{})
	u := rigUser(t, r)
	ts := u.startTshark("-a", "duration:4")
	seen := waitContainerCapture(t, r, r.HostNet, ts) // the VM's tcpdump runs in the root namespace
	ts.wait(t, 40*time.Second)
	assertRigNoOrphans(t, r, seen)
	// The VM's default capture keeps TCP payload only: br's TCP messages.
	f := "ip.src == " + r.Bridge.Addr + " && tcp.len > 0 && " + tagged(r, "br")
	if got := count(t, ts.out, f); got < 5 {
		t.Fatalf("%d packets matching %q on the VM's docker0, want at least 5; stderr:\n%s", got, f, ts.stderr.String())
	}
}

// localCapture runs tcpdump -i any inside pid's network namespace for d
// and returns the file.
func localCapture(t *testing.T, pid int, d time.Duration) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "local.pcap")
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "tcpdump", "-n", "-U", "-i", "any", "-w", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("tcpdump in %d did not stop on SIGINT: %s", pid, stderr.String())
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("tcpdump in %d wrote nothing: %s", pid, stderr.String())
	}
	return file
}

// TestContainersListed (issue 14): `tshark -D` lists every container of
// the VM by name, whatever its network: default bridge, user-defined
// network, host network, none (with a veth of the test's), and both
// services of a compose project.
func TestContainersListed(t *testing.T) {
	r := startRig(t, ctrlab.Options{})
	u := rigUser(t, r)
	_, out := tsharkInterfaces(t, u)
	for _, c := range []*ctrlab.Container{r.Bridge, r.UserNet, r.HostNet, r.None, r.Web, r.DB} {
		if !strings.Contains(out, "rig: container "+c.Name+" (") {
			t.Errorf("tshark -D does not list container %s (%s):\n%s", c.Name, c.Role, out)
		}
	}
}

// containerCase is what a capture of one container must hold (mine) and
// must not (foreign: traffic that never passes its namespace).
type containerCase struct {
	c             *ctrlab.Container
	mine, foreign string
}

func rigCases(r *ctrlab.Rig) []containerCase {
	echo := strconv.Itoa(r.EchoPort)
	return []containerCase{
		{r.Bridge, "ip.src == " + r.Bridge.Addr + " && (udp.dstport == " + echo + " || tcp.dstport == " + echo + ") && " + tagged(r, "br"), tagged(r, "un", "nv", "pod")}, // host sends to br too
		{r.UserNet, "ip.src == " + r.UserNet.Addr + " && (udp.dstport == " + echo + " || tcp.dstport == " + echo + ") && " + tagged(r, "un"), tagged(r, "br", "nv", "host", "pod")},
		{r.HostNet, "(udp.dstport == " + echo + " || tcp.dstport == " + echo + ") && " + tagged(r, "host"), ""},
		{r.None, "ip.src == " + r.VethCtrAddr + " && ip.dst == " + r.VethHostAddr + " && " + tagged(r, "nv"), tagged(r, "br", "un", "host", "pod")},
		{r.Web, "ip.src == " + r.Web.Addr + " && ip.dst == " + r.DB.Addr + " && tcp.srcport == 80 && http.response", tagged(r, "br", "un", "nv", "host", "pod")},
		{r.DB, "ip.src == " + r.DB.Addr + " && ip.dst == " + r.Web.Addr + " && http.request", tagged(r, "br", "un", "nv", "host", "pod")},
	}
}

// tagged is a display filter for the messages (UDP or TCP) of the rig's
// containers in these roles, or of their echoes: each is tagged with its
// sender's name.
func tagged(r *ctrlab.Rig, roles ...string) string {
	var f []string
	for _, role := range roles {
		f = append(f, `frame contains "vmdump-ctrapp `+r.Prefix+role+` "`)
	}
	return "(" + strings.Join(f, " || ") + ")"
}

// captureContainer captures container c through its interface for 6 s and
// checks the file: at least 5 of its own packets (it makes 10 messages a
// second, each a datagram and a TCP segment, and their echoes; db 5
// requests), none that never pass its namespace, and nothing left running.
func captureContainer(t *testing.T, r *ctrlab.Rig, u *user, tc containerCase) {
	id, display := containerInterface(t, u, tc.c.Name)
	t.Logf("%s: %s (%s)", tc.c.Role, id, display)
	ts := u.on(id).startTshark("-a", "duration:6")
	seen := waitContainerCapture(t, r, tc.c, ts)
	ts.wait(t, 40*time.Second)
	assertRigNoOrphans(t, r, seen)
	if ts.err != nil {
		t.Fatalf("tshark: %v; stderr:\n%s", ts.err, ts.stderr.String())
	}
	if got := count(t, ts.out, tc.mine); got < 5 {
		t.Errorf("%s: %d packets matching %q, want at least 5 (of %d in all); stderr:\n%s",
			tc.c.Name, got, tc.mine, count(t, ts.out, ""), ts.stderr.String())
	}
	if tc.foreign != "" {
		if got := count(t, ts.out, tc.foreign); got != 0 {
			t.Errorf("%s: %d packets of other containers (%q): the capture is not inside its namespace", tc.c.Name, got, tc.foreign)
		}
	}
}

// TestContainersCapture (issue 14): each container captured through its
// own interface of `tshark -D` gives a file with its traffic, and only the
// traffic of its network namespace.
func TestContainersCapture(t *testing.T) {
	r := startRig(t, ctrlab.Options{})
	u := rigUser(t, r)
	for _, tc := range rigCases(r) {
		t.Run(tc.c.Role, func(t *testing.T) {
			captureContainer(t, r, u, tc)
		})
	}
}

// TestContainersNameResolution (issue 14): the web ↔ db HTTP traffic of
// the compose project, read with `tshark -N n`, shows the containers'
// names (from the file's name resolution blocks) instead of their
// addresses.
func TestContainersNameResolution(t *testing.T) {
	r := startRig(t, ctrlab.Options{})
	u := rigUser(t, r)
	id, _ := containerInterface(t, u, r.DB.Name)
	ts := u.on(id).startTshark("-a", "duration:5")
	seen := waitContainerCapture(t, r, r.DB, ts)
	ts.wait(t, 40*time.Second)
	assertRigNoOrphans(t, r, seen)

	fields := []string{"-T", "fields", "-E", "separator=|", "-e", "ip.src_host", "-e", "ip.dst_host", "-Y", "http"}
	plain := strings.Fields(read(t, ts.out, fields...))
	if len(plain) < 5 {
		t.Fatalf("%d HTTP packets between db and web, want at least 5; stderr:\n%s", len(plain), ts.stderr.String())
	}
	named := read(t, ts.out, append([]string{"-N", "n"}, fields...)...)
	web := regexp.MustCompile(`^(web|` + regexp.QuoteMeta(r.Web.Name) + `|[^|]*\bweb\b[^|]*)$`)
	db := regexp.MustCompile(`^(db|` + regexp.QuoteMeta(r.DB.Name) + `|[^|]*\bdb\b[^|]*)$`)
	for _, line := range strings.Fields(named) {
		src, dst, _ := strings.Cut(line, "|")
		if !(web.MatchString(src) && db.MatchString(dst)) && !(db.MatchString(src) && web.MatchString(dst)) {
			t.Fatalf("tshark -N n shows %q, want the names of web and db (not %s, %s); all:\n%s",
				line, r.Web.Addr, r.DB.Addr, named)
		}
	}
	// The summary line a person reads names them too.
	summary := read(t, ts.out, "-N", "n", "-Y", "http")
	if strings.Contains(summary, r.Web.Addr+" ") || strings.Contains(summary, r.DB.Addr+" ") {
		t.Errorf("tshark -N n summary still shows addresses:\n%s", summary)
	}
}

// TestContainersRestart (issue 14): a capture of a container follows it
// through `docker restart` (same container, new processes and namespace)
// and through `docker rm -f` + `docker run` under the same name (a new
// container): the file has its packets after each, in a new interface
// block each time whose description says "restarted"; after the stop
// nothing of the capture is left running.
func TestContainersRestart(t *testing.T) {
	r := startRig(t, ctrlab.Options{})
	u := rigUser(t, r)
	id, _ := containerInterface(t, u, r.Bridge.Name)
	ts := u.on(id).startTshark()
	seen := waitContainerCapture(t, r, r.Bridge, ts)
	time.Sleep(2 * time.Second)

	if err := r.Restart(r.Bridge); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	seen = append(seen, waitContainerCapture(t, r, r.Bridge, ts)...)
	time.Sleep(2 * time.Second)

	if err := r.Recreate(r.Bridge); err != nil {
		t.Fatal(err)
	}
	recreated := time.Now()
	seen = append(seen, waitContainerCapture(t, r, r.Bridge, ts)...)
	time.Sleep(2 * time.Second)

	ts.signal(syscall.SIGINT)
	ts.wait(t, 15*time.Second)
	assertRigNoOrphans(t, r, seen)

	// br's messages and their echoes (its address may change with docker
	// run; the tag, its name, does not).
	mine := tagged(r, "br")
	for _, tc := range []struct {
		what string
		at   time.Time
	}{{"the start", time.Time{}}, {"docker restart", restarted}, {"docker rm -f + docker run", recreated}} {
		f := mine
		if !tc.at.IsZero() {
			f += fmt.Sprintf(" && frame.time_epoch > %d.%09d", tc.at.Unix(), tc.at.Nanosecond())
		}
		if got := count(t, ts.out, f); got < 5 {
			t.Errorf("%d of br's messages after %s, want at least 5; stderr:\n%s", got, tc.what, ts.stderr.String())
		}
	}
	// Interface blocks: one per (re)start, the later ones "restarted", each
	// with br's packets.
	perIface := map[string]int{}
	descr := map[string]string{}
	for _, line := range strings.Split(read(t, ts.out, "-Y", mine, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_id", "-e", "frame.interface_description"), "\n") {
		if line == "" {
			continue
		}
		id, d, _ := strings.Cut(line, "|")
		perIface[id]++
		descr[id] = d
	}
	restartBlocks := 0
	for id, d := range descr {
		if strings.Contains(d, "restarted") && perIface[id] > 0 {
			restartBlocks++
		}
	}
	if len(perIface) < 3 || restartBlocks < 2 {
		t.Errorf("br's packets are in %d interface blocks (%d of them \"restarted\"), want 3 (2): %v %v", len(perIface), restartBlocks, perIface, descr)
	}
}
