package hostenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestConfigAndCacheDir(t *testing.T) {
	for _, c := range []struct {
		name        string
		home, goos  string
		vars        map[string]string
		config, cch string
	}{
		{"linux defaults", "/home/u", "linux", nil, "/home/u/.config/vmdump", "/home/u/.cache/vmdump"},
		{"linux XDG", "/home/u", "linux", map[string]string{"XDG_CONFIG_HOME": "/x/cfg", "XDG_CACHE_HOME": "/x/cache"},
			"/x/cfg/vmdump", "/x/cache/vmdump"},
		{"relative XDG is ignored", "/home/u", "linux", map[string]string{"XDG_CONFIG_HOME": "rel", "XDG_CACHE_HOME": "rel"},
			"/home/u/.config/vmdump", "/home/u/.cache/vmdump"},
		{"overrides", "/home/u", "linux", map[string]string{"VMDUMP_CONFIG_DIR": "/etc/vmd", "VMDUMP_CACHE_DIR": "/var/cache/vmd"},
			"/etc/vmd", "/var/cache/vmd"},
		{"macOS", "/Users/u", "darwin", map[string]string{"XDG_CONFIG_HOME": "/ignored"},
			"/Users/u/Library/Application Support/vmdump", "/Users/u/Library/Caches/vmdump"},
		{"windows", "/c/Users/u", "windows", map[string]string{"APPDATA": "/c/Users/u/AppData/Roaming", "LOCALAPPDATA": "/c/Users/u/AppData/Local"},
			"/c/Users/u/AppData/Roaming/vmdump", "/c/Users/u/AppData/Local/vmdump"},
		{"windows without APPDATA", "/c/Users/u", "windows", nil,
			"/c/Users/u/AppData/Roaming/vmdump", "/c/Users/u/AppData/Local/vmdump"},
		{"no home", "", "linux", nil, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := Env{Home: c.home, GOOS: c.goos, Getenv: func(k string) string { return c.vars[k] }}
			if got := env.ConfigDir(); got != filepath.FromSlash(c.config) {
				t.Errorf("ConfigDir = %q, want %q", got, c.config)
			}
			if got := env.CacheDir(); got != filepath.FromSlash(c.cch) {
				t.Errorf("CacheDir = %q, want %q", got, c.cch)
			}
		})
	}
}

func TestDiscoverEnvProcessAlive(t *testing.T) {
	if !HostProcessAlive(os.Getpid()) {
		t.Error("this process is reported dead")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if HostProcessAlive(cmd.Process.Pid) {
		t.Errorf("exited process %d is reported alive", cmd.Process.Pid)
	}
	for _, pid := range []int{0, -1, 1 << 31} {
		if HostProcessAlive(pid) {
			t.Errorf("pid %d is reported alive", pid)
		}
	}
}

func TestDiscoverHostEnv(t *testing.T) {
	env := HostEnv(nil)
	if env.Getenv == nil || env.ProcessAlive == nil || env.GOOS == "" || env.Root != "" {
		t.Fatalf("incomplete host env: %+v", env)
	}
	if env.Logger() == nil {
		t.Fatal("nil logger")
	}
}

func TestConfigExpandHome(t *testing.T) {
	env := Env{Home: "/home/u"}
	for in, want := range map[string]string{
		"~":            "/home/u",
		"~/.ssh/id":    "/home/u/.ssh/id",
		"/abs/key":     "/abs/key",
		"~other/key":   "~other/key",
		"relative/key": "relative/key",
	} {
		if got := env.ExpandHome(in); got != filepath.FromSlash(want) {
			t.Errorf("expandHome(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (Env{}).ExpandHome("~/x"); got != "" {
		t.Errorf("without a home, ~/x became %q", got)
	}
}
