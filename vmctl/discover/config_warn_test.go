package discover

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// Unknown keys do not fail the file but each is one warning that says
// which key, where and what was probably meant.
func TestConfigUnknownKeys(t *testing.T) {
	env, log := cfgTestEnv(t, `
ssh_config_host = true
interface = "eth0"

[[vm]]
name = "lab"
host = "10.0.0.1"

[[vm]]
name = "buildbox"
host = "10.0.0.2"
intreface = "docker0"
Port = 2222
ssh_config_hosts = true

[vm.extra]
a = 1
b = 2

[[vm]]
host = "10.0.0.3"
usr = "ops"
wibble.x = 1
hostname = "x"

[[vm_transport]]
manager = "lima"
name = "default"
transprot = "lima"
host = "10.0.0.9"
`)
	cfg, err := LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	path := env.ConfigFile()
	want := []string{
		`unknown key "ssh_config_host" at the top level; did you mean "ssh_config_hosts"?`,
		`unknown key "interface" at the top level; it belongs in a [[vm]] table`,
		`unknown key "intreface" in [[vm]] #2 "buildbox"; did you mean "interface"?`,
		`unknown key "ssh_config_hosts" in [[vm]] #2 "buildbox"; it is a top-level setting: move it above the first [[...]] table`,
		`unknown key "extra" in [[vm]] #2 "buildbox"; the keys of [[vm]] are name, host, port, user, key, interface, proxy_jump, host_key, exec, exec_quote, transport, instance, image`,
		`unknown key "usr" in [[vm]] #3 "10.0.0.3"; did you mean "user"?`,
		`unknown key "wibble.x" in [[vm]] #3 "10.0.0.3"; the keys of [[vm]] are name, host, port, user, key, interface, proxy_jump, host_key, exec, exec_quote, transport, instance, image`,
		`unknown key "hostname" in [[vm]] #3 "10.0.0.3"; did you mean "host"?`,
		`unknown key "transprot" in [[vm_transport]] #1 "lima/default"; did you mean "transport"?`,
		`unknown key "host" in [[vm_transport]] #1 "lima/default"; it belongs in a [[vm]] table`,
	}
	if len(cfg.Warnings) != len(want) {
		t.Errorf("%d warnings, want %d:\n%s", len(cfg.Warnings), len(want), strings.Join(cfg.Warnings, "\n"))
	}
	for i := range min(len(want), len(cfg.Warnings)) {
		if cfg.Warnings[i] != path+": "+want[i] {
			t.Errorf("warning %d:\n got %s\nwant %s: %s", i, cfg.Warnings[i], path, want[i])
		}
	}
	for _, w := range cfg.Warnings {
		if strings.ContainsAny(w, "\n\r") {
			t.Errorf("warning on more than one line: %q", w)
		}
	}
	if !strings.Contains(log.String(), "intreface") {
		t.Errorf("unknown key not logged: %s", log.String())
	}
	if got := ConfigWarnings(env); strings.Join(got, "\n") != strings.Join(cfg.Warnings, "\n") {
		t.Errorf("ConfigWarnings = %q", got)
	}
	// The file is still used: the VMs with typos are listed. (The toml
	// package matches keys regardless of case: "Port" is port.)
	if len(cfg.VMs) != 3 || cfg.VMs[1].Interface != "" || cfg.VMs[1].Port != 2222 || len(cfg.Transports) != 1 {
		t.Errorf("config not decoded: %+v", cfg)
	}
}

func TestConfigUnknownKeysInlineAndClean(t *testing.T) {
	env, _ := cfgTestEnv(t, `vm = [{name = "a", host = "h"}, {name = "b", host = "h2", intreface = "x"}]`+"\n")
	cfg, err := LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	// An inline array has no table headers to count.
	want := env.ConfigFile() + `: unknown key "intreface" in [[vm]]; did you mean "interface"?`
	if len(cfg.Warnings) != 1 || cfg.Warnings[0] != want {
		t.Errorf("warnings %q, want %q", cfg.Warnings, want)
	}

	env, _ = cfgTestEnv(t, "ssh_config_hosts = true\n[[vm]]\nname = \"a\"\nhost = \"h\"\ninterface = \"eth1\"\n")
	if cfg, err := LoadConfig(env); err != nil || cfg.Warnings != nil {
		t.Errorf("clean file: warnings %q, err %v", cfg.Warnings, err)
	}
	env, _ = cfgTestEnv(t, "")
	if w := ConfigWarnings(env); w != nil {
		t.Errorf("no file: %q", w)
	}
	env, _ = cfgTestEnv(t, "[[vm]]\nname = \"x\nintreface = 1\n")
	if w := ConfigWarnings(env); w != nil {
		t.Errorf("broken file: %q", w)
	}
}

// The memo returns the warnings again, without logging them again.
func TestConfigWarningsMemo(t *testing.T) {
	env, log := cfgTestEnv(t, "[[vm]]\nname = \"m\"\nhost = \"h\"\nintreface = \"x\"\n")
	first, err := LoadConfig(env)
	if err != nil || len(first.Warnings) != 1 {
		t.Fatalf("%q %v", first.Warnings, err)
	}
	logged := log.String()
	again, _ := LoadConfig(env)
	if strings.Join(again.Warnings, "\n") != strings.Join(first.Warnings, "\n") {
		t.Errorf("memo lost the warnings: %q", again.Warnings)
	}
	if log.String() != logged {
		t.Errorf("memo logged again:\n%s", log.String())
	}
}

