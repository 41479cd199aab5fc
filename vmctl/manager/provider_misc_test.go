package manager

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

func TestProviderDockerContextEndpoints(t *testing.T) {
	for _, c := range []struct {
		url      string
		endpoint string
		skip     string
	}{
		{"ssh://host", "host", ""},
		{"ssh://me@host:2222", "me@host:2222", ""},
		{"ssh://me@host/var/run/docker.sock", "me@host", ""},
		{"ssh://[::1]:22", "[::1]:22", ""},
		{"ssh://me:secret@host", "-", "password"},
		{"ssh://host:99999", "-", "not a TCP port"},
		{"ssh://", "-", "has no host"},
		{"ssh:opaque", "-", "has no host"},
		{"ssh://%zz", "-", "not an ssh:// URL"},
	} {
		vm := vmctl.CheckVM(ctxVM("c", c.url, ""))
		if got := vm.Endpoint(); got != c.endpoint || !strings.Contains(vm.Skip, c.skip) || (c.skip == "") != (vm.Skip == "") {
			t.Errorf("%s: endpoint %q skip %q, want %q and a skip mentioning %q", c.url, got, vm.Skip, c.endpoint, c.skip)
		}
		if vm.Skip == "" && !vm.SSHAlias {
			t.Errorf("%s: Docker's ssh:// hosts go through ~/.ssh/config, so SSHAlias must be set", c.url)
		}
	}
}

func TestProviderPodmanBothShapes(t *testing.T) {
	v5 := `{"Name":"m","SSH":{"IdentityPath":"/k","Port":40001,"RemoteUsername":"core"},"HostUser":{"Rootful":true,"UID":501}}`
	v4 := `{"Name":"m","IdentityPath":"/k","Port":40001,"RemoteUsername":"core","Rootful":true}`
	for name, text := range map[string]string{"v5": v5, "v4": v4} {
		m, err := pmParse([]byte(text))
		if err != nil || m.Port != 40001 || m.IdentityPath != "/k" || m.RemoteUsername != "core" || !m.Rootful {
			t.Errorf("%s: got %+v, %v", name, m, err)
		}
	}
	if _, err := pmParse([]byte(`{"SSH": 5}`)); err == nil {
		t.Error("SSH of the wrong type accepted")
	}
}

func TestProviderVagrantVboxSSHForward(t *testing.T) {
	for _, c := range []struct {
		xml  string
		want int
	}{
		{`<VirtualBox><Machine><NAT><Forwarding name="web" proto="1" hostport="8080" guestport="80"/><Forwarding name="ssh" proto="1" hostip="127.0.0.1" hostport="2201" guestport="22"/></NAT></Machine></VirtualBox>`, 2201},
		{`<NAT><Forwarding name="ssh" hostport="2201" guestport="2222"/></NAT>`, 0},
		{`<NAT><Forwarding name="ssh" hostport="x" guestport="22"/></NAT>`, 0},
		{`<NAT><Forwarding name="ssh" hostport="2201" guestport="22"`, 0}, // truncated tag
		{`not xml at all`, 0},
	} {
		if got := vboxSSHForward([]byte(c.xml)); got != c.want {
			t.Errorf("vboxSSHForward(%q) = %d, want %d", c.xml, got, c.want)
		}
	}
}

func TestProviderVagrantBrokenIndexIsLogged(t *testing.T) {
	home := t.TempDir()
	idx := filepath.Join(home, ".vagrant.d", "data", "machine-index", "index")
	if err := os.MkdirAll(filepath.Dir(idx), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(idx, []byte(`{"version":1,"machines":{"x":`), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &bytes.Buffer{}
	env := hostenv.Env{Home: home, GOOS: "linux", Log: slog.New(slog.NewTextHandler(log, nil))}
	if vms := FindVagrant(env); len(vms) != 0 {
		t.Errorf("listed %d VMs from a broken index", len(vms))
	}
	if !strings.Contains(log.String(), "Vagrant machine index not understood") {
		t.Errorf("not logged: %s", log.String())
	}
}

func TestProviderMinikubeHome(t *testing.T) {
	tmp := t.TempDir()
	old := filepath.Join(tmp, "old")
	if err := os.MkdirAll(filepath.Join(old, "machines"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ env, want string }{
		{"", "/home/u/.minikube"},
		{"/data/mk", "/data/mk/.minikube"},
		{"/data/.minikube", "/data/.minikube"},
		{old, old},
	} {
		env := hostenv.Env{Home: "/home/u", Getenv: func(k string) string {
			if k == "MINIKUBE_HOME" {
				return c.env
			}
			return ""
		}}
		if got := mkHome(env); got != filepath.FromSlash(c.want) {
			t.Errorf("MINIKUBE_HOME=%q: %q, want %q", c.env, got, c.want)
		}
	}
}

func TestDiscoverReadFileRefusesSpecialFiles(t *testing.T) {
	var env hostenv.Env
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ReadFile(big, 99); err == nil {
		t.Error("oversized file read")
	}
	if _, err := env.ReadFile(dir, 1000); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
	if _, err := env.ReadFile("/dev/null", 1000); err == nil {
		t.Error("device file read")
	}
}
