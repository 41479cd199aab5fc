package manager

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// sshTestHome writes files (path relative to home -> content) and returns
// an Env with that home and ssh_config_hosts enabled.
func sshTestHome(t *testing.T, files map[string]string) hostenv.Env {
	t.Helper()
	home := t.TempDir()
	files[".config/vmdump/config.toml"] = "ssh_config_hosts = true\n"
	for rel, content := range files {
		p := filepath.Join(home, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return hostenv.Env{Home: home, GOOS: "linux", Getenv: func(string) string { return "" }}
}

func sshTestNames(vms []vmctl.VM) string {
	var names []string
	for _, vm := range vms {
		names = append(names, vm.Name)
	}
	return strings.Join(names, ",")
}

func TestProviderSSHConfigHosts(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"aliases in order, wildcards and negations skipped", map[string]string{
			".ssh/config": "Host b a\n  User x\nHost *.corp !x.corp c?\n  User y\nHost a\n  Port 1\n",
		}, "b,a"},
		{"include relative to ~/.ssh, glob, in place", map[string]string{
			".ssh/config":        "Host first\nInclude conf.d/*.conf\nHost last\n",
			".ssh/conf.d/1.conf": "Host inc1\n",
			".ssh/conf.d/2.conf": "Host inc2\n",
			".ssh/conf.d/skip":   "Host notconf\n",
		}, "first,inc1,inc2,last"},
		{"include loop ends", map[string]string{
			".ssh/config": "Host top\nInclude ~/.ssh/config\n",
		}, "top"},
		{"missing include and unreadable file", map[string]string{
			".ssh/config": "Include /nonexistent/*\nInclude ~/.ssh/dir\nHost ok\n",
			".ssh/dir/x":  "Host hidden\n",
		}, "ok"},
		{"Match blocks never define aliases", map[string]string{
			".ssh/config": "Match host foo exec \"true\"\n  User m\nHost real\n",
		}, "real"},
		{"no config", map[string]string{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := sshTestHome(t, c.files)
			if got := sshTestNames(FindSSHConfigHosts(env)); got != c.want {
				t.Errorf("aliases = %q, want %q", got, c.want)
			}
		})
	}
}

func TestProviderSSHAliasTargets(t *testing.T) {
	env := sshTestHome(t, map[string]string{
		".ssh/config": "Include colima\nHost plain\nHost lima-x\n  HostName %h.local\n  User first\nHost *\n  User fallback\n  Port 2200\n",
		".ssh/colima": "Host colima\n  Hostname 127.0.0.1\n  Port 51022\n  User u\n",
	})
	got := SshcfgAliasTargets(env)
	want := map[string]DiscSSHTarget{
		"colima": {"127.0.0.1", 51022, "u"},
		"plain":  {"plain", 2200, "fallback"},
		"lima-x": {"lima-x.local", 2200, "first"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for alias, w := range want {
		if got[alias] != w {
			t.Errorf("%s -> %+v, want %+v", alias, got[alias], w)
		}
	}
}

func TestProviderSSHConfigSplit(t *testing.T) {
	parts := sshcfgSplit([]byte("Host a\n  User x\n  Include \"my file\" other # c\n  Port 2\nMatch all\n  User m\n"))
	if len(parts) != 3 {
		t.Fatalf("got %d parts", len(parts))
	}
	if strings.Join(parts[1].includes, "|") != "my file|other" {
		t.Errorf("include args = %q", parts[1].includes)
	}
	// The text after an Include continues the Host block it was in.
	if !strings.HasPrefix(string(parts[2].text), "Host a\n  Port 2\nHost !*\n") {
		t.Errorf("continuation = %q", parts[2].text)
	}
}
