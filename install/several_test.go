package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestFindPrograms(t *testing.T) {
	noPath := func(string) (string, error) { return "", errors.New("not found") }
	inPath := func(p string) func(string) (string, error) {
		return func(string) (string, error) { return p, nil }
	}
	same := func(p string) string { return p }
	tests := []struct {
		name     string
		goos     string
		prog     string
		env      map[string]string
		home     string
		lookPath func(string) (string, error)
		present  []string
		links    map[string]string // path -> what it resolves to
		want     []string
	}{
		{"linux PATH and /usr/local", "linux", "tshark", nil, "", inPath("/usr/bin/tshark"),
			[]string{"/usr/bin/tshark", "/usr/local/bin/tshark"}, nil, []string{"/usr/bin/tshark", "/usr/local/bin/tshark"}},
		{"linux symlink counted once", "linux", "tshark", nil, "", inPath("/opt/ws/bin/tshark"),
			[]string{"/usr/bin/tshark"}, map[string]string{"/usr/bin/tshark": "/opt/ws/bin/tshark"}, []string{"/opt/ws/bin/tshark"}},
		{"macos homebrew and app bundle", "darwin", "tshark", nil, "/Users/a", inPath("/opt/homebrew/bin/tshark"),
			[]string{"/Applications/Wireshark.app/Contents/MacOS/tshark", "/opt/homebrew/bin/tshark"}, nil,
			[]string{"/opt/homebrew/bin/tshark", "/Applications/Wireshark.app/Contents/MacOS/tshark"}},
		{"macos app in ~/Applications", "darwin", "wireshark", nil, "/Users/a", noPath,
			[]string{"/Users/a/Applications/Wireshark.app/Contents/MacOS/Wireshark"}, nil,
			[]string{"/Users/a/Applications/Wireshark.app/Contents/MacOS/Wireshark"}},
		{"windows two Program Files", "windows", "tshark", map[string]string{"ProgramFiles": `D:\PF`, "ProgramFiles(x86)": `C:\Program Files (x86)`}, "", noPath,
			[]string{`D:\PF\Wireshark\tshark.exe`, `C:\Program Files (x86)\Wireshark\tshark.exe`, `C:\Program Files\Wireshark\tshark.exe`}, nil,
			[]string{`D:\PF\Wireshark\tshark.exe`, `C:\Program Files (x86)\Wireshark\tshark.exe`, `C:\Program Files\Wireshark\tshark.exe`}},
		{"windows PATH copy of the default, other case", "windows", "tshark", nil, "", inPath(`c:\program files\wireshark\TSHARK.EXE`),
			[]string{`C:\Program Files\Wireshark\tshark.exe`}, nil, []string{`c:\program files\wireshark\TSHARK.EXE`}},
		{"windows GUI name", "windows", "wireshark", nil, "", noPath,
			[]string{`C:\Program Files\Wireshark\Wireshark.exe`}, nil, []string{`C:\Program Files\Wireshark\Wireshark.exe`}},
		{"none", "linux", "tshark", nil, "", noPath, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exists := func(p string) bool {
				for _, q := range tt.present {
					if p == q {
						return true
					}
				}
				return false
			}
			resolve := same
			if tt.links != nil {
				resolve = func(p string) string {
					if r, ok := tt.links[p]; ok {
						return r
					}
					return p
				}
			}
			got := findPrograms(tt.goos, tt.prog, programCandidates(tt.goos, tt.prog, mapEnv(tt.env), tt.home), tt.lookPath, exists, resolve)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findPrograms = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoneGUIs(t *testing.T) {
	same := func(p string) string { return p }
	tests := []struct {
		name          string
		goos          string
		guis, tsharks []string
		want          []string
	}{
		{"debian: both in /usr/bin", "linux", []string{"/usr/bin/wireshark"}, []string{"/usr/bin/tshark"}, nil},
		{"gui without tshark", "linux", []string{"/usr/bin/wireshark"}, nil, []string{"/usr/bin/wireshark"}},
		{"mac: homebrew tshark, app bundle GUI", "darwin", []string{"/Applications/Wireshark.app/Contents/MacOS/Wireshark"},
			[]string{"/opt/homebrew/bin/tshark"}, []string{"/Applications/Wireshark.app/Contents/MacOS/Wireshark"}},
		{"mac: app bundle has both", "darwin", []string{"/Applications/Wireshark.app/Contents/MacOS/Wireshark"},
			[]string{"/opt/homebrew/bin/tshark", "/Applications/Wireshark.app/Contents/MacOS/tshark"}, nil},
		{"windows case-insensitive", "windows", []string{`C:\Program Files\Wireshark\Wireshark.exe`},
			[]string{`c:\program files\wireshark\tshark.exe`}, nil},
	}
	for _, tt := range tests {
		if got := loneGUIs(tt.goos, tt.guis, tt.tsharks, same); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: loneGUIs = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestTargetsSeveralWiresharks: every tshark is asked; a failing one or a
// Wireshark GUI without tshark adds the folders of both generations.
func TestTargetsSeveralWiresharks(t *testing.T) {
	t40 := Tshark{Path: "/usr/bin/tshark", Run: fakeTshark(t, "folders-4.0.17-linux.txt", "version-4.0.17-linux.txt")}
	t44 := Tshark{Path: "/usr/local/bin/tshark", Run: fakeTshark(t, "folders-4.4.1-linux.txt", "version-4.4.1-linux.txt")}
	broken := Tshark{Path: "/opt/tshark", Run: fakeTsharkOut(nil, nil, errors.New("exit status 1"))}
	macApp := Tshark{Path: "/Applications/Wireshark.app/Contents/MacOS/tshark", Run: fakeTshark(t, "folders-4.4.1-macos.txt", "version-4.4.1-macos.txt")}
	brew40 := Tshark{Path: "/opt/homebrew/bin/tshark", Run: fakeTshark(t, "folders-4.0.8-macos.txt", "version-4.0.8-macos.txt")}
	type want struct{ dir, version, why string }
	tests := []struct {
		name string
		env  Env
		want []want
	}{
		{"4.0 and 4.4 on one machine", Env{GOOS: "linux", Home: "/home/alice", Tsharks: []Tshark{t40, t44}},
			[]want{{"/root/.config/wireshark/extcap", "4.0.17", "tshark 4.0.17 at /usr/bin/tshark"},
				{"/home/alice/.local/lib/wireshark/extcap", "4.4.1", "tshark 4.4.1 at /usr/local/bin/tshark"}}},
		{"mac: Homebrew 4.0 tshark and Wireshark.app 4.4", Env{GOOS: "darwin", Home: "/Users/alice", Tsharks: []Tshark{brew40, macApp}},
			[]want{{"/Users/alice/.config/wireshark/extcap", "4.0.8", "/opt/homebrew/bin/tshark"},
				{"/Users/alice/.local/lib/wireshark/extcap", "4.4.1", "Wireshark.app"}}},
		{"one tshark fails: unsure, both generations", Env{GOOS: "linux", Home: "/home/alice", Tsharks: []Tshark{t44, broken}},
			[]want{{"/home/alice/.local/lib/wireshark/extcap", "4.4.1", "tshark 4.4.1"},
				{"/home/alice/.config/wireshark/extcap", "4.0", "/opt/tshark gave no folder: exit status 1"}}},
		{"GUI without tshark: unsure", Env{GOOS: "linux", Home: "/home/alice", Tsharks: []Tshark{t44}, LoneGUIs: []string{"/opt/ws/wireshark"}},
			[]want{{"/home/alice/.local/lib/wireshark/extcap", "4.4.1", "tshark 4.4.1"},
				{"/home/alice/.config/wireshark/extcap", "4.0", "/opt/ws/wireshark has no tshark beside it"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Targets(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d targets %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if g := got[i]; g.Dir != w.dir || g.Version != w.version || !strings.Contains(g.Why, w.why) {
					t.Errorf("target %d = %+v, want dir %q version %q why containing %q", i, g, w.dir, w.version, w.why)
				}
			}
		})
	}
}

// TestGlobalFolders: the path rules of the official installers per OS and
// version, after what tshark says.
func TestGlobalFolders(t *testing.T) {
	type want struct{ dir, version string }
	tests := []struct {
		name string
		env  Env
		want []want
	}{
		{"linux 4.0.17 from tshark only", Env{GOOS: "linux", Home: "/root",
			RunTshark: fakeTshark(t, "folders-4.0.17-linux.txt", "version-4.0.17-linux.txt")},
			[]want{{"/usr/lib/x86_64-linux-gnu/wireshark/extcap", "4.0.17"}}},
		{"linux without tshark: no rule", Env{GOOS: "linux", Home: "/root"}, nil},
		{"windows 4.4.1: tshark's extcap\\wireshark, then the rules", Env{GOOS: "windows", Home: `C:\Users\a`,
			RunTshark: fakeTshark(t, "folders-4.4.1-windows.txt", "version-4.4.1-windows.txt")},
			[]want{{`C:\Program Files\Wireshark\extcap\wireshark`, "4.4.1"}, {`C:\Program Files\Wireshark\extcap`, "up to 4.2"}}},
		{"windows 4.0.10", Env{GOOS: "windows", Home: `C:\Users\a`,
			RunTshark: fakeTshark(t, "folders-4.0.10-windows.txt", "version-4.0.10-windows.txt")},
			[]want{{`C:\Program Files\Wireshark\extcap`, "4.0.10"}, {`C:\Program Files\Wireshark\extcap\wireshark`, "4.4+"}}},
		{"windows no tshark, other Program Files", Env{GOOS: "windows", Getenv: mapEnv(map[string]string{"ProgramFiles": `E:\Apps`})},
			[]want{{`E:\Apps\Wireshark\extcap\wireshark`, "4.4+"}, {`E:\Apps\Wireshark\extcap`, "up to 4.2"},
				{`C:\Program Files\Wireshark\extcap\wireshark`, "4.4+"}, {`C:\Program Files\Wireshark\extcap`, "up to 4.2"}}},
		{"macos 4.4.1 app bundle", Env{GOOS: "darwin", Home: "/Users/a",
			RunTshark: fakeTshark(t, "folders-4.4.1-macos.txt", "version-4.4.1-macos.txt")},
			[]want{{"/Applications/Wireshark.app/Contents/MacOS/extcap/wireshark", "4.4.1"},
				{"/Applications/Wireshark.app/Contents/MacOS/extcap", "up to 4.2"},
				{"/Users/a/Applications/Wireshark.app/Contents/MacOS/extcap/wireshark", "4.4+"},
				{"/Users/a/Applications/Wireshark.app/Contents/MacOS/extcap", "up to 4.2"}}},
		{"macos 4.0.8 app bundle", Env{GOOS: "darwin",
			RunTshark: fakeTshark(t, "folders-4.0.8-macos.txt", "version-4.0.8-macos.txt")},
			[]want{{"/Applications/Wireshark.app/Contents/MacOS/extcap", "4.0.8"},
				{"/Applications/Wireshark.app/Contents/MacOS/extcap/wireshark", "4.4+"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GlobalFolders(context.Background(), tt.env)
			var gotW []want
			for _, g := range got {
				gotW = append(gotW, want{g.Dir, g.Version})
				if g.Why == "" {
					t.Errorf("%s has no reason", g.Dir)
				}
			}
			if !reflect.DeepEqual(gotW, tt.want) {
				t.Errorf("GlobalFolders =\n %q\nwant\n %q", gotW, tt.want)
			}
		})
	}
}

func TestCopiesIn(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	self := writeSelf(t, "v2")
	writeFile(t, filepath.Join(d1, "vmdump"), "v2")
	writeFile(t, filepath.Join(d1, "VMDUMP-old"), "v1")
	writeFile(t, filepath.Join(d1, "sshdump"), "x")
	mustMkdir(t, filepath.Join(d1, "vmdump-dir"))
	writeFile(t, filepath.Join(d2, "vmdump.exe"), "v2")
	got := CopiesIn(runtime.GOOS, []Target{{Dir: d1}, {Dir: filepath.Join(d1, "missing")}, {Dir: d2}}, self)
	var desc []string
	for _, c := range got {
		desc = append(desc, filepath.Base(c.Path)+map[bool]string{true: "=", false: "≠"}[c.Same])
	}
	want := []string{"VMDUMP-old≠", "vmdump=", "vmdump.exe="}
	if !reflect.DeepEqual(desc, want) {
		t.Errorf("CopiesIn = %q, want %q", desc, want)
	}
}

// TestPrimaryCopy: of several copies, exactly the one Wireshark runs first
// lists; each copy agrees.
func TestPrimaryCopy(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix file modes")
	}
	type layout struct {
		personal40, personal42, global []string // executable files
		notExec                        []string // non-executable vmdump files in global
	}
	tests := []struct {
		name    string
		l       layout
		version string
		self    string // "p40/x", "p42/x" or "g/x"
		primary string // expected first copy, "" = none recognised (lists)
		want    bool
	}{
		{"single copy", layout{personal42: []string{"vmdump"}}, "4.2", "p42/vmdump", "p42/vmdump", true},
		{"renamed second copy in the same folder", layout{personal42: []string{"vmdump", "vmdump-old"}}, "4.2", "p42/vmdump-old", "p42/vmdump", false},
		{"the first of two lists", layout{personal42: []string{"vmdump", "vmdump-old"}}, "4.2", "p42/vmdump", "p42/vmdump", true},
		{"global copy yields to a personal one", layout{personal42: []string{"vmdump"}, global: []string{"vmdump-1.0"}}, "4.4", "g/vmdump-1.0", "p42/vmdump", false},
		{"4.0 reads the other personal folder", layout{personal42: []string{"vmdump"}, global: []string{"vmdump-1.0"}}, "4.0", "g/vmdump-1.0", "g/vmdump-1.0", true},
		{"4.0 personal copy wins", layout{personal40: []string{"vmdump"}, global: []string{"vmdump2"}}, "4.0", "g/vmdump2", "p40/vmdump", false},
		{"same name in global is skipped by Wireshark", layout{personal42: []string{"vmdump"}, global: []string{"vmdump", "vmdump-x"}}, "4.2", "g/vmdump-x", "p42/vmdump", false},
		{"no version: own folder only", layout{personal42: []string{"vmdump"}, global: []string{"vmdump-1.0"}}, "", "g/vmdump-1.0", "g/vmdump-1.0", true},
		{"not executable does not count", layout{global: []string{"vmdump-b"}, notExec: []string{"vmdump-a"}}, "4.2", "g/vmdump-b", "g/vmdump-b", true},
		{"self renamed out of the pattern: lists", layout{personal42: []string{"vmdump"}, global: []string{"wsvm"}}, "4.2", "g/wsvm", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			dirs := map[string]string{
				"p40": filepath.Join(home, ".config", "wireshark", "extcap"),
				"p42": filepath.Join(home, ".local", "lib", "wireshark", "extcap"),
				"g":   filepath.Join(home, "usr", "lib", "wireshark", "extcap"),
			}
			for key, names := range map[string][]string{"p40": tt.l.personal40, "p42": tt.l.personal42, "g": tt.l.global} {
				for _, n := range names {
					writeFile(t, filepath.Join(dirs[key], n), "#!/bin/sh\n")
				}
			}
			for _, n := range tt.l.notExec {
				p := filepath.Join(dirs["g"], n)
				writeFile(t, p, "x")
				os.Chmod(p, 0o644)
			}
			path := func(s string) string {
				if s == "" {
					return ""
				}
				k, n, _ := strings.Cut(s, "/")
				return filepath.Join(dirs[k], n)
			}
			env := Env{GOOS: runtime.GOOS, Home: home, Getenv: mapEnv(nil)}
			got, first := PrimaryCopy(env, path(tt.self), tt.version)
			if got != tt.want || first != path(tt.primary) {
				t.Errorf("PrimaryCopy(%s, %q) = %v, %q; want %v, %q", tt.self, tt.version, got, first, tt.want, path(tt.primary))
			}
		})
	}
}

func TestPrimaryCopyEveryCopyAgrees(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix file modes")
	}
	home := t.TempDir()
	personal := filepath.Join(home, ".local", "lib", "wireshark", "extcap")
	global := filepath.Join(home, "global")
	var all []string
	for _, p := range []string{filepath.Join(personal, "vmdump-b"), filepath.Join(personal, "vmdump-a"),
		filepath.Join(global, "vmdump"), filepath.Join(global, "vmdump-z")} {
		writeFile(t, p, "#!/bin/sh\n")
		all = append(all, p)
	}
	env := Env{GOOS: runtime.GOOS, Home: home, Getenv: mapEnv(nil)}
	listing := 0
	for _, p := range all {
		if ok, _ := PrimaryCopy(env, p, "4.4"); ok {
			listing++
		}
	}
	if listing != 1 {
		t.Fatalf("%d copies list their interfaces, want exactly 1", listing)
	}
}

func TestVerifySeveralTsharks(t *testing.T) {
	good := func(ver string) Tshark {
		return Tshark{Path: "/" + ver + "/tshark", Run: func(_ context.Context, args ...string) ([]byte, error) {
			switch strings.Join(args, " ") {
			case "--version":
				return []byte("TShark (Wireshark) " + ver + " (x)\n"), nil
			case "-G plugins":
				return []byte("vmdump\t0.1.0\textcap\t/h/" + ver + "/vmdump\n"), nil
			case "-D":
				return []byte("1. eth0\n7. vmdump_cfg_a (Docker VM a (config))\n"), nil
			}
			return nil, errors.New("unexpected")
		}}
	}
	notLoaded := Tshark{Path: "/old/tshark", Run: func(_ context.Context, args ...string) ([]byte, error) {
		if args[0] == "--version" {
			return []byte("TShark (Wireshark) 3.6.2\n"), nil
		}
		return []byte("sshdump\t1\textcap\t/x/sshdump\n"), nil
	}}
	got, err := Verify(context.Background(), Env{Tsharks: []Tshark{good("4.0.17"), notLoaded, good("4.4.1")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"/4.0.17/tshark (Wireshark 4.0.17):\nWireshark loads /h/4.0.17/vmdump\ntshark -D lists:\n  7. vmdump_cfg_a (Docker VM a (config))",
		"/old/tshark (Wireshark 3.6.2): tshark does not load vmdump",
		"/4.4.1/tshark (Wireshark 4.4.1):\nWireshark loads /h/4.4.1/vmdump",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("report lacks %q:\n%s", w, got)
		}
	}
	_, err = Verify(context.Background(), Env{Tsharks: []Tshark{notLoaded, notLoaded}})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "/old/tshark") {
		t.Errorf("none loads vmdump: err = %v, want one line naming the tshark", err)
	}
	seen := Check(context.Background(), Env{Tsharks: []Tshark{good("4.4.1")}})
	if len(seen) != 1 || seen[0].Version != "4.4.1" || len(seen[0].Listed) != 1 || seen[0].Err != nil {
		t.Errorf("Check = %+v", seen)
	}
}
