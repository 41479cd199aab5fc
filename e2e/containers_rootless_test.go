package e2e

import (
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/ctrlab"
)

// TestContainersRootless (issue 14): a container of the login user's
// rootless Podman (slirp4netns networking) is listed by name in
// `tshark -D` and captured inside its own network namespace through its
// interface: the datagrams it sends to slirp's gateway 10.0.2.2:9 from
// 10.0.2.100 are in the file. The engine runs as vmdlab, never under sudo;
// the rig gives vmdlab's SSH sessions the HOME and XDG_RUNTIME_DIR of its
// podman, so `podman ps` over SSH sees the container.
func TestContainersRootless(t *testing.T) {
	r := ctrlab.Start(t, ctrlab.Options{Rootless: true})
	u := rigUser(t, r)
	c := r.Rootless
	_, out := tsharkInterfaces(t, u)
	if !strings.Contains(out, "rig: container "+c.Name+" (") {
		t.Fatalf("tshark -D does not list the rootless container %s:\n%s", c.Name, out)
	}
	captureContainer(t, r, u, containerCase{
		c:       c,
		mine:    `ip.src == 10.0.2.100 && ip.dst == 10.0.2.2 && udp.dstport == 9 && udp contains "vmdump-ctrapp pod "`,
		foreign: `udp contains "vmdump-ctrapp br " || udp contains "vmdump-ctrapp un " || udp contains "vmdump-ctrapp host "`,
	})
}
