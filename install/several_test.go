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
// version, after what tshark says. The Unix rules look under Root, a
// fixture tree.
func TestGlobalFolders(t *testing.T) {
	type want struct{ dir, version string }
	root := t.TempDir() // no Wireshark installed
	debRoot := t.TempDir()
	mustMkdir(t, filepath.Join(debRoot, "usr", "lib", "x86_64-linux-gnu", "wireshark", "extcap"))
	// unix is what the rules add under /usr and /usr/local of root r when
	// nothing is installed (multiarch is extra, where it exists).
	unix := func(r string, multiarch ...string) []want {
		var w []want
		for i, pre := range []string{"/usr", "/usr/local"} {
			w = append(w, want{r + pre + "/libexec/wireshark/extcap", "4.6+"})
			if i == 0 {
				for _, m := range multiarch {
					w = append(w, want{r + pre + "/lib/" + m + "/wireshark/extcap", "up to 4.4"})
				}
			}
			w = append(w, want{r + pre + "/lib64/wireshark/extcap", "up to 4.4"},
				want{r + pre + "/lib/wireshark/extcap", "up to 4.4"})
		}
		return w
	}
	// mac is what the rules add for Homebrew and /usr/local.
	mac := []want{{"/opt/homebrew/libexec/wireshark/extcap", "4.6+"}, {"/opt/homebrew/lib/wireshark/extcap", "up to 4.4"},
		{"/usr/local/libexec/wireshark/extcap", "4.6+"}, {"/usr/local/lib/wireshark/extcap", "up to 4.4"}}
	cat := func(ws ...[]want) []want {
		var out []want
		for _, w := range ws {
			out = append(out, w...)
		}
		return out
	}
	tests := []struct {
		name string
		env  Env
		want []want
	}{
		{"linux 4.0.17: tshark, then the rules", Env{GOOS: "linux", Home: "/root", Root: root,
			RunTshark: fakeTshark(t, "folders-4.0.17-linux.txt", "version-4.0.17-linux.txt")},
			cat([]want{{"/usr/lib/x86_64-linux-gnu/wireshark/extcap", "4.0.17"}}, unix(root))},
		{"linux 4.6.9: libexec", Env{GOOS: "linux", Home: "/home/alice", Root: root,
			RunTshark: fakeTshark(t, "folders-4.6.9-linux.txt", "version-4.6.9-linux.txt")},
			cat([]want{{"/usr/libexec/wireshark/extcap", "4.6.9"}}, unix(root))},
		{"linux without tshark: both layouts", Env{GOOS: "linux", Home: "/root", Root: root}, unix(root)},
		{"debian without tshark: the multiarch folder that exists", Env{GOOS: "linux", Home: "/root", Root: debRoot},
			unix(debRoot, "x86_64-linux-gnu")},
		{"windows 4.4.1: tshark's extcap\\wireshark, then the rules", Env{GOOS: "windows", Home: `C:\Users\a`,
			RunTshark: fakeTshark(t, "folders-4.4.1-windows.txt", "version-4.4.1-windows.txt")},
			[]want{{`C:\Program Files\Wireshark\extcap\wireshark`, "4.4.1"}, {`C:\Program Files\Wireshark\extcap`, "all but 4.4.0"}}},
		{"windows 4.0.10", Env{GOOS: "windows", Home: `C:\Users\a`,
			RunTshark: fakeTshark(t, "folders-4.0.10-windows.txt", "version-4.0.10-windows.txt")},
			[]want{{`C:\Program Files\Wireshark\extcap`, "4.0.10"}, {`C:\Program Files\Wireshark\extcap\wireshark`, "4.4.0"}}},
		{"windows no tshark, other Program Files", Env{GOOS: "windows", Getenv: mapEnv(map[string]string{"ProgramFiles": `E:\Apps`})},
			[]want{{`E:\Apps\Wireshark\extcap\wireshark`, "4.4.0"}, {`E:\Apps\Wireshark\extcap`, "all but 4.4.0"},
				{`C:\Program Files\Wireshark\extcap\wireshark`, "4.4.0"}, {`C:\Program Files\Wireshark\extcap`, "all but 4.4.0"}}},
		{"windows: a Wireshark installed elsewhere", Env{GOOS: "windows",
			Tsharks: []Tshark{{Path: `D:\Tools\WS\tshark.exe`, Run: fakeTsharkOut(nil, nil, errors.New("no answer"))}}},
			[]want{{`D:\Tools\WS\extcap\wireshark`, "4.4.0"}, {`D:\Tools\WS\extcap`, "all but 4.4.0"},
				{`C:\Program Files\Wireshark\extcap\wireshark`, "4.4.0"}, {`C:\Program Files\Wireshark\extcap`, "all but 4.4.0"}}},
		{"macos 4.4.1 app bundle", Env{GOOS: "darwin", Home: "/Users/a",
			RunTshark: fakeTshark(t, "folders-4.4.1-macos.txt", "version-4.4.1-macos.txt")},
			cat([]want{{"/Applications/Wireshark.app/Contents/MacOS/extcap/wireshark", "4.4.1"},
				{"/Applications/Wireshark.app/Contents/MacOS/extcap", "4.0+"},
				{"/Users/a/Applications/Wireshark.app/Contents/MacOS/extcap/wireshark", "4.4"},
				{"/Users/a/Applications/Wireshark.app/Contents/MacOS/extcap", "4.0+"}}, mac)},
		{"macos 4.0.8 app bundle", Env{GOOS: "darwin",
			RunTshark: fakeTshark(t, "folders-4.0.8-macos.txt", "version-4.0.8-macos.txt")},
			cat([]want{{"/Applications/Wireshark.app/Contents/MacOS/extcap", "4.0.8"},
				{"/Applications/Wireshark.app/Contents/MacOS/extcap/wireshark", "4.4"}}, mac)},
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

// TestGlobalFoldersProgramPrefix: a tshark or Wireshark outside /usr adds
// the folders under its own prefix, also where its symlink points (a
// Homebrew keg); a tshark in an app bundle or outside a bin folder adds
// none.
func TestGlobalFoldersProgramPrefix(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	root := t.TempDir()
	keg := filepath.Join(root, "opt", "homebrew", "Cellar", "wireshark", "4.6.0", "bin")
	writeFile(t, filepath.Join(keg, "tshark"), "#!/bin/sh\n")
	mustMkdir(t, filepath.Join(root, "opt", "homebrew", "bin"))
	if err := os.Symlink("../Cellar/wireshark/4.6.0/bin/tshark", filepath.Join(root, "opt", "homebrew", "bin", "tshark")); err != nil {
		t.Fatal(err)
	}
	dirs := func(env Env) map[string]string {
		m := map[string]string{}
		for _, g := range GlobalFolders(context.Background(), env) {
			m[g.Dir] = g.Version
		}
		return m
	}

	mac := dirs(Env{GOOS: "darwin", Root: root, Tsharks: []Tshark{
		{Path: "/opt/homebrew/bin/tshark", Run: fakeTsharkOut(nil, nil, errors.New("no answer"))},
		{Path: "/Applications/Wireshark.app/Contents/MacOS/tshark", Run: fakeTsharkOut(nil, nil, errors.New("no answer"))}}})
	for _, d := range []string{
		root + "/opt/homebrew/Cellar/wireshark/4.6.0/libexec/wireshark/extcap",
		root + "/opt/homebrew/Cellar/wireshark/4.6.0/lib/wireshark/extcap",
		root + "/opt/homebrew/libexec/wireshark/extcap",
	} {
		if _, ok := mac[d]; !ok {
			t.Errorf("macOS: %s missing from %v", d, mac)
		}
	}
	for d := range mac {
		if strings.Contains(d, ".app/Contents/libexec") || strings.Contains(d, ".app/Contents/lib/") {
			t.Errorf("macOS: app bundle taken for a prefix: %s", d)
		}
	}

	linux := dirs(Env{GOOS: "linux", Root: root, LoneGUIs: []string{"/opt/ws/bin/wireshark", "/srv/wireshark"}})
	if v := linux[root+"/opt/ws/libexec/wireshark/extcap"]; v != "4.6+" {
		t.Errorf("linux: /opt/ws/libexec/wireshark/extcap = %q, want 4.6+ (%v)", v, linux)
	}
	if _, ok := linux[root+"/opt/ws/lib/wireshark/extcap"]; !ok {
		t.Errorf("linux: /opt/ws/lib/wireshark/extcap missing")
	}
	for d := range linux {
		if strings.HasPrefix(d, root+"/srv") || strings.HasPrefix(d, root+"/libexec") {
			t.Errorf("linux: a program outside a bin folder gave %s", d)
		}
	}
}

// TestGlobalFoldersNotPersonal: a tshark under the home folder does not
// turn the personal folder into a global one, nor does a
// $WIRESHARK_EXTCAP_DIR pointing at it.
func TestGlobalFoldersNotPersonal(t *testing.T) {
	root := t.TempDir()
	home := root + "/home/a"
	personal := home + "/.local/lib/wireshark/extcap"
	env := Env{GOOS: "linux", Home: home, Root: root, Getenv: mapEnv(map[string]string{ExtcapDirVar: personal}),
		Tsharks: []Tshark{{Path: "/home/a/.local/bin/tshark", Run: fakeTsharkOut(nil, nil, errors.New("no answer"))}}}
	got := GlobalFolders(context.Background(), env)
	seen := false
	for _, g := range got {
		if g.Dir == personal {
			t.Errorf("personal folder listed as global: %+v", g)
		}
		seen = seen || g.Dir == home+"/.local/libexec/wireshark/extcap"
	}
	if !seen {
		t.Errorf("the tshark's own libexec folder is missing: %+v", got)
	}
}

// TestExtcapDirOverride: $WIRESHARK_EXTCAP_DIR replaces the global folder
// unless Wireshark has special privileges, which never happens on Windows.
func TestExtcapDirOverride(t *testing.T) {
	set := mapEnv(map[string]string{ExtcapDirVar: "/opt/extcaps"})
	tests := []struct {
		name     string
		env      Env
		dir      string
		honoured bool
	}{
		{"unset", Env{GOOS: "linux", Getenv: mapEnv(nil)}, "", false},
		{"no Getenv", Env{GOOS: "linux"}, "", false},
		{"linux user", Env{GOOS: "linux", Getenv: set}, "/opt/extcaps", true},
		{"linux root", Env{GOOS: "linux", Getenv: set, Privileged: true}, "/opt/extcaps", false},
		{"macos setuid", Env{GOOS: "darwin", Getenv: set, Privileged: true}, "/opt/extcaps", false},
		{"windows", Env{GOOS: "windows", Getenv: mapEnv(map[string]string{ExtcapDirVar: `D:\x`}), Privileged: true}, `D:\x`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, ok := ExtcapDirOverride(tt.env)
			if dir != tt.dir || ok != tt.honoured {
				t.Errorf("ExtcapDirOverride = %q, %v; want %q, %v", dir, ok, tt.dir, tt.honoured)
			}
		})
	}
}

// TestGlobalFoldersOverride: an honoured $WIRESHARK_EXTCAP_DIR comes first
// (tshark, run with the same environment, reports the same folder), an
// ignored one is not listed, and the built-in folders stay listed: a
// Wireshark started from another environment reads them.
func TestGlobalFoldersOverride(t *testing.T) {
	root := t.TempDir()
	over := filepath.ToSlash(filepath.Join(root, "extcaps"))
	tshark := fakeTsharkOut([]byte("Personal Extcap path:\t/home/a/.local/lib/wireshark/extcap\nGlobal Extcap path:\t"+over+"\n"),
		readFixture(t, "version-4.6.9-linux.txt"), nil)
	env := Env{GOOS: "linux", Home: "/home/a", Root: root, RunTshark: tshark,
		Getenv: mapEnv(map[string]string{ExtcapDirVar: over})}
	got := GlobalFolders(context.Background(), env)
	if len(got) == 0 || got[0].Dir != over || !strings.Contains(got[0].Why, ExtcapDirVar) {
		t.Fatalf("first folder = %+v, want %s from %s", got, over, ExtcapDirVar)
	}
	for _, g := range got[1:] {
		if g.Dir == over {
			t.Errorf("%s listed twice", over)
		}
	}
	if got[len(got)-1].Dir != root+"/usr/local/lib/wireshark/extcap" {
		t.Errorf("built-in folders missing: %+v", got)
	}

	env.Privileged = true
	env.RunTshark = fakeTshark(t, "folders-4.6.9-linux.txt", "version-4.6.9-linux.txt")
	for _, g := range GlobalFolders(context.Background(), env) {
		if g.Dir == over {
			t.Errorf("ignored %s listed: %+v", ExtcapDirVar, g)
		}
	}
}

// TestGlobalFoldersCopies: what the doctor does with the folders finds a
// copy in 4.6's libexec folder and in $WIRESHARK_EXTCAP_DIR.
func TestGlobalFoldersCopies(t *testing.T) {
	root := t.TempDir()
	self := writeSelf(t, "v2")
	libexec := filepath.Join(root, "usr", "libexec", "wireshark", "extcap")
	over := filepath.Join(root, "extcaps")
	writeFile(t, filepath.Join(libexec, "vmdump"), "v1")
	writeFile(t, filepath.Join(libexec, "sshdump"), "x")
	writeFile(t, filepath.Join(over, "vmdump"), "v2")
	env := Env{GOOS: "linux", Home: "/home/a", Root: root, Getenv: mapEnv(map[string]string{ExtcapDirVar: over})}
	var desc []string
	for _, c := range CopiesIn(runtime.GOOS, GlobalFolders(context.Background(), env), self) {
		desc = append(desc, c.Path+map[bool]string{true: " =", false: " ≠"}[c.Same]+" "+c.Folder.Version)
	}
	want := []string{filepath.Join(over, "vmdump") + " = 4.0+", filepath.Join(libexec, "vmdump") + " ≠ 4.6+"}
	if !reflect.DeepEqual(desc, want) {
		t.Errorf("copies =\n %q\nwant\n %q", desc, want)
	}
}

func TestSpecialPrivs(t *testing.T) {
	tests := []struct {
		goos                 string
		uid, euid, gid, egid int
		want                 bool
	}{
		{"linux", 1000, 1000, 1000, 1000, false},
		{"linux", 0, 0, 0, 0, true},          // root: Wireshark ignores the variables
		{"linux", 1000, 1000, 0, 0, true},    // group root
		{"linux", 1000, 0, 1000, 1000, true}, // setuid
		{"darwin", 0, 0, 0, 0, false},        // issetugid(): sudo is not set-id
		{"darwin", 501, 0, 20, 20, true},
		{"freebsd", 1000, 1000, 1000, 1001, true},
		{"windows", -1, -1, -1, -1, false},
	}
	for _, tt := range tests {
		if got := specialPrivs(tt.goos, tt.uid, tt.euid, tt.gid, tt.egid); got != tt.want {
			t.Errorf("specialPrivs(%s, %d, %d, %d, %d) = %v, want %v", tt.goos, tt.uid, tt.euid, tt.gid, tt.egid, got, tt.want)
		}
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
