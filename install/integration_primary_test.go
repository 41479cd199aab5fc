package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestIntegrationCopiesListOnce: three copies of an extcap guarded by
// PrimaryCopy under different names in the personal folder make the real
// tshark list the interface once; without the guard it lists it three times
// (tshark 4.0.17 does). Copies across the personal and the global folder are
// covered by TestPrimaryCopy: tshark 4.0 has no way to point its global
// folder elsewhere (WIRESHARK_EXTCAP_DIR is not read), and a test must not
// write into the system's.
func TestIntegrationCopiesListOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real tshark")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the lab machine is Linux")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("no tshark")
	}
	bin := filepath.Join(t.TempDir(), "primaryextcap")
	build := exec.Command("go", "build", "-o", bin, "./testdata/primaryextcap")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the test extcap: %v\n%s", err, out)
	}
	home := isolateHome(t)
	env := HostEnv()
	ts, err := Targets(env)
	if err != nil || len(ts) == 0 {
		t.Fatalf("Targets = %+v, %v", ts, err)
	}
	personal := ts[0].Dir
	if !strings.HasPrefix(personal, home) {
		t.Fatalf("personal folder %s is not under the test's home %s", personal, home)
	}
	content, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"vmdump", "vmdump-old", "vmdump_copy"}
	for _, n := range names {
		writeFile(t, filepath.Join(personal, n), string(content))
	}

	out, err := exec.Command("tshark", "-D").Output()
	if err != nil {
		t.Fatalf("tshark -D: %v", err)
	}
	if n := strings.Count(string(out), "vmdump_primarytest"); n != 1 {
		t.Fatalf("tshark -D lists the interface %d times, want once:\n%s", n, out)
	}
	// All three ran: the guard, not tshark, removed the duplicates.
	plugins, _ := exec.Command("tshark", "-G", "plugins").Output()
	if n := strings.Count(string(plugins), "\textcap\t"+personal+"/vmdump"); n != len(names) {
		t.Fatalf("tshark loaded %d of the %d copies (so the test proves nothing):\n%s", n, len(names), plugins)
	}
}
