package ctrlab

import (
	"os"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/internal/lazyre"
)

var prefixRE = lazyre.New(`^vmdc([0-9]+)x[0-9]+-`)

// reapStale removes the docker containers, networks and images of rigs
// whose process is dead (a test binary killed before its Close), found by
// the Prefix in their names, and the podman processes of such a rig
// (reapPodman); its directory under $TMPDIR internal/lab's reaper removes.
func reapStale() {
	reapPodman()
	dead := func(name string) bool {
		m := prefixRE().FindStringSubmatch(strings.TrimPrefix(name, "/"))
		if m == nil {
			return false
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() {
			return false
		}
		return !alive(pid)
	}
	var gone []string
	if out, err := docker("ps", "-a", "--filter", "name=vmdc", "--format", "{{.Names}}"); err == nil {
		for _, n := range strings.Fields(string(out)) {
			if dead(n) {
				gone = append(gone, n)
			}
		}
	}
	if len(gone) > 0 {
		docker(append([]string{"rm", "-f"}, gone...)...)
	}
	if out, err := docker("network", "ls", "--filter", "name=vmdc", "--format", "{{.Name}}"); err == nil {
		for _, n := range strings.Fields(string(out)) {
			if dead(n) {
				docker("network", "rm", n)
			}
		}
	}
	// The nv container's veth goes with its namespace; its root end too,
	// but a crashed rig's may still be there while docker removes it.
	if links, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, l := range links {
			if !strings.HasPrefix(l.Name(), "vmdv") {
				continue
			}
			alias, _ := os.ReadFile("/sys/class/net/" + l.Name() + "/ifalias")
			if dead(strings.TrimSpace(string(alias))) {
				run("ip", "link", "del", l.Name())
			}
		}
	}
	if out, err := docker("images", "--format", "{{.Repository}}:{{.Tag}}"); err == nil {
		for _, n := range strings.Fields(string(out)) {
			if dead(n) {
				docker("rmi", n)
			}
		}
	}
}

var podDirRE = lazyre.New(`/vmd([0-9]+)-ctrlab-[0-9]+/podman/`)

// reapPodman kills, by pid, the podman processes (pause process, conmon,
// slirp4netns) of dead rigs, which name the rig's directory in their
// command line or environment (whether or not it still exists), and what
// runs below them (the rootless containers).
func reapPodman() {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile("/proc/" + e.Name() + "/" + f)
			if err != nil {
				continue
			}
			if m := podDirRE().FindSubmatch(b); m != nil {
				if owner, _ := strconv.Atoi(string(m[1])); owner != os.Getpid() && !alive(owner) {
					pids = append(pids, pid)
				}
				break
			}
		}
	}
	pids = append(pids, below(pids)...)
	for _, pid := range pids {
		killPid(pid)
	}
}

// below lists the descendants of pids.
func below(pids []int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			children[pp] = append(children[pp], pid)
		}
	}
	var out []int
	queue := append([]int(nil), pids...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// alive: pid exists and is not a zombie (a killed test binary whose parent
// has not reaped it yet is dead for this purpose).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}
