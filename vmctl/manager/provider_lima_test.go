package manager

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

func TestProviderLimaSSHConfig(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       limaSSH
		problem    string
	}{
		{"lima format, quoted values", `# This SSH config file can be passed to 'ssh -F'.
Host lima-default
  IdentityFile "/Users/u/.lima/_config/user"
  IdentityFile "/Users/u/.ssh/id_ed25519"
  User u
  ControlPath "/Users/u/.lima/default/ssh.sock"
  Hostname 127.0.0.1
  Port 60022
`, limaSSH{"127.0.0.1", 60022, "u", []string{"/Users/u/.lima/_config/user", "/Users/u/.ssh/id_ed25519"}}, ""},
		{"equals signs and no hostname", "Host lima-x\n  Port=2222\n  User=a\n",
			limaSSH{"127.0.0.1", 2222, "a", nil}, ""},
		{"include is not followed", "Include /etc/passwd\nHost lima-x\n  Port 5\n",
			limaSSH{"127.0.0.1", 5, "", nil}, ""},
		{"match exec is not run", "Match exec \"touch /tmp/x\"\n  Port 1\nHost lima-x\n  Port 6\n",
			limaSSH{"127.0.0.1", 6, "", nil}, ""},
		{"empty", "  \n", limaSSH{}, "is empty"},
		{"only wildcard hosts", "Host *\n  Port 22\n", limaSSH{}, "has no Host block"},
		{"no port", "Host lima-x\n  User u\n", limaSSH{}, "has no Port"},
		{"bad port", "Host lima-x\n  Port http\n", limaSSH{}, `has Port "http", not a TCP port`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, problem := limaParseSSHConfig([]byte(c.text))
			if problem != c.problem {
				t.Fatalf("problem = %q, want %q", problem, c.problem)
			}
			if got.HostName != c.want.HostName || got.Port != c.want.Port || got.User != c.want.User ||
				strings.Join(got.IdentityFiles, "|") != strings.Join(c.want.IdentityFiles, "|") {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestProviderLimaYAML(t *testing.T) {
	def, err := os.ReadFile(filepath.Join("..", "discover", "testdata", "homes", "full", "home", ".lima", "default", "lima.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docker, err := os.ReadFile(filepath.Join("..", "discover", "testdata", "homes", "full", "home", ".lima", "docker", "lima.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, tr := false, true
	for _, c := range []struct {
		name     string
		text     string
		vmType   string
		user     *bool
		rootless bool
		note     string // substring of rootlessNote(); "" = none
	}{
		{"default template (all null)", string(def), "", nil, false, "rootless containerd"},
		{"docker template", string(docker), "", &f, true, "rootless Docker"},
		{"block style", "vmType: vz # the fast one\ncontainerd:\n  system: true\n  user: false\nimages: []\n", "vz", &f, false, ""},
		{"flow style", "vmType: \"qemu\"\ncontainerd: {system: false, user: true}\n", "qemu", &tr, false, "rootless containerd"},
		{"nested user: is not containerd's", "user:\n  name: u\ncontainerd:\n  user: false\n", "", &f, false, ""},
		{"plain mode", "plain: true\n", "", nil, false, ""},
		{"non-Linux guest", "os: Darwin\n", "", nil, false, ""},
		{"riscv64 has no default containerd", "arch: riscv64\n", "", nil, false, ""},
		{"garbage", "\x00\xff: : :\n\t- {", "", nil, false, "rootless containerd"},
	} {
		t.Run(c.name, func(t *testing.T) {
			y := limaScanYAML([]byte(c.text))
			if y.VMType != c.vmType || y.RootlessDocker != c.rootless || !limaSameBool(y.ContainerdUser, c.user) {
				t.Errorf("got vmType=%q user=%v rootlessDocker=%v", y.VMType, limaShowBool(y.ContainerdUser), y.RootlessDocker)
			}
			note := y.rootlessNote()
			if (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
				t.Errorf("note = %q, want one containing %q", note, c.note)
			}
		})
	}
}

func TestProviderLimaYAMLPrecedence(t *testing.T) {
	f, tr := false, true
	got := limaMergeYAML(limaYAML{ContainerdUser: &f}, limaYAML{ContainerdUser: &tr, VMType: "qemu"}, limaYAML{VMType: "vz", OS: "Linux"})
	if *got.ContainerdUser != false || got.VMType != "qemu" || got.OS != "Linux" {
		t.Errorf("got %+v", got)
	}
}

func limaSameBool(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
func limaShowBool(b *bool) string {
	if b == nil {
		return "nil"
	}
	return strconv.FormatBool(*b)
}

func TestProviderLimaState(t *testing.T) {
	alive, dead := os.Getpid(), vmtest.DeadPID(t)
	env := hostenv.Env{ProcessAlive: hostenv.HostProcessAlive}
	for _, c := range []struct {
		name   string
		files  map[string]string
		vmType string
		want   vmctl.State
	}{
		{"both alive", map[string]string{"ha.pid": limaTestItoa(alive), "qemu.pid": limaTestItoa(alive)}, "qemu", vmctl.Running},
		{"vmType unknown: any driver pid", map[string]string{"ha.pid": limaTestItoa(alive), "krunkit.pid": limaTestItoa(alive)}, "", vmctl.Running},
		{"vmType names another driver", map[string]string{"ha.pid": limaTestItoa(alive), "qemu.pid": limaTestItoa(alive)}, "vz", vmctl.Unknown},
		{"stale pids", map[string]string{"ha.pid": limaTestItoa(dead), "vz.pid": limaTestItoa(dead)}, "vz", vmctl.Stopped},
		{"no pid files", nil, "qemu", vmctl.Stopped},
		{"driver alive, hostagent gone", map[string]string{"ha.pid": limaTestItoa(dead), "qemu.pid": limaTestItoa(alive)}, "qemu", vmctl.Unknown},
		{"garbage pid", map[string]string{"ha.pid": "-1", "qemu.pid": "0"}, "qemu", vmctl.Stopped},
		{"pid file is a directory", map[string]string{"ha.pid/": "", "qemu.pid": limaTestItoa(alive)}, "qemu", vmctl.Unknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range c.files {
				if strings.HasSuffix(name, "/") {
					if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := limaState(env, dir, c.vmType); got != c.want {
				t.Errorf("state = %s, want %s", got, c.want)
			}
		})
	}
}

func limaTestItoa(n int) string { return strconv.Itoa(n) }
