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
// the Prefix in their names. Podman state of such a rig lives in its
// directory under $TMPDIR, which internal/lab's reaper removes.
func reapStale() {
	dead := func(name string) bool {
		m := prefixRE().FindStringSubmatch(strings.TrimPrefix(name, "/"))
		if m == nil {
			return false
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() {
			return false
		}
		_, err = os.Stat("/proc/" + m[1])
		return err != nil
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
