package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestCaptureThroughProviders reaches the same lab VM the ways real VM
// managers leave it on disk — a Lima instance's generated ssh.config, a
// docker-machine entry (both on a loopback port forward, host key pinned per
// VM), and an ssh:// Docker context (a real host: known_hosts, the user's
// default key) — and captures through each with tshark.
func TestCaptureThroughProviders(t *testing.T) {
	l := lab.Start(t, lab.Options{Forward: true})
	for _, p := range []struct {
		manager, name string
		files         func(home string) map[string]string
	}{
		{"lima", "labvm", func(home string) map[string]string {
			inst := filepath.Join(home, ".lima", "labvm")
			// Format of lima's pkg/sshutil/format.go (the file Lima writes
			// next to each instance); pid files as pkg/store reads them.
			return map[string]string{
				filepath.Join(inst, "ssh.config"): fmt.Sprintf("# This file is created by Lima\nHost lima-labvm\n  IdentityFile \"%s\"\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  User %s\n  Hostname 127.0.0.1\n  Port %d\n", l.KeyFile, l.User, l.ForwardPort),
				filepath.Join(inst, "lima.yaml"):  "vmType: qemu\ncontainerd:\n  system: false\n  user: false\n",
				filepath.Join(inst, "ha.pid"):     fmt.Sprint(os.Getpid()),
				filepath.Join(inst, "qemu.pid"):   fmt.Sprint(os.Getpid()),
			}
		}},
		{"docker-machine", "labdm", func(home string) map[string]string {
			// libmachine's host.Host JSON (libmachine/host/host.go), VirtualBox
			// driver: reached on 127.0.0.1:SSHPort, not IPAddress.
			return map[string]string{
				filepath.Join(home, ".docker", "machine", "machines", "labdm", "config.json"): fmt.Sprintf(`{"ConfigVersion":3,"Driver":{"IPAddress":"192.168.99.100","MachineName":"labdm","SSHUser":%q,"SSHPort":%d,"SSHKeyPath":%q},"DriverName":"virtualbox","Name":"labdm"}`, l.User, l.ForwardPort, l.KeyFile),
			}
		}},
		{"docker-context", "labctx", func(home string) map[string]string {
			// docker/cli's context store: meta/<sha256(name)>/meta.json.
			sum := sha256.Sum256([]byte("labctx"))
			key, err := os.ReadFile(l.KeyFile)
			if err != nil {
				t.Fatal(err)
			}
			return map[string]string{
				filepath.Join(home, ".docker", "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json"): fmt.Sprintf(`{"Name":"labctx","Metadata":{},"Endpoints":{"docker":{"Host":"ssh://%s@%s","SkipTLSVerify":false}}}`, l.User, l.VMAddr),
				filepath.Join(home, ".ssh", "id_ed25519"):                                                   string(key),
			}
		}},
	} {
		t.Run(p.manager, func(t *testing.T) {
			u := newBareUser(t, l)
			for path, content := range p.files(u.home) {
				writeFile(t, path, content)
			}
			u.vmID = u.idOf(p.manager, p.name)
			ts := u.startTshark("-a", "duration:6", "-o", "extcap."+u.vmID+".remoteinterface:"+l.ContainerVeth(1))
			u.waitRemoteCapture(ts)
			l.Send(t, 3, 20*time.Millisecond)
			ts.wait(t, 40*time.Second)
			u.assertNoOrphans()
			if got := count(t, ts.out, "tcp.len > 0"); got != 6 {
				t.Fatalf("%s: %d data segments, want 6; tshark stderr:\n%s", p.manager, got, ts.stderr.String())
			}
			if name := read(t, ts.out, "-c", "1", "-T", "fields", "-e", "frame.interface_name"); name != p.name+":"+l.ContainerVeth(1)+"\n" {
				t.Errorf("interface name %q", name)
			}
		})
	}
}

// TestListCheck: `vmdump list --check` connects to each VM and says whether
// SSH, privilege and tcpdump work there — and names the problem for a VM
// that does not answer, without hanging.
func TestListCheck(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l,
		vmConfig{Name: "lab", Host: l.VMAddr, Port: l.SSHPort, User: l.User, Key: l.KeyFile},
		// A loopback port nothing listens on: a VM that is not running.
		vmConfig{Name: "down", Host: "127.0.0.1", Port: freePort(t), User: "docker", Key: l.KeyFile},
	)
	out, err := u.vmdump("list", "--check")
	if err != nil {
		t.Fatalf("vmdump list --check: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var labLine, downLine string
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, u.idOf("config", "lab")+" "):
			labLine = line
		case strings.HasPrefix(line, u.idOf("config", "down")+" "):
			downLine = line
		}
	}
	if !strings.Contains(labLine, " ok ") || !strings.Contains(labLine, "sudo -n ok") || !strings.Contains(labLine, "tcpdump") {
		t.Errorf("lab VM line %q, want SSH ok, sudo -n ok and a tcpdump path\n%s", labLine, out)
	}
	if !strings.Contains(downLine, "refused") {
		t.Errorf("unreachable VM line %q, want the connection refusal\n%s", downLine, out)
	}
}

// freePort is a loopback TCP port nothing listens on.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
