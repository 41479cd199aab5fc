package discover

import (
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

func TestDiscoverContainsAPanickingProvider(t *testing.T) {
	env := hostenv.Env{Home: t.TempDir(), GOOS: "linux"}
	providers := []Provider{
		{Manager: "bad", Short: "bad", Find: func(hostenv.Env) []vmctl.VM { panic("parser bug") }},
		{Manager: "good", Short: "good", Find: func(hostenv.Env) []vmctl.VM {
			return []vmctl.VM{{Name: "one", Host: "127.0.0.1", Port: 22}}
		}},
		{Manager: "nil", Short: "nil"},
	}
	vms := discoverWith(env, providers)
	if len(vms) != 1 || vms[0].ID != "vmdump_good_one" || vms[0].Manager != "good" || vms[0].State != vmctl.Unknown {
		t.Fatalf("got %+v", vms)
	}
}

func TestDiscoverDedup(t *testing.T) {
	colima := vmctl.VM{Manager: "colima", Name: "default", Host: "127.0.0.1", Port: 51022, User: "u", Loopback: true, Source: "/c/_lima/colima/ssh.config"}
	for _, c := range []struct {
		name string
		a, b vmctl.VM
		dup  bool
	}{
		{"same manager and name", colima, vmctl.VM{Manager: "colima", Name: "default"}, true},
		{"same loopback endpoint, other manager", colima,
			vmctl.VM{Manager: "config", Name: "mine", Host: "localhost", Port: 51022, User: "u"}, true},
		{"same loopback endpoint, other user", colima,
			vmctl.VM{Manager: "config", Name: "mine", Host: "127.0.0.1", Port: 51022, User: "root"}, false},
		{"same loopback endpoint, same manager (stale ports)", colima,
			vmctl.VM{Manager: "colima", Name: "other", Host: "127.0.0.1", Port: 51022, User: "u"}, false},
		{"same remote endpoint is not deduplicated", vmctl.VM{Manager: "config", Name: "a", Host: "10.0.0.1", Port: 22},
			vmctl.VM{Manager: "docker-context", Name: "b", Host: "10.0.0.1", Port: 22}, false},
		{"same source file, other manager", colima,
			vmctl.VM{Manager: "lima", Name: "colima", Source: "/c/_lima/colima/ssh.config"}, true},
		{"skipped VMs are not matched by endpoint", colima,
			vmctl.VM{Manager: "config", Name: "x", Host: "127.0.0.1", Port: 51022, User: "u", Skip: "broken"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := discNewDedup(hostenv.Env{})
			if by := d.duplicateOf(c.a); by != "" {
				t.Fatalf("first VM reported as duplicate of %s", by)
			}
			if got := d.duplicateOf(c.b) != ""; got != c.dup {
				t.Errorf("duplicate = %v, want %v", got, c.dup)
			}
		})
	}
}

func TestDiscoverCheckVM(t *testing.T) {
	ok := vmctl.VM{Manager: "lima", Name: "default", Host: "127.0.0.1", Port: 60022, User: "u",
		KeyFiles: []string{"/home/u/.lima/_config/user"}, Interface: "eth0"}
	for _, c := range []struct {
		name     string
		edit     func(*vmctl.VM)
		wantSkip string // substring; "" = accepted
	}{
		{"valid", func(*vmctl.VM) {}, ""},
		{"ipv6 host", func(v *vmctl.VM) { v.Host = "::1" }, ""},
		{"orbstack user@machine", func(v *vmctl.VM) { v.User = "root@ubuntu" }, ""},
		{"option host", func(v *vmctl.VM) { v.Host = "-oProxyCommand=x" }, "starts with '-'"},
		{"option user", func(v *vmctl.VM) { v.User = "-l" }, "starts with '-'"},
		{"newline in host", func(v *vmctl.VM) { v.Host = "a\nb" }, "not allowed in a host name"},
		{"subshell in user", func(v *vmctl.VM) { v.User = "$(id)" }, "not allowed in a user name"},
		{"semicolon in interface", func(v *vmctl.VM) { v.Interface = "eth0;reboot" }, "not allowed in an interface name"},
		{"backtick in name", func(v *vmctl.VM) { v.Name = "a`id`" }, "name"},
		{"brace in name", func(v *vmctl.VM) { v.Name = "x}{display=y" }, "name"},
		{"NUL in key", func(v *vmctl.VM) { v.KeyFiles = []string{"/a\x00b"} }, "NUL or line break"},
		{"port out of range", func(v *vmctl.VM) { v.Port = 70000 }, "not a TCP port"},
		{"proxy jump option", func(v *vmctl.VM) { v.ProxyJump = "-oProxyCommand=x" }, "starting with '-'"},
		{"proxy jump list", func(v *vmctl.VM) { v.ProxyJump = "ops@bastion:22,ssh://jump2" }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			vm := ok
			c.edit(&vm)
			got := vmctl.CheckVM(vm)
			if c.wantSkip == "" {
				if got.Skip != "" {
					t.Fatalf("rejected: %s", got.Skip)
				}
				return
			}
			if !strings.Contains(got.Skip, c.wantSkip) {
				t.Fatalf("skip = %q, want it to mention %q", got.Skip, c.wantSkip)
			}
			if got.Host != "" || got.User != "" || got.KeyFiles != nil || got.ProxyJump != "" || got.Interface != "" {
				t.Errorf("rejected VM still carries endpoint values: %+v", got)
			}
			if vmctl.NameProblem(got.Name) != "" {
				t.Errorf("rejected VM keeps an unsafe name %q", got.Name)
			}
		})
	}
}
