package discover

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
)

// discFuzzSeeds adds every fixture file with the given base name.
func discFuzzSeeds(f *testing.F, suffix string) {
	_ = filepath.WalkDir(filepath.Join("testdata", "homes"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, suffix) {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
		return nil
	})
}

// FuzzLoadConfig: any config.toml either fails to load with a one-line
// error or yields VMs that are skipped or carry only safe values.
func FuzzLoadConfig(f *testing.F) {
	discFuzzSeeds(f, "config.toml")
	f.Add([]byte("[[vm]]\nname = \"a\"\nhost = \"-x\"\nuser = \"$(id)\"\n"))
	f.Add([]byte("[[vm]]\nhost = \"h\"\nport = 99999999999999999999\n"))
	f.Add([]byte("ssh_config_hosts = [[[[[[[[[[[[[[[[[["))
	home := f.TempDir()
	dir := filepath.Join(home, ".config", "vmdump")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	env := Env{Home: home, GOOS: "linux", Getenv: func(string) string { return "" }}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadConfig(env); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
		for _, vm := range findConfigVMs(env) {
			discFuzzCheckSafe(t, discCheckVM(vm))
		}
	})
}

// discFuzzCheckSafe: whatever the file said, the VM carries only safe
// values (skipped or not: a skipped VM is still listed).
func discFuzzCheckSafe(t *testing.T, vm vmctl.VM) {
	t.Helper()
	if strings.ContainsAny(vm.Skip+vm.Note+vm.Name, "\n\r\x00") {
		t.Fatalf("line break in listing fields: %+v", vm)
	}
	for _, k := range vm.KeyFiles {
		if strings.ContainsAny(k, "\n\r\x00") {
			t.Fatalf("unsafe key path %q", k)
		}
	}
	for _, v := range []string{vm.Host, vm.User, vm.Interface, vm.ProxyJump} {
		if strings.HasPrefix(v, "-") || strings.ContainsAny(v, ";$`|&<>\"' \n\r\x00(){}") {
			t.Fatalf("unsafe value %q passed on in %+v", v, vm)
		}
	}
}

// FuzzLibmachineJSON covers docker-machine's and minikube's config.json.
func FuzzLibmachineJSON(f *testing.F) {
	discFuzzSeeds(f, "config.json")
	f.Add([]byte(`{"DriverName":"qemu2","Driver":{"Network":"builtin","SSHPort":-5,"IPAddress":"-oX"}}`))
	f.Add([]byte(`{"DriverName":"virtualbox","Driver":null}`))
	dir := f.TempDir()
	env := Env{Home: dir, GOOS: "linux"}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = libmachineParse(data)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		discFuzzCheckSafe(t, discCheckVM(dmVM(dir, "m")))
		discFuzzCheckSafe(t, discCheckVM(mkVM(env, dir, "m")))
	})
}

// FuzzPodmanJSON covers Podman 4 and 5 machine files.
func FuzzPodmanJSON(f *testing.F) {
	discFuzzSeeds(f, ".json")
	f.Add([]byte(`{"Name":"x","SSH":null,"Port":1e99}`))
	dir := f.TempDir()
	env := Env{Home: dir, GOOS: "linux"}
	path := filepath.Join(dir, "m.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = pmParse(data)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		discFuzzCheckSafe(t, discCheckVM(pmVM(env, path, "qemu")))
	})
}

// FuzzLimaSSHConfig covers the ssh.config of Lima, Colima and Rancher
// Desktop instances (and, through sshcfgSplit, ~/.ssh/config).
func FuzzLimaSSHConfig(f *testing.F) {
	discFuzzSeeds(f, "ssh.config")
	discFuzzSeeds(f, "ssh_config")
	f.Add([]byte("Host a\n  Port 1\nInclude x\nMatch exec y\n  Port 2\nHost \"\n"))
	f.Add([]byte("Host\n"))
	f.Add([]byte("Host =\n=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, problem := limaParseSSHConfig(data)
		if problem == "" && (s.Port <= 0 || s.Port > 65535) {
			t.Fatalf("accepted port %d", s.Port)
		}
	})
}

// FuzzLimaYAML covers lima.yaml scanning (never fails, never panics).
func FuzzLimaYAML(f *testing.F) {
	discFuzzSeeds(f, "lima.yaml")
	f.Add([]byte("containerd: {system: true, user\ncontainerd:\n\tuser: 'true'\n#"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = limaScanYAML(data).rootlessNote()
	})
}
