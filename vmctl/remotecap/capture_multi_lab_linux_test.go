package remotecap

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/vmdump/vmdump/internal/lab"
	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/internal/vmtest/sshtest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// The project's lab VM (a namespace with sshd, docker0 and two container
// namespaces on veths; see internal/lab) as a non-root user with
// passwordless sudo, the usual shape of a Docker VM.

func labConn(t *testing.T, l *lab.Lab) *sshconn.Conn {
	t.Helper()
	home := vmtest.Home(t)
	kh := vmtest.WriteFile(t, filepath.Join(home, ".ssh", "known_hosts"), l.HostKeyLine()+"\n")
	vm := vmctl.VM{ID: "vmdump_test_lab", Manager: "test", Name: "lab", Host: l.VMAddr, Port: l.SSHPort, User: l.User, KeyFiles: []string{l.KeyFile}}
	return sshtest.DialOK(t, vm, sshconn.DialOptions{Home: home, KnownHostsFile: kh, PinnedKeysFile: filepath.Join(home, "pins"), Timeout: 10 * time.Second, Log: vmtest.DiscardLog()})
}

// labVM starts the lab VM with opt, connects to it and probes it.
func labVM(t *testing.T, opt lab.Options) (*lab.Lab, *sshconn.Conn, probe.Probe) {
	t.Helper()
	l := lab.Start(t, opt)
	c := labConn(t, l)
	return l, c, probeOK(t, c)
}

func TestInventoryLabVM(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	c := labConn(t, l)
	_, inv, err := probe.RunInventory(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if inv.UID <= 0 || !inv.SudoNoPassword || !inv.Privileged {
		t.Errorf("lab user: uid %d sudo %v privileged %v", inv.UID, inv.SudoNoPassword, inv.Privileged)
	}
	want := map[string]probe.NIC{
		"lo":               {Kind: "loopback"},
		"eth1":             {Kind: "veth", State: "up"}, // the lab's link to the host is a veth too
		"docker0":          {Kind: "bridge"},            // up or unknown, as bridges go
		l.ContainerVeth(1): {Kind: "veth", State: "up", Master: "docker0"},
		l.ContainerVeth(2): {Kind: "veth", State: "up", Master: "docker0"},
	}
	for name, w := range want {
		n, ok := inv.NIC(name)
		if !ok {
			t.Errorf("no %s in %v", name, inv.NICNames())
			continue
		}
		if n.Kind != w.Kind || (w.State != "" && n.State != w.State) || n.Master != w.Master || len(n.Containers) != 0 {
			t.Errorf("%s: %+v, want kind %s state %s master %q", name, n, w.Kind, w.State, w.Master)
		}
	}
	if len(inv.NICs) != len(want) {
		t.Errorf("NICs %v", inv.NICNames())
	}
}

// TestStartCapturesLabVeths: two tcpdumps under sudo, one per container
// veth, over one connection; each stream is a whole pcap of its own with
// every data segment of the conversation, and its own statistics.
func TestStartCapturesLabVeths(t *testing.T) {
	l, c, p := labVM(t, lab.Options{})
	captureLabVeths(t, l, c, p, nil)
}

// captureLabVeths captures both of l's container veths at once over c
// (payload-only filter), sends a short conversation and stops, then checks
// each stream: exactly the conversation's data segments, as Ethernet TCP,
// with statistics of its own. whileRunning, if set, sees each capture's
// stderr once it listens, before any traffic.
func captureLabVeths(t *testing.T, l *lab.Lab, c *sshconn.Conn, p probe.Probe, whileRunning func(stderr []string)) {
	t.Helper()
	filter := BuildFilter("", true, p)
	specs := []CaptureSpec{{Interface: l.ContainerVeth(1), Filter: filter}, {Interface: l.ContainerVeth(2), Filter: filter}}
	caps, pumps := startAllListening(t, c, specs, p)
	if whileRunning != nil {
		whileRunning([]string{caps[0].stderr.String(), caps[1].stderr.String()})
	}
	const messages = 5
	l.Send(t, messages, 10*time.Millisecond)
	vmtest.WaitFor(t, "every data segment on both veths", func() bool {
		return len(vmtest.DecodePcap(t, pumps[0].buf.String(), false)) >= 2*messages && len(vmtest.DecodePcap(t, pumps[1].buf.String(), false)) >= 2*messages
	})
	stopAll(t, caps, pumps, 2*messages)
	for i := range caps {
		pkts := vmtest.DecodePcap(t, pumps[i].buf.String(), true)
		if len(pkts) != 2*messages {
			t.Errorf("%s: %d packets, want %d data segments", specs[i].Interface, len(pkts), 2*messages)
		}
		for _, pk := range pkts {
			tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if pk.LinkLayer() == nil || pk.LinkLayer().LayerType() != layers.LayerTypeEthernet || tcp == nil || len(tcp.Payload) == 0 {
				t.Fatalf("%s: not an Ethernet TCP data segment: %v", specs[i].Interface, pk)
			}
		}
	}
}

func TestStartCapturesRefusesDuplicatesAndNothing(t *testing.T) {
	c := &sshconn.Conn{} // refused before any session
	if _, err := StartAll(context.Background(), c, nil, probe.Probe{}); err == nil {
		t.Error("no specs accepted")
	}
	_, err := StartAll(context.Background(), c, []CaptureSpec{{Interface: "eth0"}, {Interface: "eth0"}}, probe.Probe{})
	if err == nil || !strings.Contains(err.Error(), "eth0 is listed twice") {
		t.Errorf("duplicate: %v", err)
	}
}
