package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/bench/fixture"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// BenchmarkExtcapInterfaces is P1's in-process part (BENCHMARKS.md): the
// whole `--extcap-interfaces` answer over the 12-VM fixture home, the work
// Wireshark waits for at every start. "answer" is run() exactly as main
// calls it; "discover+write" is Discover and WriteInterfaces alone.
func BenchmarkExtcapInterfaces(b *testing.B) {
	home, err := fixture.Copy(fixture.FullHome, b.TempDir(), os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	for _, kv := range fixture.Env(nil, home) {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	for _, k := range []string{"BOOT2DOCKER_DIR", "MACHINE_STORAGE_PATH", "LIMA_HOME", "COLIMA_HOME", "MINIKUBE_HOME",
		"VAGRANT_HOME", "VBOX_USER_HOME", "DOCKER_CONFIG", "DOCKER_HOST", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
		"XDG_CACHE_HOME", "VMDUMP_CONFIG_DIR", "VMDUMP_CACHE_DIR"} {
		b.Setenv(k, "")
		os.Unsetenv(k) // restored by Setenv's cleanup
	}

	var out, errOut bytes.Buffer
	if code := run([]string{"--extcap-interfaces"}, &out, &errOut); code != 0 {
		b.Fatalf("exit %d: %s", code, errOut.String())
	}
	if n := strings.Count(out.String(), "\ninterface {"); n < fixture.VMs {
		b.Fatalf("%d interfaces, want at least %d:\n%s", n, fixture.VMs, out.String())
	}

	b.Run("answer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if code := run([]string{"--extcap-interfaces"}, io.Discard, io.Discard); code != 0 {
				b.Fatalf("exit %d", code)
			}
		}
	})
	b.Run("discover+write", func(b *testing.B) {
		env := hostenv.HostEnv(nil)
		b.ReportAllocs()
		for b.Loop() {
			if err := extcap.WriteInterfaces(io.Discard, version(), helpURL, toolbarTitle, interfaceList(env, discover.Discover(env)), toolbarControls()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
