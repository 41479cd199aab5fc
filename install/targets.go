package install

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// Target is one folder vmdump is installed into.
type Target struct {
	Dir string
	// Why says where Dir comes from, for the user, e.g. "Personal Extcap
	// path from tshark 4.4.1".
	Why string
	// Version is the Wireshark version the folder belongs to: tshark's
	// version when tshark was asked, else the series the rule is for
	// ("4.0" or "4.2+").
	Version string
}

// Targets returns the personal extcap folder(s) Wireshark will read. Every
// tshark found is asked (each Wireshark version reads its own folder); when
// there is none, one does not answer usefully, or a Wireshark without tshark
// was found, the folders of both the 4.0 and the 4.2+ rules for env.GOOS are
// added: a copy in a folder no Wireshark reads is harmless, a missing one
// makes vmdump vanish from the interface list.
func Targets(env Env) ([]Target, error) {
	var ts []Target
	var notes []string
	shs := env.tsharks()
	for _, sh := range shs {
		got, err := tsharkTargets(context.Background(), env, sh)
		if err != nil {
			notes = append(notes, sh.Path+" gave no folder: "+err.Error())
			continue
		}
		ts = append(ts, got...)
	}
	if len(shs) == 0 {
		notes = append(notes, "tshark not found")
	}
	for _, g := range env.LoneGUIs {
		notes = append(notes, g+" has no tshark beside it to ask")
	}
	if len(notes) > 0 {
		ts = append(ts, fallbackTargets(env, strings.Join(notes, "; "))...)
	}
	if len(ts) == 0 {
		return nil, errors.New("cannot find your home folder: set HOME (or APPDATA on Windows) and retry")
	}
	return dedupe(env.GOOS, ts), nil
}

// tsharkTargets derives the personal extcap folder from `tshark -G folders`.
// tshark runs with our environment, so its answer already honours
// WIRESHARK_CONFIG_DIR, XDG_CONFIG_HOME and a legacy ~/.wireshark.
func tsharkTargets(ctx context.Context, env Env, sh Tshark) ([]Target, error) {
	out, err := sh.Run(ctx, "-G", "folders")
	f := ParseFolders(out)
	if f.PersonalExtcap == "" && f.PersonalConfiguration == "" {
		if err != nil {
			return nil, err
		}
		return nil, errors.New("`tshark -G folders` printed no personal folder")
	}
	verOut, _ := sh.Run(ctx, "--version")
	ver := ParseVersion(verOut)
	from := "tshark " + ver
	if ver == "" {
		from = "tshark (version unknown)"
	}
	if sh.Path != "tshark" {
		from += " at " + sh.Path
	}
	if f.PersonalExtcap != "" {
		return []Target{{Dir: f.PersonalExtcap, Why: "Personal Extcap path from " + from, Version: ver}}, nil
	}
	if isNew, ok := newExtcapFolder(ver); ok && isNew {
		// 4.1+ always prints "Personal Extcap path"; if a build did not,
		// its rule is still known.
		if env.GOOS == "windows" {
			return []Target{{Dir: joinPath(env.GOOS, f.PersonalConfiguration, "extcap"),
				Why: "Personal configuration + \\extcap from " + from, Version: ver}}, nil
		}
		if env.Home == "" {
			return nil, errors.New("home folder unknown")
		}
		return []Target{{Dir: joinPath(env.GOOS, env.Home, ".local", "lib", "wireshark", "extcap"),
			Why: "Wireshark 4.2+ personal folder (~/.local/lib/wireshark/extcap) for " + from, Version: ver}}, nil
	}
	return []Target{{Dir: joinPath(env.GOOS, f.PersonalConfiguration, "extcap"),
		Why: "Wireshark 4.0 personal folder (Personal configuration + /extcap) from " + from, Version: ver}}, nil
}

