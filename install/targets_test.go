package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTshark answers like a tshark whose `-G folders` and `--version` print
// the given fixtures.
func fakeTshark(t testing.TB, folders, version string) func(context.Context, ...string) ([]byte, error) {
	f, v := readFixture(t, folders), readFixture(t, version)
	return fakeTsharkOut(f, v, nil)
}

func fakeTsharkOut(folders, version []byte, err error) func(context.Context, ...string) ([]byte, error) {
	return func(_ context.Context, args ...string) ([]byte, error) {
		switch strings.Join(args, " ") {
		case "-G folders":
			return folders, err
		case "--version":
			return version, err
		}
		return nil, errors.New("fake tshark: unexpected args " + strings.Join(args, " "))
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestTargets(t *testing.T) {
	legacyHome := t.TempDir() // has only ~/.wireshark: 4.0 uses it
	mustMkdir(t, filepath.Join(legacyHome, ".wireshark"))
	bothHome := t.TempDir() // has both: 4.0 prefers ~/.config/wireshark
	mustMkdir(t, filepath.Join(bothHome, ".wireshark"))
	mustMkdir(t, filepath.Join(bothHome, ".config", "wireshark"))

	type want struct{ dir, version, why string }
	tests := []struct {
		name string
		env  Env
		want []want
	}{
		// tshark answers.
		{"linux 4.0.17 (real output)", Env{GOOS: "linux", Home: "/root", Getenv: mapEnv(nil),
			RunTshark: fakeTshark(t, "folders-4.0.17-linux.txt", "version-4.0.17-linux.txt")},
			[]want{{"/root/.config/wireshark/extcap", "4.0.17", "Personal configuration + /extcap"}}},
		{"linux 4.2.2", Env{GOOS: "linux", Home: "/home/alice", Getenv: mapEnv(nil),
			RunTshark: fakeTshark(t, "folders-4.2.2-linux.txt", "version-4.2.2-linux.txt")},
			[]want{{"/home/alice/.local/lib/wireshark/extcap", "4.2.2", "Personal Extcap path from tshark 4.2.2"}}},
		{"linux 4.4.1", Env{GOOS: "linux", Home: "/home/alice", Getenv: mapEnv(nil),
			RunTshark: fakeTshark(t, "folders-4.4.1-linux.txt", "version-4.4.1-linux.txt")},
			[]want{{"/home/alice/.local/lib/wireshark/extcap", "4.4.1", "Personal Extcap path from tshark 4.4.1"}}},
		{"linux 4.6.9 (4.6 moved the global folder, not the personal one)", Env{GOOS: "linux", Home: "/home/alice", Getenv: mapEnv(nil),
			RunTshark: fakeTshark(t, "folders-4.6.9-linux.txt", "version-4.6.9-linux.txt")},
			[]want{{"/home/alice/.local/lib/wireshark/extcap", "4.6.9", "Personal Extcap path from tshark 4.6.9"}}},
		{"linux 4.6.9 with WIRESHARK_EXTCAP_DIR: personal folder unchanged", Env{GOOS: "linux", Home: "/home/alice",
			Getenv:    mapEnv(map[string]string{ExtcapDirVar: "/opt/extcaps"}),
			RunTshark: fakeTshark(t, "folders-4.6.9-linux.txt", "version-4.6.9-linux.txt")},
			[]want{{"/home/alice/.local/lib/wireshark/extcap", "4.6.9", "tshark 4.6.9"}}},
		{"linux 4.4.1 ignores env rules (tshark knows)", Env{GOOS: "linux", Home: "/home/alice",
			Getenv:    mapEnv(map[string]string{"WIRESHARK_CONFIG_DIR": "/wcd", "XDG_CONFIG_HOME": "/xdg"}),
			RunTshark: fakeTshark(t, "folders-4.4.1-linux.txt", "version-4.4.1-linux.txt")},
			[]want{{"/home/alice/.local/lib/wireshark/extcap", "4.4.1", "tshark 4.4.1"}}},
		{"macos 4.0.8", Env{GOOS: "darwin", Home: "/Users/alice", Getenv: mapEnv(nil),
			RunTshark: fakeTshark(t, "folders-4.0.8-macos.txt", "version-4.0.8-macos.txt")},
			[]want{{"/Users/alice/.config/wireshark/extcap", "4.0.8", "Wireshark 4.0 personal folder"}}},
		{"macos 4.4.1", Env{GOOS: "darwin", Home: "/Users/alice", Getenv: mapEnv(nil),
			RunTshark: fakeTshark(t, "folders-4.4.1-macos.txt", "version-4.4.1-macos.txt")},
			[]want{{"/Users/alice/.local/lib/wireshark/extcap", "4.4.1", "Personal Extcap path"}}},
		{"windows 4.0.10", Env{GOOS: "windows", Home: `C:\Users\alice`, Getenv: mapEnv(nil),
			RunTshark: fakeTshark(t, "folders-4.0.10-windows.txt", "version-4.0.10-windows.txt")},
			[]want{{`C:\Users\alice\AppData\Roaming\Wireshark\extcap`, "4.0.10", "Personal configuration"}}},
		{"windows 4.4.1", Env{GOOS: "windows", Home: `C:\Users\alice`, Getenv: mapEnv(nil),
			RunTshark: fakeTshark(t, "folders-4.4.1-windows.txt", "version-4.4.1-windows.txt")},
			[]want{{`C:\Users\alice\AppData\Roaming\Wireshark\extcap`, "4.4.1", "Personal Extcap path from tshark 4.4.1"}}},
		{"4.4 output without Personal Extcap line: version rule", Env{GOOS: "linux", Home: "/home/alice", Getenv: mapEnv(nil),
			RunTshark: fakeTsharkOut([]byte("Personal configuration:\t/home/alice/.config/wireshark\n"), readFixture(t, "version-4.4.1-linux.txt"), nil)},
			[]want{{"/home/alice/.local/lib/wireshark/extcap", "4.4.1", "4.2+"}}},
		{"windows 4.4 output without Personal Extcap line", Env{GOOS: "windows", Home: `C:\Users\alice`, Getenv: mapEnv(nil),
			RunTshark: fakeTsharkOut([]byte("Personal configuration:\tD:\\conf\r\n"), readFixture(t, "version-4.4.1-windows.txt"), nil)},
			[]want{{`D:\conf\extcap`, "4.4.1", "Personal configuration"}}},
		{"unknown version with only Personal configuration: 4.0 rule", Env{GOOS: "linux", Home: "/h", Getenv: mapEnv(nil),
			RunTshark: fakeTsharkOut([]byte("Personal configuration:\t/h/cfg\n"), nil, nil)},
			[]want{{"/h/cfg/extcap", "", "version unknown"}}},
		{"tshark fails: fallback", Env{GOOS: "linux", Home: "/h", Getenv: mapEnv(nil),
			RunTshark: fakeTsharkOut(nil, nil, errors.New("exit status 1"))},
			[]want{{"/h/.local/lib/wireshark/extcap", "4.2+", "tshark gave no folder: exit status 1"},
				{"/h/.config/wireshark/extcap", "4.0", "tshark gave no folder"}}},
		{"tshark prints nothing useful: fallback", Env{GOOS: "linux", Home: "/h", Getenv: mapEnv(nil),
			RunTshark: fakeTsharkOut([]byte("Temp:\t/tmp\n"), nil, nil)},
			[]want{{"/h/.local/lib/wireshark/extcap", "4.2+", "printed no personal folder"},
				{"/h/.config/wireshark/extcap", "4.0", "printed no personal folder"}}},

		// No tshark: OS rules, both generations on Unix.
		{"linux no tshark", Env{GOOS: "linux", Home: "/home/bob", Getenv: mapEnv(nil)},
			[]want{{"/home/bob/.local/lib/wireshark/extcap", "4.2+", "tshark not found"},
				{"/home/bob/.config/wireshark/extcap", "4.0", "~/.config/wireshark"}}},
		{"linux XDG_CONFIG_HOME", Env{GOOS: "linux", Home: "/home/bob", Getenv: mapEnv(map[string]string{"XDG_CONFIG_HOME": "/xdg"})},
			[]want{{"/home/bob/.local/lib/wireshark/extcap", "4.2+", ""},
				{"/xdg/wireshark/extcap", "4.0", "$XDG_CONFIG_HOME"}}},
		{"linux WIRESHARK_CONFIG_DIR beats XDG", Env{GOOS: "linux", Home: "/home/bob",
			Getenv: mapEnv(map[string]string{"XDG_CONFIG_HOME": "/xdg", "WIRESHARK_CONFIG_DIR": "/wcd"})},
			[]want{{"/home/bob/.local/lib/wireshark/extcap", "4.2+", ""},
				{"/wcd/extcap", "4.0", "$WIRESHARK_CONFIG_DIR"}}},
		{"linux legacy ~/.wireshark", Env{GOOS: "linux", Home: legacyHome, Getenv: mapEnv(nil)},
			[]want{{legacyHome + "/.local/lib/wireshark/extcap", "4.2+", ""},
				{legacyHome + "/.wireshark/extcap", "4.0", "legacy"}}},
		{"linux legacy and XDG both exist: XDG", Env{GOOS: "linux", Home: bothHome, Getenv: mapEnv(nil)},
			[]want{{bothHome + "/.local/lib/wireshark/extcap", "4.2+", ""},
				{bothHome + "/.config/wireshark/extcap", "4.0", ""}}},
		{"linux same folder twice is deduped", Env{GOOS: "linux", Home: "/home/bob",
			Getenv: mapEnv(map[string]string{"WIRESHARK_CONFIG_DIR": "/home/bob/.local/lib/wireshark/"})},
			[]want{{"/home/bob/.local/lib/wireshark/extcap", "4.2+", ""}}},
		{"linux no home but WIRESHARK_CONFIG_DIR", Env{GOOS: "linux", Getenv: mapEnv(map[string]string{"WIRESHARK_CONFIG_DIR": "/wcd"})},
			[]want{{"/wcd/extcap", "4.0", ""}}},
		{"macos no tshark", Env{GOOS: "darwin", Home: "/Users/bob", Getenv: mapEnv(nil)},
			[]want{{"/Users/bob/.local/lib/wireshark/extcap", "4.2+", ""},
				{"/Users/bob/.config/wireshark/extcap", "4.0", ""}}},
		{"macos XDG_CONFIG_HOME", Env{GOOS: "darwin", Home: "/Users/bob", Getenv: mapEnv(map[string]string{"XDG_CONFIG_HOME": "/Users/bob/cfg"})},
			[]want{{"/Users/bob/.local/lib/wireshark/extcap", "4.2+", ""},
				{"/Users/bob/cfg/wireshark/extcap", "4.0", ""}}},
		{"windows APPDATA", Env{GOOS: "windows", Home: `C:\Users\bob`,
			Getenv: mapEnv(map[string]string{"APPDATA": `C:\Users\bob\AppData\Roaming`})},
			[]want{{`C:\Users\bob\AppData\Roaming\Wireshark\extcap`, "4.0+", "%APPDATA%"}}},
		{"windows APPDATA with trailing slash", Env{GOOS: "windows", Home: `C:\Users\bob`,
			Getenv: mapEnv(map[string]string{"APPDATA": `C:\Users\bob\AppData\Roaming\`})},
			[]want{{`C:\Users\bob\AppData\Roaming\Wireshark\extcap`, "4.0+", ""}}},
		{"windows WIRESHARK_CONFIG_DIR", Env{GOOS: "windows", Home: `C:\Users\bob`,
			Getenv: mapEnv(map[string]string{"APPDATA": `C:\x`, "WIRESHARK_CONFIG_DIR": `D:/ws`})},
			[]want{{`D:\ws\extcap`, "4.0+", "%WIRESHARK_CONFIG_DIR%"}}},
		{"windows USERPROFILE only", Env{GOOS: "windows", Getenv: mapEnv(map[string]string{"USERPROFILE": `C:\Users\bob`})},
			[]want{{`C:\Users\bob\Application Data\Wireshark\extcap`, "4.0+", ""}}},
		{"windows home only", Env{GOOS: "windows", Home: `C:\Users\bob`, Getenv: mapEnv(nil)},
			[]want{{`C:\Users\bob\AppData\Roaming\Wireshark\extcap`, "4.0+", ""}}},
		{"nil Getenv", Env{GOOS: "linux", Home: "/h"},
			[]want{{"/h/.local/lib/wireshark/extcap", "4.2+", ""}, {"/h/.config/wireshark/extcap", "4.0", ""}}},
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
				g := got[i]
				if g.Dir != w.dir || g.Version != w.version || g.Why == "" || !strings.Contains(g.Why, w.why) {
					t.Errorf("target %d = %+v, want dir %q version %q why containing %q", i, g, w.dir, w.version, w.why)
				}
			}
		})
	}
}

func TestTargetsNoHome(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		if ts, err := Targets(Env{GOOS: goos, Getenv: mapEnv(nil)}); err == nil {
			t.Errorf("%s without home: got %+v, want an error", goos, ts)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
}

func TestJoinPath(t *testing.T) {
	tests := []struct {
		goos string
		in   []string
		want string
	}{
		{"linux", []string{"/a/", "b", "c"}, "/a/b/c"},
		{"darwin", []string{"/Users/x", ".local"}, "/Users/x/.local"},
		{"windows", []string{`C:\a\`, "b"}, `C:\a\b`},
		{"windows", []string{`C:\`, "b"}, `C:\b`},
		{"windows", []string{"D:/x/y", `\z`}, `D:\x\y\z`},
		{"windows", []string{`\\srv\share`, "", "w"}, `\\srv\share\w`},
	}
	for _, tt := range tests {
		if got := joinPath(tt.goos, tt.in...); got != tt.want {
			t.Errorf("joinPath(%s, %q) = %q, want %q", tt.goos, tt.in, got, tt.want)
		}
	}
}

func TestDedupeWindowsCaseAndSlashes(t *testing.T) {
	got := dedupe("windows", []Target{{Dir: `C:\A\extcap`}, {Dir: `c:/a/EXTCAP/`}, {Dir: `C:\B\extcap`}})
	if len(got) != 2 || got[0].Dir != `C:\A\extcap` || got[1].Dir != `C:\B\extcap` {
		t.Errorf("dedupe = %+v", got)
	}
	got = dedupe("linux", []Target{{Dir: "/a/Extcap"}, {Dir: "/a/extcap"}, {Dir: "/a/extcap/"}})
	if len(got) != 2 {
		t.Errorf("linux dedupe is case sensitive and slash tolerant; got %+v", got)
	}
}

func TestFindTshark(t *testing.T) {
	noPath := func(string) (string, error) { return "", errors.New("not found") }
	inPath := func(string) (string, error) { return "/opt/bin/tshark", nil }
	tests := []struct {
		name     string
		goos     string
		env      map[string]string
		lookPath func(string) (string, error)
		present  []string
		want     string
	}{
		{"PATH wins", "linux", nil, inPath, []string{"/usr/bin/tshark"}, "/opt/bin/tshark"},
		{"linux /usr/bin", "linux", nil, noPath, []string{"/usr/bin/tshark"}, "/usr/bin/tshark"},
		{"linux none", "linux", nil, noPath, nil, ""},
		{"macos app bundle", "darwin", nil, noPath, []string{"/Applications/Wireshark.app/Contents/MacOS/tshark", "/usr/local/bin/tshark"},
			"/Applications/Wireshark.app/Contents/MacOS/tshark"},
		{"macos homebrew", "darwin", nil, noPath, []string{"/opt/homebrew/bin/tshark"}, "/opt/homebrew/bin/tshark"},
		{"windows ProgramFiles", "windows", map[string]string{"ProgramFiles": `E:\Apps`}, noPath,
			[]string{`E:\Apps\Wireshark\tshark.exe`, `C:\Program Files\Wireshark\tshark.exe`}, `E:\Apps\Wireshark\tshark.exe`},
		{"windows default", "windows", nil, noPath, []string{`C:\Program Files\Wireshark\tshark.exe`}, `C:\Program Files\Wireshark\tshark.exe`},
		{"windows ignores unix places", "windows", nil, noPath, []string{"/usr/bin/tshark"}, ""},
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
			if got := findTshark(tt.goos, mapEnv(tt.env), tt.lookPath, exists); got != tt.want {
				t.Errorf("findTshark = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLastErrLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Running as user \"root\" and group \"root\". This could be dangerous.\n", ""},
		{"tshark: boom\r\nRunning as user \"root\"\n\n", "tshark: boom"},
		{"a\nb\n", "b"},
	}
	for _, tt := range tests {
		if got := lastErrLine(tt.in); got != tt.want {
			t.Errorf("lastErrLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func mustMkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
