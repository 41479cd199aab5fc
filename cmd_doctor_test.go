package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmdump/vmdump/install"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// doctorMachine is a fake machine for the doctor: a temp home, an optional
// fake tshark 4.0.17 and vmdump's config file.
type doctorMachine struct {
	home, personal, global, self string
	tshark                       bool // a tshark exists
	loads                        bool // it loads vmdump (-G plugins)
	config                       string
	// The doctor's check of the VMs, without a network: every VM is
	// reached as root, with tcpdump, unless probes or unreachable say
	// otherwise. checked records the VMs the doctor connected to.
	probes      map[string]probe.Probe // VM id → what the probe finds
	unreachable map[string]error       // VM id → the connection's error
	mu          sync.Mutex
	checked     []string
}

// capable is a VM where a capture works: root, tcpdump with --immediate-mode.
var capable = probe.Probe{UID: 0, Tcpdump: "/usr/bin/tcpdump", ImmediateMode: true, Arch: "x86_64", OSID: "debian", PackageManagers: []string{"apt-get"}, PmKnown: true}

// refused is the error sshconn.Dial gives for a VM that refuses the connection.
var refused = errors.New("cannot reach VM lab at 10.231.1.2:22: connection refused — is the VM running?")

func (m *doctorMachine) probe(ctx context.Context, vm vmctl.VM) (probe.Probe, error) {
	m.mu.Lock()
	m.checked = append(m.checked, vm.ID)
	m.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		return probe.Probe{}, errors.New("fake probe: the check has no deadline")
	}
	if err := m.unreachable[vm.ID]; err != nil {
		return probe.Probe{}, err
	}
	if p, ok := m.probes[vm.ID]; ok {
		return p, nil
	}
	return capable, nil
}

func newDoctorMachine(t *testing.T) *doctorMachine {
	home := t.TempDir()
	m := &doctorMachine{
		home:     home,
		personal: filepath.Join(home, ".config", "wireshark", "extcap"),
		global:   filepath.Join(home, "usr", "lib", "wireshark", "extcap"),
		self:     filepath.Join(home, "bin", "vmdump"),
	}
	writeDemoTestFile(t, m.self, "vmdump v2")
	return m
}

func (m *doctorMachine) env() doctorEnv {
	ienv := install.Env{GOOS: "linux", Home: m.home, Getenv: func(string) string { return "" }}
	if m.tshark {
		ienv.Tsharks = []install.Tshark{{Path: "/usr/bin/tshark", Run: m.runTshark}}
		ienv.RunTshark = m.runTshark
	}
	cfgDir := filepath.Join(m.home, "cfg")
	return doctorEnv{
		install: ienv,
		vms: hostenv.Env{Home: m.home, GOOS: "linux", Root: m.home, Getenv: func(k string) string {
			if k == "VMDUMP_CONFIG_DIR" {
				return cfgDir
			}
			return ""
		}},
		self:  m.self,
		probe: m.probe,
	}
}

func (m *doctorMachine) runTshark(_ context.Context, args ...string) ([]byte, error) {
	switch strings.Join(args, " ") {
	case "--version":
		return []byte("TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).\n"), nil
	case "-G folders":
		return []byte("Personal configuration:\t" + filepath.Dir(m.personal) + "\nExtcap path:          \t" + m.global + "\n"), nil
	case "-G plugins":
		out := "sshdump\t1.1.0\textcap\t/usr/lib/x86_64-linux-gnu/wireshark/extcap/sshdump\n"
		if m.loads {
			out += "vmdump\t0.1.0\textcap\t" + filepath.Join(m.personal, "vmdump") + "\n"
		}
		return []byte(out), nil
	case "-D":
		out := "1. eth0\n"
		if m.loads {
			out += "9. vmdump_cfg_lab (Docker VM lab (config))\n"
		}
		return []byte(out), nil
	}
	return nil, errors.New("fake tshark: unexpected " + strings.Join(args, " "))
}