// Discovery with unknown keys lists the VMs as before and writes nothing
// but the log: the extcap listing goes through here and must stay quiet.
func TestConfigUnknownKeysDiscover(t *testing.T) {
	env, _ := cfgTestEnv(t, "[[vm]]\nname = \"buildbox\"\nhost = \"10.9.9.9\"\nintreface = \"docker0\"\n")
	env.Log = slog.New(slog.DiscardHandler)
	vms := Discover(env)
	if len(vms) != 1 || vms[0].Skip != "" || vms[0].ID != "vmdump_cfg_buildbox" {
		t.Fatalf("got %+v", vms)
	}
}

func TestCfgNearestKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"intreface", "interface"},
		{"interfce", "interface"},
		{"hots", "host"},
		{"prot", "port"},
		{"nmae", "name"},
		{"proxy-jump", "proxy_jump"},
		{"proxyjump", "proxy_jump"},
		{"HOST", "host"},
		{"hostkey", "host_key"},
		{"exec_qoute", "exec_quote"},
		{"xyz", ""},
		{"hostname", "host"},
		{"username", "user"},
		{"ssh_port", "port"},
		{"keyfile", "key"},
		{"identity_file", ""},
		{"", ""},
	} {
		if got := cfgNearestKey(c.in, cfgVMKeys); got != c.want {
			t.Errorf("cfgNearestKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"ab", "ba", 1}, {"kitten", "sitting", 3}, {"intreface", "interface", 1}, {"café", "cafe", 1}} {
		if got := cfgEditDistance(c.a, c.b); got != c.d {
			t.Errorf("cfgEditDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

// A syntax error is reported on its own line: on line 1, in the middle,
// on the last line without a trailing newline, and where the toml package
// counts one line too many (the error is on the newline ending the line).
func TestConfigSyntaxErrorLine(t *testing.T) {
	for _, c := range []struct {
		name, text string
		line       string
	}{
		{"line 1", "{}\nssh_config_hosts = true\n", "line 1:"},
		{"line 1, only line", "[vm", "line 1:"},
		{"line 1, error on its newline", "[vm\nssh_config_hosts = true\n", "line 1:"},
		{"line 1, array header", "[[vm]\nname = \"a\"\n", "line 1:"},
		{"line 1, sign without digits", "ssh_config_hosts = +\n", "line 1:"},
		{"line 1, after a BOM", "\xef\xbb\xbf[vm\n", "line 1:"},
		{"line 2 after a BOM", "\xef\xbb\xbfa = 1\n[vm\n", "line 2:"},
		{"middle", "ssh_config_hosts = true\n\n[[vm]\nname = \"a\"\n", "line 3:"},
		{"middle, unterminated string", "[[vm]]\nname = \"a\nhost = \"h\"\n", "line 2:"},
		{"middle, CRLF", "ssh_config_hosts = true\r\n[vm\r\nx = 1\r\n", "line 2:"},
		{"last line without newline", "[[vm]]\nname = \"a\"\nhost = \"h", "line 3:"},
		{"last line without newline, bad header", "[[vm]]\nname = \"a\"\n[vm", "line 3:"},
		{"last line with newline", "[[vm]]\nname = \"a\"\n[[vm]\n", "line 3:"},
		{"duplicate key", "[[vm]]\nname = \"a\"\nname = \"b\"\n", "line 3:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, _ := cfgTestEnv(t, c.text)
			_, err := LoadConfig(env)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, env.ConfigFile()+": "+c.line) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line at %q", msg, c.line)
			}
		})
	}
}

// A config broken the way the CLI script checks it: the line is the one
// with the unterminated string.
func TestConfigSyntaxErrorFixture(t *testing.T) {
	dir := t.TempDir()
	env := hostenv.Env{Home: dir, GOOS: "linux", Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), Getenv: func(k string) string {
		if k == "VMDUMP_CONFIG_DIR" {
			return dir
		}
		return ""
	}}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte("[[vm]]\nname = \"half\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(env)
	if err == nil || !strings.Contains(err.Error(), ": line 2: strings cannot contain newlines; fix the file") {
		t.Fatalf("error = %v", err)
	}
}

// A quoted key may hold anything; its warning stays one line.
func TestConfigUnknownKeyQuoted(t *testing.T) {
	env, _ := cfgTestEnv(t, "[[vm]]\nname = \"a\\nb\"\nhost = \"h\"\n\"in\\ntre\\u0000face\" = 1\n")
	cfg, err := LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	want := env.ConfigFile() + `: unknown key "in\ntre\x00face" in [[vm]] #1 "a\nb"; did you mean "interface"?`
	if len(cfg.Warnings) != 1 || cfg.Warnings[0] != want {
		t.Errorf("warnings %q\nwant %q", cfg.Warnings, want)
	}
}
