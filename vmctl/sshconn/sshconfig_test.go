package sshconn

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
)

const testSSHConfig = `
Host lima-default
  HostName 127.0.0.1
  Port 60022
  User alice
  IdentityFile "~/.lima/_config/user"
  IdentityFile ~/.ssh/id_%r_%h
  IdentitiesOnly yes
  StrictHostKeyChecking accept-new

Match exec "false"
  User evil
  HostName evil.example

Host bastion-*
  User jump

Host inner
  HostName %h.internal
  ProxyJump bastion-1:2200,carol@bastion-2
  UserKnownHostsFile ~/.ssh/kh_inner /dev/null
  ProxyCommand nc %h %p

Host *
  User fallback
  IdentityFile none
`

func TestResolveSSHConfig(t *testing.T) {
	home := t.TempDir()
	path := vmtest.WriteFile(t, filepath.Join(home, ".ssh", "config"), testSSHConfig)
	cfg := loadUserSSHConfig(path, vmtest.DiscardLog())
	if cfg == nil {
		t.Fatal("config with a Match exec block was not loaded")
	}
	for _, tc := range []struct {
		alias string
		want  sshTarget
	}{
		{"lima-default", sshTarget{
			Alias: "lima-default", HostName: "127.0.0.1", Port: 60022, User: "alice",
			IdentityFiles:  []string{filepath.Join(home, ".lima/_config/user"), filepath.Join(home, ".ssh/id_alice_127.0.0.1")},
			IdentitiesOnly: true, StrictHostKeyChecking: "accept-new",
		}},
		{"inner", sshTarget{
			Alias: "inner", HostName: "inner.internal", Port: 22, User: "fallback",
			ProxyJump: "bastion-1:2200,carol@bastion-2", ProxyCommand: "nc %h %p",
			KnownHostsFiles: []string{filepath.Join(home, ".ssh/kh_inner"), "/dev/null"},
		}},
		{"bastion-1", sshTarget{Alias: "bastion-1", HostName: "bastion-1", Port: 22, User: "jump"}},
		{"10.0.0.1", sshTarget{Alias: "10.0.0.1", HostName: "10.0.0.1", Port: 22, User: "fallback"}},
	} {
		got := resolveSSHConfig(cfg, tc.alias, home, "me")
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got  %+v\n want %+v", tc.alias, got, tc.want)
		}
	}
	// The neutralised Match block must apply to no host.
	if got := resolveSSHConfig(cfg, "evil.example", home, "me"); got.User == "evil" {
		t.Error("settings of an unsupported Match block were applied")
	}
}

func TestResolveSSHConfigWithoutConfig(t *testing.T) {
	got := resolveSSHConfig(nil, "host", "/h", "me")
	want := sshTarget{Alias: "host", HostName: "host", Port: 22, User: "me"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if loadUserSSHConfig(filepath.Join(t.TempDir(), "missing"), vmtest.DiscardLog()) != nil {
		t.Error("missing config file gave a config")
	}
	if loadUserSSHConfig("", vmtest.DiscardLog()) != nil {
		t.Error("empty path gave a config")
	}
}

func TestLoadUserSSHConfigBrokenIsIgnored(t *testing.T) {
	path := vmtest.WriteFile(t, filepath.Join(t.TempDir(), "config"), "Host a\n  Port 22\nHost [\n")
	_ = loadUserSSHConfig(path, vmtest.DiscardLog()) // must not panic; nil or partial are both fine
}

func TestSSHTokens(t *testing.T) {
	tk := sshTokens{home: "/home/u", localUser: "u", alias: "vm", host: "10.0.0.5", user: "docker", port: 2222}
	for in, want := range map[string]string{
		"~/.ssh/id":           "/home/u/.ssh/id",
		"~":                   "/home/u",
		"%d/k_%r@%h:%p":       "/home/u/k_docker@10.0.0.5:2222",
		"%n-%u":               "vm-u",
		"100%%":               "100%",
		"%x stays":            "%x stays",
		"trailing %":          "trailing %",
		"/abs/~/not-expanded": "/abs/~/not-expanded",
	} {
		if got := tk.expand(in); got != filepath.FromSlash(want) && got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSSHConfigParseProxyJump(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []jumpHop
		wantErr bool
	}{
		{"", nil, false},
		{"none", nil, false},
		{"bastion", []jumpHop{{Host: "bastion"}}, false},
		{"u@b1:2200, b2", []jumpHop{{User: "u", Host: "b1", Port: 2200}, {Host: "b2"}}, false},
		{"ssh://u@[::1]:2222", []jumpHop{{User: "u", Host: "::1", Port: 2222}}, false},
		{"[fe80::1]", []jumpHop{{Host: "fe80::1"}}, false},
		{"a@b@c", []jumpHop{{User: "a@b", Host: "c"}}, false},
		{"b:99999", nil, true},
		{"b:x", nil, true},
		{"u@", nil, true},
		{"a b", nil, true},
	} {
		got, err := parseProxyJump(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseProxyJump(%q) err = %v", tc.in, err)
			continue
		}
		if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseProxyJump(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestSSHConfigNeutraliseMatch(t *testing.T) {
	in := "Host a\n  Port 1\nMatch exec \"x\"\n  Port 2\n  match canonical all\nMatch host b\nMatch all\n"
	got := string(neutraliseMatch([]byte(in)))
	want := "Host a\n  Port 1\nHost !*\n  Port 2\n  Host !*\nMatch host b\nMatch all\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if strings.Count(got, "Host !*") != 2 {
		t.Error("wrong number of neutralised blocks")
	}
}

func FuzzResolveSSHConfig(f *testing.F) {
	f.Add(testSSHConfig, "inner")
	f.Add("Host *\n Port 0\n", "x")
	f.Add("Match exec x\nHost a\n HostName %h%%%", "a")
	f.Fuzz(func(t *testing.T, config, alias string) {
		path := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := loadUserSSHConfig(path, vmtest.DiscardLog())
		got := resolveSSHConfig(cfg, alias, "/home/u", "u")
		if got.Port < 1 || got.Port > 65535 {
			t.Fatalf("port %d", got.Port)
		}
	})
}
