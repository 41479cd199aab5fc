package remotecap

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/internal/vmtest/sshtest"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// The real Docker engine of this machine plays the VM's engine: the test
// builds a tiny image FROM scratch holding internal/trafficgen (a static Go
// program), starts an echo server and a client in two named containers, and
// reaches the machine itself as "the VM" through a test sshd on loopback.

// dockerPair is the two containers and what the test knows about them.
type dockerPair struct {
	image              string // image id
	tag                string // repository:tag the image got
	srvName, cliName   string
	srvID, cliID       string
	srvAddr, cliAddr   string
	srvVeth, cliVeth   string // filled in from the inventory
	bridgeAddr         string // docker0's address: the "VM" itself on the bridge
	removeOnCleanupIDs []string
}

// requireDocker skips without a working Docker engine, except under CI.
func requireDocker(t *testing.T) {
	t.Helper()
	why := ""
	if _, err := exec.LookPath("docker"); err != nil {
		why = "the docker command is not installed"
	} else if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		why = "no Docker engine answers: " + strings.TrimSpace(string(out))
	} else if _, err := exec.LookPath("go"); err != nil {
		why = "the go command is needed to build the test image"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("Docker engine test cannot run: %s (CI must provide a Docker engine)", why)
	}
	t.Skipf("Docker engine test skipped: %s", why)
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// startDockerPair builds the image and starts the server and the client,
// which sends a message every interval. Everything is removed by id when
// the test ends.
func startDockerPair(t *testing.T, interval time.Duration) *dockerPair {
	t.Helper()
	requireDocker(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	suffix := hex.EncodeToString(rnd[:])
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "trafficgen"), "github.com/vmdump/vmdump/internal/trafficgen")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building trafficgen: %v\n%s", err, out)
	}
	vmtest.WriteFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\nCOPY trafficgen /trafficgen\nENTRYPOINT [\"/trafficgen\"]\n")
	p := &dockerPair{tag: "vmdump-inventory-test:" + suffix, srvName: "vmdump-srv-" + suffix, cliName: "vmdump-cli-" + suffix}
	p.image = lastLine(docker(t, "build", "-q", "-t", p.tag, dir))
	t.Cleanup(func() {
		for _, id := range p.removeOnCleanupIDs {
			_ = exec.Command("docker", "rm", "-f", id).Run()
		}
		_ = exec.Command("docker", "rmi", "-f", p.image).Run()
	})
	p.srvID = docker(t, "run", "-d", "--name", p.srvName, p.tag, "serve", "-addr", ":7007")
	p.removeOnCleanupIDs = append(p.removeOnCleanupIDs, p.srvID)
	p.srvAddr = docker(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", p.srvID)
	p.bridgeAddr = docker(t, "inspect", "-f", "{{.NetworkSettings.Gateway}}", p.srvID)
	p.cliID = docker(t, "run", "-d", "--name", p.cliName, p.tag, "send", "-addr", net.JoinHostPort(p.srvAddr, "7007"), "-n", "0", "-interval", interval.String())
	p.removeOnCleanupIDs = append(p.removeOnCleanupIDs, p.cliID)
	p.cliAddr = docker(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", p.cliID)
	if net.ParseIP(p.srvAddr) == nil || net.ParseIP(p.cliAddr) == nil || net.ParseIP(p.bridgeAddr) == nil {
		t.Fatalf("containers on the default bridge have no addresses: server %q client %q gateway %q", p.srvAddr, p.cliAddr, p.bridgeAddr)
	}
	return p
}

// dockerVM is the rig of these tests: tcpdump here, the container pair (the
// client sending every interval), a test sshd on loopback as the VM "vm"
// (this machine with its engine), a connection to it and the inventory
// taken over that connection.
func dockerVM(t *testing.T, interval time.Duration) (*dockerPair, *sshconn.Conn, probe.Probe, probe.Inventory) {
	t.Helper()
	vmtest.NeedTcpdump(t)
	pair := startDockerPair(t, interval)
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	c := sshtest.Conn(t, s)
	p, inv, err := probe.RunInventory(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return pair, c, p, inv
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// vethOf finds the NIC the inventory puts a container on.
func vethOf(inv probe.Inventory, containerID string) (probe.NIC, bool) {
	for _, n := range inv.NICs {
		for _, c := range n.Containers {
			if c.ID == containerID {
				return n, true
			}
		}
	}
	return probe.NIC{}, false
}

func TestInventoryDockerEngine(t *testing.T) {
	pair, _, _, inv := dockerVM(t, 50*time.Millisecond)
	var docker probe.Engine
	for _, e := range inv.Engines {
		if e.Name == "docker" {
			docker = e
		}
	}
	if docker.Name == "" || docker.Rootless || docker.Error != "" || docker.Containers < 2 {
		t.Fatalf("docker engine %+v in %+v", docker, inv.Engines)
	}
	for _, want := range []struct{ id, name string }{{pair.srvID, pair.srvName}, {pair.cliID, pair.cliName}} {
		n, ok := vethOf(inv, want.id)
		if !ok {
			t.Fatalf("container %s is on no interface: %+v", want.name, inv.NICs)
		}
		if len(n.Containers) != 1 || n.Containers[0].Engine != "docker" || n.Containers[0].Name != want.name || n.Containers[0].ID != want.id || n.Containers[0].Image != pair.tag {
			t.Errorf("%s: containers %+v", n.Name, n.Containers)
		}
		if n.Kind != "veth" || n.Master != "docker0" || !strings.HasPrefix(n.Name, "veth") || n.State != "up" {
			t.Errorf("%s: %+v", want.name, n)
		}
		if d := n.Describe(); d != n.Name+" — container "+want.name+" ("+pair.tag+")" {
			t.Errorf("describe %q", d)
		}
	}
	srv, _ := vethOf(inv, pair.srvID)
	cli, _ := vethOf(inv, pair.cliID)
	if srv.Name == cli.Name {
		t.Fatalf("both containers on %s", srv.Name)
	}
	if br, _ := inv.NIC("docker0"); br.Kind != "bridge" {
		t.Errorf("docker0 is %+v", br)
	}
}

// TestMultiCaptureDockerVeths captures both containers' veths at once, over
// one connection, while this host also talks to the server: the client's
// veth must carry only the client's conversation, the server's veth both.
func TestMultiCaptureDockerVeths(t *testing.T) {
	pair, c, p, inv := dockerVM(t, 20*time.Millisecond)
	srv, ok1 := vethOf(inv, pair.srvID)
	cli, ok2 := vethOf(inv, pair.cliID)
	if !ok1 || !ok2 {
		t.Fatalf("containers not found on veths: %+v", inv.NICs)
	}
	specs := []CaptureSpec{
		{Interface: cli.Name, Filter: BuildFilter("", false, p), Heartbeat: time.Second},
		{Interface: srv.Name, Filter: BuildFilter("", false, p), Heartbeat: time.Second},
	}
	caps, pumps := startAllListening(t, c, specs, p)

	// The host (the "VM" itself, on docker0) sends UDP to the server,
	// which echoes it: traffic that only the server's veth may carry.
	udp, err := net.Dial("udp", net.JoinHostPort(pair.srvAddr, "7007"))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	marker := []byte("vmdump-host-to-server-" + pair.srvID[:12])
	vmtest.WaitFor(t, "the host's datagrams on the server's veth and the client's messages on both", func() bool {
		_, _ = udp.Write(marker)
		srvPkts := vmtest.DecodePcap(t, pumps[1].buf.String(), false)
		cliPkts := vmtest.DecodePcap(t, pumps[0].buf.String(), false)
		return countPayload(srvPkts, marker) >= 3 && countBetween(cliPkts, pair.cliAddr, pair.srvAddr) >= 10 && countBetween(srvPkts, pair.cliAddr, pair.srvAddr) >= 10
	})
	stopAll(t, caps, pumps, 1)

	cliPkts := vmtest.DecodePcap(t, pumps[0].buf.String(), true)
	srvPkts := vmtest.DecodePcap(t, pumps[1].buf.String(), true)
	for _, pk := range cliPkts {
		ip, ok := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			continue // ARP
		}
		if ip.SrcIP.String() != pair.cliAddr && ip.DstIP.String() != pair.cliAddr {
			t.Fatalf("the client's veth %s carried %s → %s, not the client's traffic", cli.Name, ip.SrcIP, ip.DstIP)
		}
	}
	if n := countPayload(cliPkts, marker); n != 0 {
		t.Errorf("the client's veth carried %d of the host's datagrams to the server", n)
	}
	if countPayload(srvPkts, marker) == 0 || countBetween(srvPkts, pair.bridgeAddr, pair.srvAddr) == 0 {
		t.Errorf("the server's veth lacks the host's datagrams")
	}
}

func countPayload(pkts []gopacket.Packet, marker []byte) int {
	n := 0
	for _, pk := range pkts {
		if app := pk.ApplicationLayer(); app != nil && bytes.Equal(app.Payload(), marker) {
			n++
		}
	}
	return n
}

// countBetween counts IPv4 packets between a and b, either direction.
func countBetween(pkts []gopacket.Packet, a, b string) int {
	n := 0
	for _, pk := range pkts {
		ip, ok := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			continue
		}
		s, d := ip.SrcIP.String(), ip.DstIP.String()
		if s == a && d == b || s == b && d == a {
			n++
		}
	}
	return n
}
