package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// The scripts in testdata/script run vmdump as a person (or Wireshark) runs
// it, a real process, and check what it prints and its exit status. The test
// binary is vmdump: testscript.Main runs main's run when it is started under
// that name.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"vmdump": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// -update-scripts rewrites a script's inline file that a `cmp stdout` or
// `cmp stderr` compares with, from what vmdump printed: review the diff.
var updateScripts = flag.Bool("update-scripts", false, "rewrite the files of testdata/script/*.txt that cmp compares output with")

func TestScripts(t *testing.T) {
	// testscript.Main put the vmdump command into a folder of its own at the
	// head of this process's PATH.
	self, err := exec.LookPath("vmdump")
	if err != nil {
		t.Fatalf("testscript.Main did not set up the vmdump command: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       *updateScripts,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			return scriptEnv(e, self)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": cmdExits,
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "hosttshark":
				return hostProgram("tshark"), nil
			case "hostwireshark":
				return hostProgram("tshark") || hostProgram("wireshark"), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// scriptEnv gives every script a clean machine: an empty home in $WORK/home
// that every per-user directory vmdump (and a tshark it starts) reads points
// into, and a PATH with the vmdump command and $WORK/bin alone, so no tshark
// of the machine's is found through PATH (see hostProgram for the others).
//
// testscript starts from an environment of its own, with nothing of the
// developer's but PATH: no DOCKER_HOST, LIMA_HOME, WIRESHARK_CONFIG_DIR, ...
// Those stay unset rather than set empty: Wireshark takes an empty
// WIRESHARK_CONFIG_DIR for a folder, and then prints no personal one.
func scriptEnv(e *testscript.Env, self string) error {
	work := e.WorkDir
	home := filepath.Join(work, "home")
	for _, dir := range []string{home, filepath.Join(work, "bin")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	e.Setenv("HOME", home)
	if runtime.GOOS == "windows" {
		e.Setenv("USERPROFILE", home)
		e.Setenv("APPDATA", filepath.Join(home, "AppData", "Roaming"))
		e.Setenv("LOCALAPPDATA", filepath.Join(home, "AppData", "Local"))
	}
	// vmdump's own folders, the same on every OS, so one fixture file
	// (home/.config/vmdump/config.toml) serves them all.
	e.Setenv("VMDUMP_CONFIG_DIR", filepath.Join(home, ".config", "vmdump"))
	e.Setenv("VMDUMP_CACHE_DIR", filepath.Join(home, ".cache", "vmdump"))
	e.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	e.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	e.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	e.Setenv("PATH", filepath.Dir(self)+string(os.PathListSeparator)+filepath.Join(work, "bin"))
	// $VMDUMP is the vmdump binary, for scripts that install a copy of it
	// by hand; $VERSION is what `vmdump version` prints after "vmdump ".
	e.Setenv("VMDUMP", self)
	e.Setenv("VERSION", version())
	return nil
}

// hostProgram reports whether vmdump finds the Wireshark program name
// ("tshark" or "wireshark") without PATH: install also looks in the places
// Wireshark's installers put them (programCandidates in install/env.go).
// What install and doctor print depends on it: such a tshark is asked too,
// and a Wireshark without a tshark beside it adds the folders of both
// Wireshark generations. The scripts' conditions [hosttshark] (a tshark)
// and [hostwireshark] (a tshark or a Wireshark) say which.
func hostProgram(name string) bool {
	var places []string
	switch runtime.GOOS {
	case "windows":
		exe := name + ".exe"
		if name == "wireshark" {
			exe = "Wireshark.exe"
		}
		for _, v := range []string{"ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"} {
			if d := os.Getenv(v); d != "" {
				places = append(places, filepath.Join(d, "Wireshark", exe))
			}
		}
		places = append(places, filepath.Join(`C:\Program Files`, "Wireshark", exe))
	case "darwin":
		exe := name
		if name == "wireshark" {
			exe = "Wireshark"
		}
		places = []string{"/Applications/Wireshark.app/Contents/MacOS/" + exe, "/opt/homebrew/bin/" + name, "/usr/local/bin/" + name}
	default:
		places = []string{"/usr/bin/" + name, "/usr/local/bin/" + name, "/usr/sbin/" + name}
	}
	for _, p := range places {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// cmdExits is the scripts' command `exits N program [args...]`: it runs
// program as exec does (stdout and stderr are kept for the next stdout,
// stderr and cmp) and checks that its exit status is N; `! exec` only
// checks that it is not 0.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: status %q is not a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}
