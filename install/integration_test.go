package install

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// tinyExtcap is the smallest extcap Wireshark accepts: one interface, no
// configuration.
const tinyExtcap = `package main

import (
	"fmt"
	"os"
)

func main() {
	for _, a := range os.Args[1:] {
		if a == "--extcap-interfaces" {
			fmt.Println("extcap {version=1}")
			fmt.Println("interface {value=vmdump_test}{display=Test}")
			return
		}
	}
}
`

// buildTinyExtcap compiles tinyExtcap; it must run before HOME is changed,
// so that the go command keeps using the real build cache.
func buildTinyExtcap(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go") // go test puts its own bin folder in PATH
	if err != nil {
		t.Skip("no go command to build the test extcap")
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module tinyextcap\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(tinyExtcap), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "tinyextcap")
	cmd := exec.Command(goCmd, "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test extcap: %v\n%s", err, out)
	}
	return bin
}

// isolateHome points HOME at a fresh folder for this test and its children
// (tshark), with no XDG_CONFIG_HOME or WIRESHARK_CONFIG_DIR.
func isolateHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"XDG_CONFIG_HOME", "WIRESHARK_CONFIG_DIR"} {
		t.Setenv(k, "") // restores the old value after the test
		os.Unsetenv(k)
	}
	return home
}

// TestIntegrationRealTshark installs a tiny extcap as "vmdump" where the real
// tshark says, and checks that `tshark -D` lists its interface.
func TestIntegrationRealTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real tshark")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the lab machine is Linux")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("no tshark")
	}
	tiny := buildTinyExtcap(t)
	home := isolateHome(t)

	env := HostEnv()
	if env.RunTshark == nil {
		t.Fatal("HostEnv found no tshark although it is in PATH")
	}
	if env.Home != home {
		t.Fatalf("HostEnv home %q, want %q", env.Home, home)
	}
	ts, err := Targets(env)
	if err != nil {
		t.Fatal(err)
	}
	verOut, err := env.RunTshark(context.Background(), "--version")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(home, ".config", "wireshark", "extcap") // 4.0
	if isNew, _ := newExtcapFolder(ParseVersion(verOut)); isNew {
		want = filepath.Join(home, ".local", "lib", "wireshark", "extcap")
	}
	if len(ts) != 1 || ts[0].Dir != want || ts[0].Version == "" {
		t.Fatalf("Targets = %+v, want one target %s", ts, want)
	}

	if got, err := Verify(context.Background(), env); err == nil {
		t.Fatalf("Verify before install = %q, want an error", got)
	}

	acts, err := Install(context.Background(), env, tiny, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WriteActions(&b, acts)
	t.Logf("install:\n%s", b.String())

	out, err := exec.Command("tshark", "-D").Output()
	if err != nil {
		t.Fatalf("tshark -D: %v", err)
	}
	if !strings.Contains(string(out), "vmdump_test") {
		t.Fatalf("tshark -D does not list vmdump_test:\n%s", out)
	}
	got, err := Verify(context.Background(), env)
	if err != nil || !strings.Contains(got, "vmdump_test (Test)") {
		t.Fatalf("Verify = %q, %v", got, err)
	}

	if _, err := Uninstall(context.Background(), env, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, err := Verify(context.Background(), env); err == nil {
		t.Fatalf("Verify after uninstall = %q, want an error", got)
	}
}

// TestIntegrationWiresharkConfigDir checks that tshark 4.0's personal
// folder, and so the target, follows WIRESHARK_CONFIG_DIR.
func TestIntegrationWiresharkConfigDir(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real tshark")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the lab machine is Linux")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("no tshark")
	}
	home := isolateHome(t)
	env := HostEnv()
	verOut, err := env.RunTshark(context.Background(), "--version")
	if err != nil {
		t.Fatal(err)
	}
	if isNew, _ := newExtcapFolder(ParseVersion(verOut)); isNew {
		t.Skip("WIRESHARK_CONFIG_DIR moves the personal extcap folder only in 4.0")
	}
	wcd := filepath.Join(home, "wcd")
	t.Setenv("WIRESHARK_CONFIG_DIR", wcd)
	ts, err := Targets(HostEnv())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Dir != filepath.Join(wcd, "extcap") {
		t.Fatalf("Targets = %+v, want %s/extcap", ts, wcd)
	}
}