const labVMConfig = "[[vm]]\nname = \"lab\"\nhost = \"10.231.1.2\"\nuser = \"docker\"\n"

func TestDoctor(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, m *doctorMachine)
		wantCode int
		want     []string
		dont     []string
	}{
		{"ready", func(t *testing.T, m *doctorMachine) {
			m.tshark, m.loads, m.config = true, true, labVMConfig
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump"), "vmdump v2")
		}, 0, []string{
			"ok    Wireshark 4.0.17 (/usr/bin/tshark) loads " + "PERSONAL/vmdump and lists 1 VM interface(s)",
			"ok    PERSONAL/vmdump is this vmdump (Wireshark 4.0 personal folder",
			"ok    vmdump_cfg_lab  Docker VM lab (config) (in Wireshark 4.0.17): capture works (root, /usr/bin/tcpdump)\n",
			"\nReady: open Wireshark",
		}, []string{"FAIL", "warn"}},
		{"the VM refuses connections", func(t *testing.T, m *doctorMachine) {
			m.tshark, m.loads, m.config = true, true, labVMConfig
			m.unreachable = map[string]error{"vmdump_cfg_lab": refused}
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump"), "vmdump v2")
		}, 1, []string{
			"ok    Wireshark 4.0.17 (/usr/bin/tshark) loads ",
			"\n  warn  vmdump_cfg_lab  Docker VM lab (config): cannot capture: cannot reach VM lab at 10.231.1.2:22: connection refused — is the VM running?\n",
			"\n  FAIL  no VM can capture (see above)\n",
			"\nNot ready: no VM can capture: vmdump_cfg_lab: cannot reach VM lab at 10.231.1.2:22: connection refused — is the VM running?\n",
		}, []string{"Ready", "ok    vmdump_cfg_lab", "capture works"}},
		{"one VM refuses connections, the other can capture", func(t *testing.T, m *doctorMachine) {
			m.tshark, m.loads = true, true
			m.config = labVMConfig + "[[vm]]\nname = \"other\"\nhost = \"10.0.0.8\"\n"
			m.unreachable = map[string]error{"vmdump_cfg_other": errors.New("cannot reach VM other at 10.0.0.8:22: connection refused — is the VM running?")}
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump"), "vmdump v2")
		}, 0, []string{
			"ok    vmdump_cfg_lab  Docker VM lab (config) (in Wireshark 4.0.17): capture works (root, /usr/bin/tcpdump)\n",
			"warn  vmdump_cfg_other  Docker VM other (config): cannot capture: cannot reach VM other at 10.0.0.8:22: connection refused",
			"\nReady, with warnings above",
		}, []string{"FAIL", "Not ready"}},
		{"sudo needs a password", func(t *testing.T, m *doctorMachine) {
			m.tshark, m.loads, m.config = true, true, labVMConfig
			p := capable
			p.UID = 1000
			m.probes = map[string]probe.Probe{"vmdump_cfg_lab": p}
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump"), "vmdump v2")
		}, 1, []string{
			"warn  vmdump_cfg_lab  Docker VM lab (config): cannot capture: sudo needs a password: allow NOPASSWD for tcpdump, or log in as root\n",
			"\nNot ready: no VM can capture: vmdump_cfg_lab: sudo needs a password",
		}, []string{"Ready", "capture works"}},
		{"no tcpdump, vmdump's capture agent stands in", func(t *testing.T, m *doctorMachine) {
			m.tshark, m.loads, m.config = true, true, labVMConfig
			p := capable
			p.UID, p.SudoNoPassword, p.Tcpdump, p.Arch = 1000, true, "", "aarch64"
			m.probes = map[string]probe.Probe{"vmdump_cfg_lab": p}
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump"), "vmdump v2")
		}, 0, []string{
			"ok    vmdump_cfg_lab  Docker VM lab (config) (in Wireshark 4.0.17): capture works (sudo -n ok, tcpdump missing: captures use vmdump's capture agent; to use tcpdump: sudo apt-get install -y tcpdump (or: vmdump provision vmdump_cfg_lab))\n",
			"\nReady: open Wireshark",
		}, []string{"FAIL", "warn"}},
		{"no tcpdump, and the capture agent does not run there", func(t *testing.T, m *doctorMachine) {
			m.tshark, m.loads, m.config = true, true, labVMConfig
			p := capable
			p.Tcpdump, p.Arch = "", "mips"
			m.probes = map[string]probe.Probe{"vmdump_cfg_lab": p}
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump"), "vmdump v2")
		}, 1, []string{
			"warn  vmdump_cfg_lab  Docker VM lab (config): cannot capture: tcpdump missing: apt-get install -y tcpdump (or: vmdump provision vmdump_cfg_lab)\n",
			"\nNot ready: no VM can capture: vmdump_cfg_lab: tcpdump missing",
		}, []string{"Ready", "capture works"}},
		{"loaded, but one VM not listed by tshark", func(t *testing.T, m *doctorMachine) {
			m.tshark, m.loads = true, true
			m.config = labVMConfig + "[[vm]]\nname = \"other\"\nhost = \"10.0.0.8\"\n"
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump"), "vmdump v2")
		}, 0, []string{
			"ok    vmdump_cfg_lab  Docker VM lab (config) (in Wireshark 4.0.17)",
			"warn  vmdump_cfg_other  Docker VM other (config): capture works (root, /usr/bin/tcpdump), but tshark does not list it",
			"\nReady, with warnings above",
		}, []string{"FAIL"}},
		{"fresh machine: no tshark, nothing installed, no VM", func(t *testing.T, m *doctorMachine) {}, 1, []string{
			"warn  tshark not found",
			"--    HOME/.local/lib/wireshark/extcap: no vmdump (Wireshark 4.2+ personal folder",
			"--    HOME/.config/wireshark/extcap: no vmdump (Wireshark 4.0 personal folder",
			"FAIL  no VM to capture from",
			"\nNot ready: vmdump is not installed: run `vmdump install`",
		}, []string{"ok "}},
		{"no tshark but installed, VM configured", func(t *testing.T, m *doctorMachine) {
			m.config = labVMConfig
			writeDemoTestFile(t, filepath.Join(m.home, ".local", "lib", "wireshark", "extcap", "vmdump"), "vmdump v2")
		}, 0, []string{
			"ok    HOME/.local/lib/wireshark/extcap/vmdump is this vmdump",
			"ok    vmdump_cfg_lab  Docker VM lab (config): capture works (root, /usr/bin/tcpdump)\n",
			"\nReady, with warnings above",
		}, []string{"FAIL"}},
		{"Wireshark does not load it; old and renamed copies; a skipped VM; a global copy", func(t *testing.T, m *doctorMachine) {
			m.tshark = true
			m.config = labVMConfig + "[[vm]]\nname = \"bad\"\nhost = \"-oProxyCommand=x\"\n"
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump"), "vmdump v1")
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump-old"), "vmdump v0")
			writeDemoTestFile(t, filepath.Join(m.global, "vmdump"), "vmdump v2")
		}, 1, []string{
			"FAIL  Wireshark 4.0.17 (/usr/bin/tshark): tshark does not load vmdump",
			"warn  PERSONAL: 2 copies of vmdump, Wireshark would list every VM twice",
			"warn  PERSONAL/vmdump is another vmdump build: run `vmdump install`",
			"warn  GLOBAL/vmdump: a copy in a global folder (Global Extcap path from tshark 4.0.17)",
			"ok    vmdump_cfg_lab  Docker VM lab (config): capture works (root, /usr/bin/tcpdump)\n",
			"skip  config/bad: [[vm]] #2: host",
			"\nNot ready: Wireshark 4.0.17 (/usr/bin/tshark) does not load vmdump: run `vmdump install`",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newDoctorMachine(t)
			tt.setup(t, m)
			if m.config != "" {
				writeDemoTestFile(t, filepath.Join(m.home, "cfg", "config.toml"), m.config)
			}
			var out bytes.Buffer
			code := runDoctor(context.Background(), m.env(), &out)
			got := out.String()
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			expand := strings.NewReplacer("PERSONAL", m.personal, "GLOBAL", m.global, "HOME", m.home)
			for _, w := range tt.want {
				if !strings.Contains(got, expand.Replace(w)) {
					t.Errorf("report lacks %q", expand.Replace(w))
				}
			}
			for _, d := range tt.dont {
				if strings.Contains(got, d) {
					t.Errorf("report has %q", d)
				}
			}
			// Every usable VM of the config was connected to, once; the
			// skipped one was not.
			var want []string
			for _, id := range []string{"vmdump_cfg_lab", "vmdump_cfg_other"} {
				if strings.Contains(m.config, "name = \""+strings.TrimPrefix(id, "vmdump_cfg_")+"\"") {
					want = append(want, id)
				}
			}
			slices.Sort(m.checked)
			if !slices.Equal(m.checked, want) {
				t.Errorf("the doctor checked %q, want %q", m.checked, want)
			}
			t.Logf("report:\n%s", got)
		})
	}
}

