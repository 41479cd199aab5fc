package demo

import (
	"bytes"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
)

var testDemoVM = demoVM{Host: "10.231.7.2", Port: 22, User: "vmdlab", Key: "/home/a/.config/vmdump/demo_ed25519", Interface: "docker0"}

// TestDemoBlockParses: the block the demo appends is read by vmctl as one
// usable VM named "demo" with a pinned host key, after whatever the user
// wrote, and takes nothing away from it.
func TestDemoBlockParses(t *testing.T) {
	for _, tc := range []struct{ name, user string }{
		{"no file", ""},
		{"empty file", "\n"},
		{"top-level keys, no newline at end", "ssh_config_hosts = false"},
		{"ends inside a [[vm]] table", "[[vm]]\nname = \"build\"\nhost = \"10.0.0.9\"\n"},
		{"ends with another table", "[[vm]]\nname = \"a\"\nhost = \"10.0.0.1\"\n\n# comment\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var content []byte
			if tc.name != "no file" {
				content = []byte(tc.user)
			}
			out := withDemoBlock(content, demoBlock(4711, testDemoVM))
			if err := os.WriteFile(filepath.Join(dir, "config.toml"), out, 0o600); err != nil {
				t.Fatal(err)
			}
			env := hostenv.Env{Home: dir, GOOS: "linux", Getenv: func(k string) string {
				if k == "VMDUMP_CONFIG_DIR" {
					return dir
				}
				return ""
			}}
			cfg, err := discover.LoadConfig(env)
			if err != nil {
				t.Fatalf("config no longer parses: %v\n%s", err, out)
			}
			var demo *discover.ConfigVM
			for i := range cfg.VMs {
				if cfg.VMs[i].Name == demoName {
					demo = &cfg.VMs[i]
				}
			}
			want := discover.ConfigVM{Name: demoName, Host: testDemoVM.Host, Port: 22, User: testDemoVM.User, Key: testDemoVM.Key, Interface: "docker0", HostKey: "pin"}
			if demo == nil || !reflect.DeepEqual(*demo, want) {
				t.Fatalf("demo entry = %+v, want %+v", demo, want)
			}
			if wantVMs := strings.Count(tc.user, "[[vm]]") + 1; len(cfg.VMs) != wantVMs {
				t.Fatalf("%d VMs after adding the demo, want %d", len(cfg.VMs), wantVMs)
			}
			back, n := withoutDemoBlocks(out, func(pid int) bool { return pid == 4711 })
			if n != 1 {
				t.Fatalf("removed %d blocks, want 1", n)
			}
			if strings.TrimRight(string(back), "\n") != strings.TrimRight(tc.user, "\n") {
				t.Fatalf("after removal:\n%q\nwant the user's file back:\n%q", back, tc.user)
			}
		})
	}
}

func TestWithoutDemoBlocks(t *testing.T) {
	block := func(pid int) string { return demoBlock(pid, testDemoVM) }
	user := "accept_new_host_keys = true\n"
	tests := []struct {
		name    string
		in      string
		drop    func(int) bool
		want    string
		removed int
	}{
		{"only the given pid", withDemoString(withDemoString(user, block(1)), block(2)), func(p int) bool { return p == 1 },
			withDemoString(user, block(2)), 1},
		{"all", withDemoString(withDemoString(user, block(1)), block(2)), func(int) bool { return true }, user, 2},
		{"none", withDemoString(user, block(1)), func(int) bool { return false }, withDemoString(user, block(1)), 0},
		{"block without end line is the user's", user + "\n# >>> vmdump demo (pid 3): x\n[[vm]]\nname = \"demo\"\n",
			func(int) bool { return true }, user + "\n# >>> vmdump demo (pid 3): x\n[[vm]]\nname = \"demo\"\n", 0},
		{"CRLF file", "a = 1\r\n\r\n# >>> vmdump demo (pid 5): x\r\n[[vm]]\r\n# <<< vmdump demo\r\nb = 2\r\n",
			func(int) bool { return true }, "a = 1\r\n\r\nb = 2\r\n", 1},
		{"user text after the block stays", withDemoString(user, block(9)) + "# mine\n", func(int) bool { return true },
			user + "# mine\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := withoutDemoBlocks([]byte(tt.in), tt.drop)
			if string(got) != tt.want || n != tt.removed {
				t.Errorf("got %d removed,\n%q\nwant %d,\n%q", n, got, tt.removed, tt.want)
			}
		})
	}
}

func withDemoString(content, block string) string {
	return string(withDemoBlock([]byte(content), block))
}

