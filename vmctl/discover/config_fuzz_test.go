package discover

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// FuzzLoadConfig: any config.toml either fails to load with a one-line
// error or yields VMs that are skipped or carry only safe values.
func FuzzLoadConfig(f *testing.F) {
	vmtest.FuzzSeeds(f, filepath.Join("testdata", "homes"), "config.toml")
	f.Add([]byte("[[vm]]\nname = \"a\"\nhost = \"-x\"\nuser = \"$(id)\"\n"))
	f.Add([]byte("[[vm]]\nhost = \"h\"\nport = 99999999999999999999\n"))
	f.Add([]byte("ssh_config_hosts = [[[[[[[[[[[[[[[[[["))
	home := f.TempDir()
	dir := filepath.Join(home, ".config", "vmdump")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	env := hostenv.Env{Home: home, GOOS: "linux", Getenv: func(string) string { return "" }}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadConfig(env); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
		for _, vm := range findConfigVMs(env) {
			vmtest.CheckSafeVM(t, vmctl.CheckVM(vm))
		}
	})
}
