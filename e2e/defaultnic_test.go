package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestCaptureChoosesTheVMsNIC: a docker-machine VM of the generic driver
// (whose NIC docker-machine assumes to be eth0) whose only outward NIC is
// ens3, captured through real tshark with no capture option at all: vmdump
// takes the NIC from the VM — the one vmdump's SSH session arrived on —,
// packets arrive, and the status line (in vmdump's log, tshark having no
// toolbar) names the NIC and why.
func TestCaptureChoosesTheVMsNIC(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	// eth1 → ens3, as a VM with predictable interface names has it.
	for _, argv := range [][]string{
		{"ip", "link", "set", "eth1", "down"},
		{"ip", "link", "set", "eth1", "name", "ens3"},
		{"ip", "link", "set", "ens3", "up"},
	} {
		if out, err := l.Exec(argv...); err != nil {
			t.Fatalf("%v: %v %s", argv, err, out)
		}
	}
	u := newBareUser(t, l)
	// libmachine's host.Host JSON (libmachine/host/host.go), generic driver:
	// reached on IPAddress:SSHPort.
	writeFile(t, filepath.Join(u.home, ".docker", "machine", "machines", "labgen", "config.json"),
		fmt.Sprintf(`{"ConfigVersion":3,"Driver":{"IPAddress":%q,"MachineName":"labgen","SSHUser":%q,"SSHPort":%d,"SSHKeyPath":%q},"DriverName":"generic","Name":"labgen"}`,
			l.VMAddr, l.User, l.SSHPort, l.KeyFile))
	u.vmID = u.idOf("docker-machine", "labgen")
	logFile := filepath.Join(t.TempDir(), "vmdump.log")
	ts := u.startTshark("-a", "duration:5", "-f", "tcp port 22", "-o", "extcap."+u.vmID+".payloadonly:off",
		"-o", "extcap."+u.vmID+".loglevel:info", "-o", "extcap."+u.vmID+".logfile:"+logFile)
	u.waitRemoteCapture(ts)
	// Traffic on ens3: other TCP connections to the VM's sshd (vmdump's own
	// session is excluded from every capture).
	for range 3 {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(l.VMAddr, "22"), 2*time.Second); err == nil {
			c.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.wait(t, 40*time.Second)
	u.assertNoOrphans()
	if strings.Contains(ts.stderr.String(), "has no interface") {
		t.Fatalf("the capture looked for the manager's NIC:\n%s", ts.stderr.String())
	}
	if got := count(t, ts.out, "tcp.port == 22"); got == 0 {
		t.Fatalf("no packets of the test's connections arrived; tshark stderr:\n%s", ts.stderr.String())
	}
	if name := read(t, ts.out, "-c", "1", "-T", "fields", "-e", "frame.interface_name"); name != "labgen:ens3\n" {
		t.Errorf("interface name %q, want labgen:ens3", name)
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "capturing ens3 on labgen (ens3: the NIC of the address vmdump's SSH session arrived on ("+l.VMAddr+"))") {
		t.Errorf("the status line does not name the NIC and why; log:\n%s", log)
	}
}