// fallbackTargets applies the OS rules of both Wireshark generations.
// Unix: 4.2+ reads ~/.local/lib/wireshark/extcap; 4.0 reads the extcap
// subfolder of its configuration folder. Windows: both read
// %APPDATA%\Wireshark\extcap (or $WIRESHARK_CONFIG_DIR\extcap).
func fallbackTargets(env Env, note string) []Target {
	suffix := ""
	if note != "" {
		suffix = "; " + note
	}
	if env.GOOS == "windows" {
		dir, why := windowsConfigDir(env)
		if dir == "" {
			return nil
		}
		return []Target{{Dir: joinPath(env.GOOS, dir, "extcap"),
			Why: "Wireshark personal folder (" + why + "\\extcap)" + suffix, Version: "4.0+"}}
	}
	var ts []Target
	if env.Home != "" {
		ts = append(ts, Target{Dir: joinPath(env.GOOS, env.Home, ".local", "lib", "wireshark", "extcap"),
			Why: "Wireshark 4.2+ personal folder (~/.local/lib/wireshark/extcap)" + suffix, Version: "4.2+"})
	}
	if dir, why := unix40ConfigDir(env); dir != "" {
		ts = append(ts, Target{Dir: joinPath(env.GOOS, dir, "extcap"),
			Why: "Wireshark 4.0 personal folder (" + why + "/extcap)" + suffix, Version: "4.0"})
	}
	return ts
}

// unix40ConfigDir is Wireshark 4.0's get_persconffile_dir_no_profile() on
// Unix: $WIRESHARK_CONFIG_DIR, else glib's user config dir + "/wireshark"
// unless only the legacy ~/.wireshark exists.
func unix40ConfigDir(env Env) (dir, why string) {
	if d := getenv(env, "WIRESHARK_CONFIG_DIR"); d != "" {
		return d, "$WIRESHARK_CONFIG_DIR"
	}
	xdg, why := "", ""
	if d := getenv(env, "XDG_CONFIG_HOME"); d != "" {
		xdg, why = joinPath(env.GOOS, d, "wireshark"), "$XDG_CONFIG_HOME/wireshark"
	} else if env.Home != "" {
		xdg, why = joinPath(env.GOOS, env.Home, ".config", "wireshark"), "~/.config/wireshark"
	} else {
		return "", ""
	}
	if env.Home != "" && !isDir(xdg) {
		if legacy := joinPath(env.GOOS, env.Home, ".wireshark"); isDir(legacy) {
			return legacy, "legacy ~/.wireshark"
		}
	}
	return xdg, why
}

// windowsConfigDir is Wireshark's personal configuration folder on Windows.
func windowsConfigDir(env Env) (dir, why string) {
	if d := getenv(env, "WIRESHARK_CONFIG_DIR"); d != "" {
		return d, "%WIRESHARK_CONFIG_DIR%"
	}
	if d := getenv(env, "APPDATA"); d != "" {
		return joinPath(env.GOOS, d, "Wireshark"), "%APPDATA%\\Wireshark"
	}
	if d := getenv(env, "USERPROFILE"); d != "" {
		return joinPath(env.GOOS, d, "Application Data", "Wireshark"), "%USERPROFILE%\\Application Data\\Wireshark"
	}
	if env.Home != "" {
		return joinPath(env.GOOS, env.Home, "AppData", "Roaming", "Wireshark"), "%APPDATA%\\Wireshark"
	}
	return "", ""
}

func getenv(env Env, key string) string {
	if env.Getenv == nil {
		return ""
	}
	return env.Getenv(key)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// joinPath joins with the separator of goos, not of the machine running the
// code, so Windows rules can be tested on Linux and the other way round.
func joinPath(goos string, elem ...string) string {
	if goos != "windows" {
		return path.Join(elem...)
	}
	var b strings.Builder
	for i, e := range elem {
		e = strings.ReplaceAll(e, "/", `\`)
		if i > 0 {
			e = strings.TrimLeft(e, `\`)
		}
		if e == "" {
			continue
		}
		if b.Len() > 0 && !strings.HasSuffix(b.String(), `\`) {
			b.WriteByte('\\')
		}
		b.WriteString(e)
	}
	return b.String()
}

// dirKey is the identity of a folder for deduplication: Windows paths are
// case-insensitive and accept both slashes.
func dirKey(goos, dir string) string {
	if goos == "windows" {
		return strings.ToLower(strings.TrimRight(strings.ReplaceAll(dir, "/", `\`), `\`))
	}
	return path.Clean(dir)
}

// dedupe keeps the first target for each folder.
func dedupe(goos string, ts []Target) []Target {
	seen := map[string]bool{}
	var out []Target
	for _, t := range ts {
		k := dirKey(goos, t.Dir)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
	}
	return out
}

// String is a one-line description, for doctor output.
func (t Target) String() string {
	return fmt.Sprintf("%s (%s)", t.Dir, t.Why)
}
