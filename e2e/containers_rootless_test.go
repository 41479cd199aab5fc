package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/ctrlab"
)

// TestContainersRootless (issue 14): a container of the login user's
// rootless Podman (slirp4netns networking) is listed by name in
// `tshark -D` and captured inside its own network namespace through its
// interface: the messages it sends from 10.0.2.100 to slirp's gateway
// 10.0.2.2 (the root namespace's loopback there) are in the file. The engine runs as vmdlab, never under sudo;
// the rig gives vmdlab's SSH sessions the HOME and XDG_RUNTIME_DIR of its
// podman, so `podman ps` over SSH sees the container.
func TestContainersRootless(t *testing.T) {
	r := startRig(t, ctrlab.Options{Rootless: true})
	u := rigUser(t, r)
	c := r.Rootless
	_, out := tsharkInterfaces(t, u)
	if !strings.Contains(out, "rig: container "+c.Name+" (") {
		inv, _ := filepath.Glob(filepath.Join(u.home, ".cache", "vmdump", "inventory", "*.json"))
		var cached []byte
		if len(inv) > 0 {
			cached, _ = os.ReadFile(inv[0])
		}
		t.Fatalf("tshark -D does not list the rootless container %s:\n%s\ncached inventory:\n%s", c.Name, out, cached)
	}
	captureContainer(t, r, u, rootlessCase(r))
}

func rootlessCase(r *ctrlab.Rig) containerCase {
	return containerCase{
		c:       r.Rootless,
		mine:    "ip.src == 10.0.2.100 && ip.dst == 10.0.2.2 && " + tagged(r, "pod"),
		foreign: tagged(r, "br", "un", "nv", "host"),
	}
}

// TestContainersRootlessRig checks the rig, not vmdump: the rootless
// container makes the traffic TestContainersRootless looks for, and
// vmdlab's `podman ps` over the rig's sshd lists it.
func TestContainersRootlessRig(t *testing.T) {
	needTshark(t)
	r := startRig(t, ctrlab.Options{Rootless: true})
	tc := rootlessCase(r)
	file := localCapture(t, tc.c.Pid, 3*time.Second)
	if got := count(t, file, tc.mine); got < 5 {
		t.Errorf("%d packets matching %q, want at least 5 (of %d)", got, tc.mine, count(t, file, ""))
	}
	if got := count(t, file, tc.foreign); got != 0 {
		t.Errorf("%d packets matching %q, want none", got, tc.foreign)
	}
	out, err := r.Host.SSH("podman ps --format '{{.Names}}'")
	if err != nil {
		t.Fatalf("ssh … podman ps: %v", err)
	}
	if !strings.Contains(string(out), tc.c.Name) {
		t.Errorf("ssh … podman ps does not list %s: %q", tc.c.Name, out)
	}
}