func TestHasVMNamed(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"[[vm]]\nname = \"demo\"\n", true},
		{"[[vm]]\n  name='demo'  # mine\n", true},
		{"[[vm]]\nname = \"demo2\"\n", false},
		{"# name = \"other\"\n", false},
		{withDemoString("", demoBlock(1, testDemoVM)), false}, // the demo's own entry does not count
		{"", false},
	}
	for _, tt := range tests {
		if got := hasVMNamed([]byte(tt.in), demoName); got != tt.want {
			t.Errorf("hasVMNamed(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDemoOwnerFrom(t *testing.T) {
	alice := &user.User{Uid: "1000", Gid: "1000", Username: "alice", HomeDir: "/home/alice"}
	lookup := func(uid string) (*user.User, error) {
		if uid == "1000" {
			return alice, nil
		}
		return nil, user.UnknownUserIdError(1)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    demoOwner
		wantErr string
	}{
		{"root itself", map[string]string{"HOME": "/root"}, demoOwner{home: "/root", name: "root"}, ""},
		{"sudo -i as root", map[string]string{"HOME": "/root", "SUDO_UID": "0"}, demoOwner{home: "/root", name: "root"}, ""},
		{"sudo from alice", map[string]string{"HOME": "/root", "SUDO_UID": "1000", "SUDO_GID": "100"},
			demoOwner{uid: 1000, gid: 100, home: "/home/alice", name: "alice", viaSudo: true}, ""},
		{"sudo without SUDO_GID", map[string]string{"SUDO_UID": "1000"},
			demoOwner{uid: 1000, gid: 1000, home: "/home/alice", name: "alice", viaSudo: true}, ""},
		{"unknown sudo user", map[string]string{"SUDO_UID": "4242"}, demoOwner{}, "cannot find the sudo user 4242"},
		{"no home", nil, demoOwner{}, "HOME is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := demoOwnerFrom(func(k string) string { return tt.env[k] }, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestDemoRemovesStaleEntries: an entry left by a killed demo (its pid is
// dead) goes, with that VM's pinned key; a live demo's entry makes a second
// demo refuse to start.
func TestDemoRemovesStaleEntries(t *testing.T) {
	dir := t.TempDir()
	d := newDemo(demoOwner{home: dir, name: "root"}, []string{"/bin/true"})
	d.env.Getenv = func(k string) string {
		if k == "VMDUMP_CONFIG_DIR" {
			return dir
		}
		return ""
	}
	dead := deadDemoPid(t)
	user := "ssh_config_hosts = false\n"
	cfg := filepath.Join(dir, "config.toml")
	writeDemoTestFile(t, cfg, withDemoString(user, demoBlock(dead, testDemoVM)))
	pins := "# header\nconfig/demo ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIw+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nconfig/other ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIw+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	writeDemoTestFile(t, filepath.Join(dir, "known_hosts"), pins)

	if err := d.removeStaleEntries(); err != nil {
		t.Fatal(err)
	}
	if got := readDemoTestFile(t, cfg); got != user {
		t.Errorf("config after cleanup = %q, want %q", got, user)
	}
	if got := readDemoTestFile(t, filepath.Join(dir, "known_hosts")); strings.Contains(got, "config/demo") || !strings.Contains(got, "config/other") {
		t.Errorf("pinned keys after cleanup:\n%s", got)
	}

	writeDemoTestFile(t, cfg, withDemoString(user, demoBlock(os.Getppid(), testDemoVM)))
	if err := d.removeStaleEntries(); err == nil || !strings.Contains(err.Error(), "another vmdump demo") {
		t.Errorf("with a live demo's entry: err = %v", err)
	}
}

// TestDemoStopRemovesOnlyItsOwn: stop takes out the demo's entry, its key
// copy, its VM's inventory cache and, when the demo created the file, the
// file; nothing else.
func TestDemoStopRemovesOnlyItsOwn(t *testing.T) {
	for _, created := range []bool{false, true} {
		dir := t.TempDir()
		d := newDemo(demoOwner{home: dir, name: "root"}, []string{"/bin/true"})
		d.env.Getenv = func(k string) string {
			switch k {
			case "VMDUMP_CONFIG_DIR":
				return dir
			case "VMDUMP_CACHE_DIR":
				return filepath.Join(dir, "cache")
			}
			return ""
		}
		// Captures from the demo VM cached its inventory; another VM's
		// cache is not the demo's.
		d.vm = vmctl.VM{ID: "vmdump_cfg_demo"}
		inventory := probe.InventoryPath(d.env, d.vm.ID)
		otherInventory := probe.InventoryPath(d.env, "vmdump_cfg_build")
		if inventory == "" || otherInventory == "" {
			t.Fatal("no inventory cache path")
		}
		writeDemoTestFile(t, inventory, "{}")
		writeDemoTestFile(t, otherInventory, "{}")
		cfg := filepath.Join(dir, "config.toml")
		user := "# mine\n"
		if created {
			user = ""
		}
		other := demoBlock(d.pid+1, testDemoVM)
		if created {
			other = ""
		}
		writeDemoTestFile(t, cfg, withDemoString(withDemoString(user, demoBlock(d.pid, testDemoVM)), other))
		d.newConfig = created
		d.keyFile = filepath.Join(dir, "demo_ed25519")
		writeDemoTestFile(t, d.keyFile, "key")
		if err := d.stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(d.keyFile); err == nil {
			t.Error("key copy left behind")
		}
		if _, err := os.Stat(inventory); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the demo VM's inventory cache is still there: %v", err)
		}
		if _, err := os.Stat(otherInventory); err != nil {
			t.Errorf("another VM's inventory cache went: %v", err)
		}
		if created {
			if _, err := os.Stat(cfg); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("config file the demo created is still there: %v", err)
			}
			continue
		}
		if got, want := readDemoTestFile(t, cfg), withDemoString(user, other); got != want {
			t.Errorf("config after stop = %q, want %q", got, want)
		}
	}
}

func writeDemoTestFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readDemoTestFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// deadDemoPid returns the pid of a process that has exited.
func deadDemoPid(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Skip("cannot start /bin/true")
	}
	p.Wait()
	return p.Pid
}

func TestCmdDemoRefusals(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"extra"}, &stdout, &stderr, "demo-traffic"); code != 2 || !strings.Contains(stderr.String(), "no arguments") {
		t.Errorf("extra argument: exit %d, stderr %q", code, stderr.String())
	}
	if strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("error is not one line: %q", stderr.String())
	}
}

func TestProcessAlive(t *testing.T) {
	if !processAlive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	if processAlive(deadDemoPid(t)) || processAlive(0) || processAlive(-1) {
		t.Error("a dead or bad pid is alive")
	}
}
