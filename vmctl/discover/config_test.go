package discover

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// cfgTestEnv is an Env whose config.toml holds text ("" = no file).
func cfgTestEnv(t *testing.T, text string) (hostenv.Env, *bytes.Buffer) {
	t.Helper()
	home := t.TempDir()
	log := &bytes.Buffer{}
	env := hostenv.Env{Home: home, GOOS: "linux", Getenv: func(string) string { return "" },
		Log: slog.New(slog.NewTextHandler(log, nil))}
	if text != "" {
		dir := filepath.Join(home, ".config", "vmdump")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return env, log
}

func TestLoadConfig(t *testing.T) {
	t.Run("missing file is an empty config", func(t *testing.T) {
		env, _ := cfgTestEnv(t, "")
		cfg, err := LoadConfig(env)
		if err != nil || cfg.SSHConfigHosts || len(cfg.VMs) != 0 {
			t.Fatalf("got %+v, %v", cfg, err)
		}
	})
	t.Run("no home", func(t *testing.T) {
		if cfg, err := LoadConfig(hostenv.Env{GOOS: "linux"}); err != nil || len(cfg.VMs) != 0 {
			t.Fatalf("got %+v, %v", cfg, err)
		}
	})
	t.Run("full", func(t *testing.T) {
		env, log := cfgTestEnv(t, `
ssh_config_hosts = true
accept_new_host_keys = true
typo_key = 1

[[vm]]
name = "a"
host = "10.0.0.1"
port = 2222
user = "ops"
key = "~/.ssh/id"
interface = "ens5"
proxy_jump = "bastion"
host_key = "pin"
`)
		cfg, err := LoadConfig(env)
		if err != nil {
			t.Fatal(err)
		}
		want := ConfigVM{Name: "a", Host: "10.0.0.1", Port: 2222, User: "ops", Key: "~/.ssh/id",
			Interface: "ens5", ProxyJump: "bastion", HostKey: "pin"}
		if !cfg.SSHConfigHosts || !cfg.AcceptNewHostKeys || len(cfg.VMs) != 1 || !reflect.DeepEqual(cfg.VMs[0], want) {
			t.Fatalf("got %+v", cfg)
		}
		if !strings.Contains(log.String(), "typo_key") {
			t.Errorf("unknown key not logged: %s", log.String())
		}
	})
	for _, c := range []struct{ name, text, want string }{
		{"truncated", "[[vm]]\nname = \"x", "line 2"},
		{"wrong type", "[[vm]]\nport = \"22\"", "incompatible types"},
		{"not toml", "{}", "line 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, _ := cfgTestEnv(t, c.text)
			_, err := LoadConfig(env)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error = %v, want one line mentioning %q", err, c.want)
			}
		})
	}
	t.Run("directory instead of file", func(t *testing.T) {
		env, _ := cfgTestEnv(t, "")
		if err := os.MkdirAll(filepath.Join(env.ConfigDir(), "config.toml"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadConfig(env); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestConfigVMs(t *testing.T) {
	env := hostenv.Env{Home: "/home/u", GOOS: "linux", Getenv: func(string) string { return "" }}
	for _, c := range []struct {
		name     string
		in       ConfigVM
		want     vmctl.VM // compared on endpoint fields when wantSkip == ""
		wantSkip string
	}{
		{"defaults", ConfigVM{Name: "a", Host: "example.org"},
			vmctl.VM{Name: "a", Host: "example.org", Port: 22}, ""},
		{"name defaults to host", ConfigVM{Host: "10.1.1.1"},
			vmctl.VM{Name: "10.1.1.1", Host: "10.1.1.1", Port: 22}, ""},
		{"loopback pins by default", ConfigVM{Name: "l", Host: "127.0.0.1", Port: 2222},
			vmctl.VM{Name: "l", Host: "127.0.0.1", Port: 2222, Loopback: true}, ""},
		{"loopback with known_hosts", ConfigVM{Name: "l", Host: "localhost", HostKey: "known_hosts"},
			vmctl.VM{Name: "l", Host: "localhost", Port: 22}, ""},
		{"remote pinned", ConfigVM{Name: "r", Host: "10.0.0.2", HostKey: "pin"},
			vmctl.VM{Name: "r", Host: "10.0.0.2", Port: 22, Loopback: true}, ""},
		{"key with tilde", ConfigVM{Name: "k", Host: "h", Key: "~/.ssh/my key"},
			vmctl.VM{Name: "k", Host: "h", Port: 22, KeyFiles: []string{"/home/u/.ssh/my key"}}, ""},
		{"relative key is under the config dir", ConfigVM{Name: "k", Host: "h", Key: "keys/id"},
			vmctl.VM{Name: "k", Host: "h", Port: 22, KeyFiles: []string{"/home/u/.config/vmdump/keys/id"}}, ""},
		{"ipv6", ConfigVM{Name: "6", Host: "fe80::1%eth0"}, vmctl.VM{Name: "6", Host: "fe80::1%eth0", Port: 22}, ""},
		{"option host", ConfigVM{Name: "x", Host: "-oProxyCommand=id"}, vmctl.VM{}, "starts with '-'"},
		{"option user", ConfigVM{Name: "x", Host: "h", User: "-oProxyCommand=id"}, vmctl.VM{}, "starts with '-'"},
		{"semicolon host", ConfigVM{Name: "x", Host: "h;id"}, vmctl.VM{}, `contains ";"`},
		{"subshell user", ConfigVM{Name: "x", Host: "h", User: "$(id)"}, vmctl.VM{}, `contains "$"`},
		{"backtick name", ConfigVM{Name: "`id`", Host: "h"}, vmctl.VM{}, "name"},
		{"newline name", ConfigVM{Name: "a\nb", Host: "h"}, vmctl.VM{}, "name"},
		{"NUL in key", ConfigVM{Name: "x", Host: "h", Key: "a\x00b"}, vmctl.VM{}, "NUL"},
		{"space in host", ConfigVM{Name: "x", Host: "a b"}, vmctl.VM{}, "not allowed in a host name"},
		{"negative port", ConfigVM{Name: "x", Host: "h", Port: -1}, vmctl.VM{}, "not a TCP port"},
		{"bad host_key", ConfigVM{Name: "x", Host: "h", HostKey: "off"}, vmctl.VM{}, "host_key"},
		{"bad proxy jump", ConfigVM{Name: "x", Host: "h", ProxyJump: "a,-oX"}, vmctl.VM{}, "starting with '-'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := cfgVM(env, 0, c.in)
			if c.wantSkip != "" {
				if !strings.Contains(got.Skip, c.wantSkip) || got.Host != "" || got.User != "" || got.KeyFiles != nil {
					t.Fatalf("got %+v, want skipped for %q with no endpoint", got, c.wantSkip)
				}
				if !strings.HasPrefix(got.Skip, "[[vm]] #1: ") {
					t.Errorf("skip reason does not say which [[vm]]: %q", got.Skip)
				}
				return
			}
			if got.Skip != "" {
				t.Fatalf("skipped: %s", got.Skip)
			}
			if got.Name != c.want.Name || got.Host != c.want.Host || got.Port != c.want.Port ||
				got.Loopback != c.want.Loopback || strings.Join(got.KeyFiles, ",") != filepath.FromSlash(strings.Join(c.want.KeyFiles, ",")) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestConfigExecVMs(t *testing.T) {
	env, log := cfgTestEnv(t, `
[[vm]]
name = "ns"
exec = ["ip", "netns", "exec", "vm1"]
interface = "veth1"

[[vm]]
name = "ubuntu"
transport = "multipass"

[[vm]]
transport = "docker-desktop"
instance = "desktop-linux"
image = "example/tcpdump"

[[vm]]
name = "jump"
exec = ["ssh", "-T", "box"]
exec_quote = true

[[vm]]
name = "both"
host = "10.0.0.1"
exec = ["x"]

[[vm]]
name = "two"
exec = ["x"]
transport = "lima"

[[vm]]
name = "bad-preset"
transport = "vbox"

[[vm]]
name = "stray-image"
image = "x"

[[vm]]
name = "empty-prog"
exec = [""]

[[vm_transport]]
manager = "config"
name = "ubuntu"
transport = "lima"
instance = "other"

[[vm_transport]]
manager = "lima"
name = "gone"
transport = "lima"
`)
	vms := Discover(env)
	got := map[string]vmctl.VM{}
	for _, vm := range vms {
		got[vm.Name] = vm
	}
	for name, want := range map[string]string{
		"ns":            "ip netns exec vm1",
		"ubuntu":        "limactl shell other", // [[vm_transport]] switched it
		"desktop-linux": "docker --context desktop-linux run --rm -i --net=host --privileged --log-driver=none example/tcpdump",
		"jump":          "ssh -T box",
	} {
		vm := got[name]
		if vm.Skip != "" || !vm.Capturable() || strings.Join(vm.Exec, " ") != want || vm.Endpoint() != want {
			t.Errorf("%s: %+v, want exec %q", name, vm, want)
		}
	}
	if !got["jump"].ExecQuote || got["ns"].ExecQuote || got["ns"].Interface != "veth1" {
		t.Errorf("exec_quote/interface lost: %+v %+v", got["jump"], got["ns"])
	}
	for name, want := range map[string]string{
		"both":        "host is an SSH setting",
		"two":         "either exec or transport",
		"bad-preset":  `transport "vbox" is not one of`,
		"stray-image": "exec or transport is missing",
		"empty-prog":  "empty program name",
	} {
		vm := got[name]
		if !strings.Contains(vm.Skip, want) || vm.Capturable() || vm.Exec != nil {
			t.Errorf("%s: %+v, want skipped for %q", name, vm, want)
		}
	}
	if !strings.Contains(log.String(), "names no VM") || !strings.Contains(log.String(), "gone") {
		t.Errorf("unmatched [[vm_transport]] not logged:\n%s", log.String())
	}

	var buf strings.Builder
	js, err := json.MarshalIndent([]vmctl.VM{got["jump"]}, "", "  ") // as vmdump list --json writes it
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(js)
	if !strings.Contains(buf.String(), `"exec": [`) || !strings.Contains(buf.String(), `"exec_quote": true`) {
		t.Errorf("list --json lacks exec:\n%s", buf.String())
	}
	buf.Reset()
	buf.WriteString(got["ns"].Endpoint()) // vmdump list's ENDPOINT column
	if !strings.Contains(buf.String(), "ip netns exec vm1") {
		t.Errorf("list lacks the exec command:\n%s", buf.String())
	}
}

func TestConfigTransportBadValuesSkipTheVM(t *testing.T) {
	env, _ := cfgTestEnv(t, `
[[vm]]
name = "box"
host = "192.0.2.1"

[[vm_transport]]
manager = "config"
name = "box"
transport = "multipass"
instance = "-x"
`)
	vms := Discover(env)
	if len(vms) != 1 || !strings.Contains(vms[0].Skip, "[[vm_transport]] #1: instance") || vms[0].Capturable() {
		t.Fatalf("got %+v", vms)
	}
}

// The parse is reused only for the same bytes: a changed file is parsed
// again, also when it changes back.
func TestLoadConfigReparsesChangedFile(t *testing.T) {
	dir := t.TempDir()
	env := hostenv.Env{Home: dir, GOOS: "linux", Getenv: func(k string) string {
		if k == "VMDUMP_CONFIG_DIR" {
			return dir
		}
		return ""
	}}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		text string
		want bool
	}{{"ssh_config_hosts = true\n", true}, {"ssh_config_hosts = false\n", false}, {"ssh_config_hosts = true\n", true}} {
		write(c.text)
		for range 2 {
			cfg, err := LoadConfig(env)
			if err != nil || cfg.SSHConfigHosts != c.want {
				t.Fatalf("%q: SSHConfigHosts %v, err %v", c.text, cfg.SSHConfigHosts, err)
			}
		}
	}
	write("ssh_config_hosts = [\n")
	if _, err := LoadConfig(env); err == nil {
		t.Fatal("a broken file parsed")
	}
	if _, err := LoadConfig(env); err == nil {
		t.Fatal("a broken file parsed the second time")
	}
}
