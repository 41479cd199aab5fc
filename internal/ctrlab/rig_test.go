package ctrlab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRig: every container of the rig runs and makes its traffic inside its
// own network namespace; the host's sshd on a loopback port lets vmdlab run
// `sudo -n docker ps` and (rootless) `podman ps` and see them; Close leaves
// nothing behind.
func TestRig(t *testing.T) {
	// The machine's own mode: now, or the one a dead rig recorded and
	// never put back (this rig puts it back).
	tunBefore := tunMode(t)
	if b, err := os.ReadFile(filepath.Join(tunState, "mode")); err == nil {
		if m, err := strconv.ParseUint(strings.TrimSpace(string(b)), 8, 32); err == nil {
			tunBefore = os.FileMode(m)
		}
	}
	r, err := New(Options{Rootless: true})
	if err != nil {
		if _, ok := err.(*PrereqError); ok && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer r.Close()
	t.Logf("rig %s built in %v (host sshd 127.0.0.1:%d)", r.Prefix, r.BuildTime, r.Host.Port)

	echo := strconv.Itoa(r.EchoPort)
	for _, tc := range []struct {
		c           *Container
		iface, filt string
	}{
		{r.HostNet, "lo", "udp dst port " + echo},
		{r.HostNet, "docker0", "udp and dst host " + r.Bridge.Addr + " and dst port " + echo},
		{r.Bridge, "eth0", "udp and dst host " + r.BridgeGW + " and dst port " + echo},
		{r.Bridge, "eth0", "udp and src host " + r.BridgeGW + " and src port " + echo}, // the echoes
		{r.UserNet, "eth0", "udp and dst host " + r.UserNetGW + " and dst port " + echo},
		{r.None, "eth1", "udp and src host " + r.VethCtrAddr + " and dst host " + r.VethHostAddr},
		{r.None, "eth1", "udp and src host " + r.VethHostAddr}, // the echoes
		{r.Web, "eth0", "tcp src port 80 and src host " + r.Web.Addr + " and dst host " + r.DB.Addr + " and tcp[tcpflags] & tcp-push != 0"},
		{r.DB, "eth0", "tcp dst port 80 and dst host " + r.Web.Addr + " and tcp[tcpflags] & tcp-push != 0"},
		{r.Rootless, "tap0", "udp and dst host 10.0.2.2 and dst port " + echo},
		{r.Rootless, "tap0", "tcp and src host 10.0.2.2 and src port " + echo + " and tcp[tcpflags] & tcp-push != 0"}, // TCP echoes
		{r.Bridge, "eth0", "tcp and src host " + r.BridgeGW + " and src port " + echo + " and tcp[tcpflags] & tcp-push != 0"},
	} {
		if got := sniff(t, tc.c.Pid, tc.iface, tc.filt, 3); got < 3 {
			t.Errorf("%s (%s): %d packets on %s matching %q within 5s, want 3", tc.c.Role, tc.c.Name, got, tc.iface, tc.filt)
		}
	}

	out, err := r.Host.SSH("sudo -n docker ps --format '{{.Names}}'")
	if err != nil {
		t.Fatalf("ssh … sudo -n docker ps: %v\n%s", err, r.Host.SSHDLog())
	}
	listed := strings.Fields(string(out))
	for _, c := range r.Containers() {
		if c.Engine == "docker" && !contains(listed, c.Name) {
			t.Errorf("ssh … sudo -n docker ps does not list %s: %q", c.Name, listed)
		}
	}
	out, err = r.Host.SSH("podman ps --format '{{.Names}} {{.ID}}'")
	if err != nil {
		t.Fatalf("ssh … podman ps: %v\n%s", err, r.Host.SSHDLog())
	}
	if !strings.Contains(string(out), r.Rootless.Name+" "+r.Rootless.ID[:12]) {
		t.Errorf("ssh … podman ps does not list %s (%s): %q", r.Rootless.Name, r.Rootless.ID[:12], out)
	}

	// Restart and recreate keep the name and make traffic again.
	oldID := r.Bridge.ID
	if err := r.Restart(r.Bridge); err != nil {
		t.Fatal(err)
	}
	if r.Bridge.ID != oldID {
		t.Errorf("restart changed the id")
	}
	if err := r.Recreate(r.Bridge); err != nil {
		t.Fatal(err)
	}
	if r.Bridge.ID == oldID {
		t.Errorf("recreate kept the id")
	}
	if got := sniff(t, r.Bridge.Pid, "eth0", "udp and dst port "+echo, 3); got < 3 {
		t.Errorf("recreated br: %d packets, want 3", got)
	}

	podDir, veth := r.podDir, r.VethHost
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if out, _ := docker("ps", "-a", "--filter", "name="+r.Prefix, "--format", "{{.Names}}"); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("containers left: %s", out)
	}
	if out, _ := docker("network", "ls", "--filter", "name="+r.Prefix, "--format", "{{.Name}}"); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("networks left: %s", out)
	}
	if out, _ := docker("images", "--format", "{{.Repository}}"); strings.Contains(string(out), r.Prefix) {
		t.Errorf("image left: %s", out)
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", veth)); err == nil {
		t.Errorf("veth %s left", veth)
	}
	if left := processesUsing(podDir); len(left) > 0 {
		t.Errorf("podman processes left: %v", left)
	}
	for _, p := range []string{r.Dir, r.Host.Dir} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left", p)
		}
	}
	// Another test process's rig (go test runs packages at once) may still
	// need it open to all.
	want := tunBefore
	if others := liveTunUsers(); len(others) > 0 {
		want = 0o666
	}
	if got := tunMode(t); got != want {
		t.Errorf("/dev/net/tun mode %o after Close, want %o (the machine's own was %o)", got, want, tunBefore)
	}
}

func tunMode(t *testing.T) os.FileMode {
	st, err := os.Stat("/dev/net/tun")
	if err != nil {
		return 0
	}
	return st.Mode().Perm()
}

// sniff counts up to n packets matching filter on iface inside pid's
// network namespace, for at most 5 s.
func sniff(t *testing.T, pid int, iface, filter string, n int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(pid), "-n",
		"tcpdump", "-n", "-l", "--immediate-mode", "-i", iface, "-c", strconv.Itoa(n), filter)
	out, _ := cmd.Output()
	lines := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			lines++
		}
	}
	if lines < n {
		t.Logf("tcpdump in %d on %s %q saw:\n%s", pid, iface, filter, out)
	}
	return lines
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
