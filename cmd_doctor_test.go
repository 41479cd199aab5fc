package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/install"
	"github.com/vmdump/vmdump/vmctl/discover"
)

// doctorMachine is a fake machine for the doctor: a temp home, an optional
// fake tshark 4.0.17 and vmdump's config file.
type doctorMachine struct {
	home, personal, global, self string
	tshark                       bool // a tshark exists
	loads                        bool // it loads vmdump (-G plugins)
	config                       string
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
		vms: discover.Env{Home: m.home, GOOS: "linux", Root: m.home, Getenv: func(k string) string {
			if k == "VMDUMP_CONFIG_DIR" {
				return cfgDir
			}
			return ""
		}},
		self: m.self,
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
			"ok    vmdump_cfg_lab  Docker VM lab (config) (in Wireshark 4.0.17)",
			"\nReady: open Wireshark",
		}, []string{"FAIL", "warn"}},
		{"loaded, but one VM not listed by tshark", func(t *testing.T, m *doctorMachine) {
			m.tshark, m.loads = true, true
			m.config = labVMConfig + "[[vm]]\nname = \"other\"\nhost = \"10.0.0.8\"\n"
			writeDemoTestFile(t, filepath.Join(m.personal, "vmdump"), "vmdump v2")
		}, 0, []string{
			"ok    vmdump_cfg_lab  Docker VM lab (config) (in Wireshark 4.0.17)",
			"warn  vmdump_cfg_other  Docker VM other (config): usable, but tshark does not list it",
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
			"ok    vmdump_cfg_lab  Docker VM lab (config)\n",
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
			"ok    vmdump_cfg_lab  Docker VM lab (config)\n",
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
