package manager

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// FuzzLibmachineJSON covers docker-machine's and minikube's config.json.
func FuzzLibmachineJSON(f *testing.F) {
	vmtest.FuzzSeeds(f, filepath.Join("..", "discover", "testdata", "homes"), "config.json")
	f.Add([]byte(`{"DriverName":"qemu2","Driver":{"Network":"builtin","SSHPort":-5,"IPAddress":"-oX"}}`))
	f.Add([]byte(`{"DriverName":"virtualbox","Driver":null}`))
	dir := f.TempDir()
	env := hostenv.Env{Home: dir, GOOS: "linux"}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = libmachineParse(data)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		vmtest.CheckSafeVM(t, vmctl.CheckVM(dmVM(env, dir, "m")))
		vmtest.CheckSafeVM(t, vmctl.CheckVM(mkVM(env, dir, "m")))
	})
}

// FuzzPodmanJSON covers Podman 4 and 5 machine files.
func FuzzPodmanJSON(f *testing.F) {
	vmtest.FuzzSeeds(f, filepath.Join("..", "discover", "testdata", "homes"), ".json")
	f.Add([]byte(`{"Name":"x","SSH":null,"Port":1e99}`))
	dir := f.TempDir()
	env := hostenv.Env{Home: dir, GOOS: "linux"}
	path := filepath.Join(dir, "m.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = pmParse(data)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		vmtest.CheckSafeVM(t, vmctl.CheckVM(pmVM(env, path, "qemu")))
	})
}

// FuzzLimaSSHConfig covers the ssh.config of Lima, Colima and Rancher
// Desktop instances (and, through sshcfgSplit, ~/.ssh/config).
func FuzzLimaSSHConfig(f *testing.F) {
	vmtest.FuzzSeeds(f, filepath.Join("..", "discover", "testdata", "homes"), "ssh.config")
	vmtest.FuzzSeeds(f, filepath.Join("..", "discover", "testdata", "homes"), "ssh_config")
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
	vmtest.FuzzSeeds(f, filepath.Join("..", "discover", "testdata", "homes"), "lima.yaml")
	f.Add([]byte("containerd: {system: true, user\ncontainerd:\n\tuser: 'true'\n#"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = limaScanYAML(data).rootlessNote()
	})
}