func TestListedBy(t *testing.T) {
	seen := []install.Seen{
		{Tshark: "/a/tshark", Version: "4.0.17", Listed: []string{"9. vmdump_cfg_lab (Docker VM lab (config))", "10. vmdump_cfg_lab2 (Docker VM lab2 (config))"}},
		{Tshark: "/b/tshark", Listed: []string{"3. vmdump_cfg_lab"}},
		{Tshark: "/c/tshark", Version: "4.4.1"},
	}
	tests := []struct{ id, want string }{
		{"vmdump_cfg_lab", " (in Wireshark 4.0.17, /b/tshark)"},
		{"vmdump_cfg_lab2", " (in Wireshark 4.0.17)"},
		{"vmdump_cfg_la", ""},
	}
	for _, tt := range tests {
		if got := listedBy(tt.id, seen); got != tt.want {
			t.Errorf("listedBy(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

// TestDoctorChecksVMsAtOnce: the doctor connects to every VM at the same
// time, each within doctorCheckTimeout, so that VMs that do not answer
// cost that long in all, not that long each.
func TestDoctorChecksVMsAtOnce(t *testing.T) {
	m := newDoctorMachine(t)
	m.config = labVMConfig + "[[vm]]\nname = \"b\"\nhost = \"10.0.0.8\"\n[[vm]]\nname = \"c\"\nhost = \"10.0.0.9\"\n"
	writeDemoTestFile(t, filepath.Join(m.home, "cfg", "config.toml"), m.config)
	writeDemoTestFile(t, filepath.Join(m.home, ".local", "lib", "wireshark", "extcap", "vmdump"), "vmdump v2")
	d := m.env()
	const vms = 3
	var arrived sync.WaitGroup
	arrived.Add(vms)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	start := time.Now()
	d.probe = func(ctx context.Context, vm vmctl.VM) (probe.Probe, error) {
		deadline, ok := ctx.Deadline()
		if !ok || deadline.Sub(start) > doctorCheckTimeout+time.Second {
			return probe.Probe{}, fmt.Errorf("fake: %s checked with deadline %v (set: %v), want within %v", vm.ID, deadline.Sub(start), ok, doctorCheckTimeout)
		}
		arrived.Done()
		select {
		case <-all: // every VM is being checked at once
			return capable, nil
		case <-time.After(5 * time.Second):
			return probe.Probe{}, fmt.Errorf("fake: %s checked alone, not together with the other VMs", vm.ID)
		}
	}
	var out bytes.Buffer
	code := runDoctor(context.Background(), d, &out)
	if got := strings.Count(out.String(), ": capture works (root, /usr/bin/tcpdump)"); code != 0 || got != vms {
		t.Errorf("exit %d and %d VMs that capture, want 0 and %d; report:\n%s", code, got, vms, out.String())
	}
}
