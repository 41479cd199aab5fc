//go:build unix

package nictest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// LabVM is the lab as a VM of vmdump's, with its host key known in env's
// home.
func LabVM(t *testing.T, l *lab.Lab, env hostenv.Env) vmctl.VM {
	t.Helper()
	kh := filepath.Join(env.Home, ".ssh", "known_hosts")
	if err := os.MkdirAll(filepath.Dir(kh), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kh, []byte(l.HostKeyLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	return vmctl.VM{ID: "vmdump_config_lab", Manager: "config", Name: "lab", Host: l.VMAddr, Port: l.SSHPort, User: l.User,
		KeyFiles: []string{l.KeyFile}, State: vmctl.Running, Interface: "eth1"}
}

// Session builds a lab and connects to it as a capture does: the VM
// as discovered, one SSH connection (closed when the test ends), the probe
// and the inventory.
func Session(t *testing.T) (*lab.Lab, vmctl.VM, *sshconn.Conn, probe.Probe, probe.Inventory) {
	t.Helper()
	NeedTshark(t)
	l := lab.Start(t, lab.Options{})
	env := Env(t)
	vm := LabVM(t, l, env)
	opt := sshconn.DialOptions{Home: env.Home, KnownHostsFile: filepath.Join(env.Home, ".ssh", "known_hosts"), PinnedKeysFile: filepath.Join(env.Home, "pins"), Log: slog.New(slog.DiscardHandler)}
	conn, err := sshconn.Dial(context.Background(), vm, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	probe, inv, err := probe.RunInventory(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	return l, vm, conn, probe, inv
}

func RemainingTcpdumps(l *lab.Lab) []int {
	var pids []int
	for _, p := range l.ProcessesInVM() {
		if f := strings.Fields(p.Cmdline); len(f) > 0 && filepath.Base(f[0]) == "tcpdump" {
			pids = append(pids, p.Pid)
		}
	}
	return pids
}

func NeedTshark(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tshark is not installed (CI must install it)")
		}
		t.Skip("tshark is not installed")
	}
}

func RunOut(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func WriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// WaitTcpdumps waits until n tcpdumps run in the lab VM, gives them a
// moment to open their sockets (synchronisation only; nothing is timed) and
// returns their pids.
func WaitTcpdumps(t *testing.T, l *lab.Lab, n int) []int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if pids := RemainingTcpdumps(l); len(pids) >= n {
			time.Sleep(500 * time.Millisecond)
			return pids
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%d tcpdumps did not start in the VM", n)
	return nil
}

// SendFromVM sends n UDP datagrams from the VM itself (its docker0
// address) to addr's echo port; it returns their payload.
func SendFromVM(t *testing.T, l *lab.Lab, addr string, n int) string {
	t.Helper()
	marker := fmt.Sprintf("vmdump-from-the-vm-%d", time.Now().UnixNano())
	script := fmt.Sprintf("for i in $(seq %d); do printf %%s %s > /dev/udp/%s/%d; done", n, marker, addr, lab.EchoPort)
	if out, err := l.Exec("bash", "-c", script); err != nil {
		t.Fatalf("sending from the VM: %v %s", err, out)
	}
	return marker
}

// CheckTwoNICFile checks a capture of container 1's and container 2's
// veths: two interfaces with these names, every TCP data segment of the
// containers' conversation on both, the VM's own datagrams to container 2
// (and their echoes) only on container 2's, and a statistics block per
// interface.
func CheckTwoNICFile(t *testing.T, file, name1, name2, marker string, messages int) {
	t.Helper()
	ng := ReadPcapng(t, file)
	if len(ng.Ifaces) != 2 {
		t.Fatalf("%d interface blocks, want 2: %+v", len(ng.Ifaces), ng.Ifaces)
	}
	per := map[string]map[string]int{name1: {}, name2: {}}
	fields := RunOut(t, nil, "tshark", "-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name", "-e", "tcp.len", "-e", "data.data")
	hexMarker := fmt.Sprintf("%x", marker)
	for _, line := range strings.Split(strings.TrimSpace(fields), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		m, ok := per[f[0]]
		if !ok {
			t.Fatalf("a packet on interface %q, not %s or %s", f[0], name1, name2)
		}
		switch {
		case f[1] != "" && f[1] != "0":
			m["data"]++
		case strings.Contains(strings.ReplaceAll(f[2], ":", ""), hexMarker):
			m["marker"]++
		}
	}
	if per[name1]["data"] != 2*messages || per[name2]["data"] != 2*messages {
		t.Errorf("data segments per interface %v, want %d on each", per, 2*messages)
	}
	if per[name1]["marker"] != 0 || per[name2]["marker"] < 3 {
		t.Errorf("the VM's datagrams to container 2 per interface %v: want none on %s, at least 3 on %s", per, name1, name2)
	}
	for i, want := range []string{name1, name2} {
		if ng.Ifaces[i].Name != want {
			t.Errorf("interface %d is %q, want %q", i, ng.Ifaces[i].Name, want)
		}
	}
	// Wireshark's Capture File Properties show an interface's drops only
	// when it has exactly one statistics block.
	if n := strings.Count(RunOut(t, nil, "capinfos", "-I", file), "Number of stat entries = 1"); n != 2 {
		t.Errorf("capinfos finds one statistics block for %d interfaces, want 2", n)
	}
	for i := range ng.Ifaces {
		st, ok := ng.Stats[i]
		if !ok || !st.HasRecv || !st.HasDrop || st.Blocks != 1 {
			t.Errorf("interface %s: no received/dropped counts in a statistics block (%+v)", ng.Ifaces[i].Name, st)
			continue
		}
		if st.Recv < uint64(2*messages) {
			t.Errorf("interface %s: %d received, want at least %d", ng.Ifaces[i].Name, st.Recv, 2*messages)
		}
	}
}

type Iface struct{ Name string }

type Stats struct {
	Recv, Drop       uint64
	HasRecv, HasDrop bool
	Blocks           int // statistics blocks of the interface
}

type Summary struct {
	Ifaces []Iface
	Stats  map[int]Stats // by interface, the last block's counts
}

// ReadPcapng reads the interface and statistics blocks of a little-endian
// pcapng file (what vmdump and dumpcap write here).
func ReadPcapng(t *testing.T, file string) Summary {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := Summary{Stats: map[int]Stats{}}
	le := binary.LittleEndian
	for len(b) >= 12 {
		typ, n := le.Uint32(b), int(le.Uint32(b[4:]))
		if n < 12 || n > len(b) || n%4 != 0 {
			t.Fatalf("bad pcapng block length %d", n)
		}
		body := b[8 : n-4]
		switch typ {
		case 0x0A0D0D0A:
			if le.Uint32(body) != 0x1A2B3C4D {
				t.Fatal("big-endian pcapng: not expected here")
			}
		case 1: // interface
			ifc := Iface{}
			eachOption(body[8:], func(code uint16, v []byte) {
				if code == 2 {
					ifc.Name = string(v)
				}
			})
			s.Ifaces = append(s.Ifaces, ifc)
		case 5: // interface statistics
			var st Stats
			eachOption(body[12:], func(code uint16, v []byte) {
				switch {
				case code == 4 && len(v) == 8:
					st.Recv, st.HasRecv = le.Uint64(v), true
				case code == 5 && len(v) == 8:
					st.Drop, st.HasDrop = le.Uint64(v), true
				}
			})
			st.Blocks = s.Stats[int(le.Uint32(body))].Blocks + 1
			s.Stats[int(le.Uint32(body))] = st
		}
		b = b[n:]
	}
	return s
}

func eachOption(b []byte, f func(code uint16, v []byte)) {
	le := binary.LittleEndian
	for len(b) >= 4 {
		code, n := le.Uint16(b), int(le.Uint16(b[2:]))
		if code == 0 || 4+n > len(b) {
			return
		}
		f(code, b[4:4+n])
		b = b[4+(n+3)&^3:]
	}
}
