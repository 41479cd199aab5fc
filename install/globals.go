package install

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// GlobalFolders lists the system-wide extcap folders a Wireshark on this
// machine may read, most relevant first:
//
//   - $WIRESHARK_EXTCAP_DIR, when Wireshark would honour it (see
//     ExtcapDirOverride): it replaces the built-in global folder;
//   - what each tshark calls its "Global Extcap path" (4.2+) or "Extcap
//     path" (4.0);
//   - the built-in folders by version rule, for the Wireshark installations
//     found and the usual install prefixes (see globalRules).
//
// vmdump never installs there (that needs administrator rights and is
// overwritten by Wireshark updates); `vmdump doctor` looks there for copies
// that a user put by hand: one in a folder Wireshark no longer reads, or a
// renamed one that would list every VM twice. Listing a folder no Wireshark
// reads costs nothing (CopiesIn skips folders that do not exist); missing
// one hides a copy from the doctor.
func GlobalFolders(ctx context.Context, env Env) []Target {
	var ts []Target
	if dir, ok := ExtcapDirOverride(env); ok {
		ts = append(ts, Target{Dir: dir,
			Why:     "$" + ExtcapDirVar + ": a Wireshark started with it reads this instead of its built-in global folder",
			Version: "4.0+"})
	}
	for _, sh := range env.tsharks() {
		out, _ := sh.Run(ctx, "-G", "folders")
		f := ParseFolders(out)
		if f.GlobalExtcap == "" {
			continue
		}
		verOut, _ := sh.Run(ctx, "--version")
		ver := ParseVersion(verOut)
		ts = append(ts, Target{Dir: f.GlobalExtcap, Why: "Global Extcap path from tshark " + ver, Version: ver})
	}
	return notPersonal(env, dedupe(env.GOOS, append(ts, globalRules(env)...)))
}

// notPersonal drops the personal extcap folders from ts: a program
// installed under the home folder (~/.local/bin/tshark) makes a rule name
// ~/.local/lib/wireshark/extcap, and $WIRESHARK_EXTCAP_DIR may point at a
// personal folder; the copy there is the installed one, not a stray.
func notPersonal(env Env, ts []Target) []Target {
	personal := map[string]bool{}
	for _, t := range fallbackTargets(env, "") {
		personal[dirKey(env.GOOS, t.Dir)] = true
	}
	var out []Target
	for _, t := range ts {
		if !personal[dirKey(env.GOOS, t.Dir)] {
			out = append(out, t)
		}
	}
	return out
}

// ExtcapDirVar is the environment variable that replaces Wireshark's global
// extcap folder (wsutil/filesystem.c init_extcap_dir, 4.0 through 4.6; in
// 4.6 it is built as "WIRESHARK_" + "EXTCAP_DIR").
const ExtcapDirVar = "WIRESHARK_EXTCAP_DIR"

// ExtcapDirOverride reports $WIRESHARK_EXTCAP_DIR as a Wireshark started
// with this environment would see it. dir is the variable's value ("" when
// unset); honoured tells whether Wireshark reads that folder instead of its
// built-in global one. Wireshark checks the variable first, before the build
// directory and the installed folder, and ignores it only when it was
// started with special privileges (wsutil/privileges.c
// started_with_special_privs): on Linux when run as root or setuid/setgid,
// on macOS and the BSDs when setuid/setgid (issetugid), never on Windows.
// The variable does not move the personal folder.
func ExtcapDirOverride(env Env) (dir string, honoured bool) {
	dir = getenv(env, ExtcapDirVar)
	if dir == "" {
		return "", false
	}
	return dir, !env.Privileged || env.GOOS == "windows"
}

// globalRules are the built-in global folders by version rule:
//
// Windows: <install folder>\extcap (4.0-4.2 and again after 4.4.0) and
// <install folder>\extcap\wireshark (4.4.0, GitLab #20040/#20069), for the
// folder of every tshark and Wireshark found and the Program Files folders.
//
// macOS: the app bundle's Contents/MacOS/extcap and its 4.4-era
// Contents/MacOS/extcap/wireshark subfolder, plus the Unix rules for
// Homebrew and /usr/local.
//
// Other Unix: CMake's EXTCAP_INSTALL_LIBDIR under the install prefix, which
// 4.6 moved from the library folder (<prefix>/lib/wireshark/extcap, or
// lib/<multiarch>/ or lib64/ as the distribution sets libdir) to
// <prefix>/libexec/wireshark/extcap. The prefixes are /usr, /usr/local and
// the one of every tshark and Wireshark found (<prefix>/bin/tshark, symlinks
// followed, so a Homebrew keg counts too).
func globalRules(env Env) []Target {
	switch env.GOOS {
	case "windows":
		var ts []Target
		for _, d := range windowsInstallDirs(env) {
			ts = append(ts, windowsGlobalPair(env.GOOS, d.dir, d.why)...)
		}
		return ts
	case "darwin":
		var ts []Target
		apps := []string{"/Applications"}
		if env.Home != "" {
			apps = append(apps, joinPath(env.GOOS, env.Home, "Applications"))
		}
		for _, a := range apps {
			base := joinPath(env.GOOS, a, "Wireshark.app", "Contents", "MacOS", "extcap")
			ts = append(ts,
				Target{Dir: joinPath(env.GOOS, base, "wireshark"), Why: "Wireshark 4.4 app bundle's extcap/wireshark subfolder (as the 4.4 extcap man page names it)", Version: "4.4"},
				Target{Dir: base, Why: "Wireshark app bundle's global folder", Version: "4.0+"})
		}
		return append(ts, unixPrefixRules(env, []string{"/opt/homebrew", "/usr/local"})...)
	}
	return unixPrefixRules(env, []string{"/usr", "/usr/local"})
}

// windowsInstallDir is a folder Wireshark may be installed in.
type windowsInstallDir struct{ dir, why string }

// windowsInstallDirs are the folders of the tsharks and Wireshark GUIs
// found, then <Program Files>\Wireshark for every Program Files folder.
func windowsInstallDirs(env Env) []windowsInstallDir {
	var out []windowsInstallDir
	for _, p := range env.programPaths() {
		if dir := parentDir(env.GOOS, p); strings.ContainsAny(dir, `\/:`) {
			out = append(out, windowsInstallDir{dir, "the installation of " + p})
		}
	}
	for _, pf := range programFilesDirs(env.Getenv) {
		out = append(out, windowsInstallDir{joinPath(env.GOOS, pf, "Wireshark"), "installer"})
	}
	return out
}

// windowsGlobalPair is the 4.4.0 folder and the one of every other release
// for the installation in dir.
func windowsGlobalPair(goos, dir, what string) []Target {
	base := joinPath(goos, dir, "extcap")
	return []Target{
		{Dir: joinPath(goos, base, "wireshark"), Why: "Wireshark 4.4.0's global folder (" + what + "; 4.4.0 read only extcap\\wireshark)", Version: "4.4.0"},
		{Dir: base, Why: "Wireshark's global folder (" + what + "; every release but 4.4.0)", Version: "all but 4.4.0"},
	}
}

// programPaths are the Wireshark programs found: every tshark, then the
// GUIs without one.
func (env Env) programPaths() []string {
	var out []string
	for _, sh := range env.tsharks() {
		out = append(out, sh.Path)
	}
	return append(out, env.LoneGUIs...)
}

// unixPrefixRules lists, for the prefixes of the programs found and then
// the given ones, the global folders of both layouts: 4.6's libexec one
// first, then the library folders of 4.0-4.4 (lib/<multiarch> only where
// such a folder exists, as the triple is the distribution's choice).
// env.Root is put before every path looked at.
func unixPrefixRules(env Env, fixed []string) []Target {
	var prefixes []string
	for _, p := range env.programPaths() {
		prefixes = append(prefixes, programPrefixes(env, p)...)
	}
	prefixes = append(prefixes, fixed...)
	var ts []Target
	seen := map[string]bool{}
	for _, pre := range prefixes {
		if seen[pre] {
			continue
		}
		seen[pre] = true
		root := joinPath(env.GOOS, env.Root, pre)
		ts = append(ts, Target{Dir: joinPath(env.GOOS, root, "libexec", "wireshark", "extcap"),
			Why: "Wireshark 4.6+ global folder under " + pre + " (libexec)", Version: "4.6+"})
		if env.GOOS != "darwin" {
			for _, d := range multiarchDirs(root) {
				ts = append(ts, Target{Dir: d, Why: "Wireshark global folder up to 4.4 under " + pre + " (multiarch lib)", Version: "up to 4.4"})
			}
			ts = append(ts, Target{Dir: joinPath(env.GOOS, root, "lib64", "wireshark", "extcap"),
				Why: "Wireshark global folder up to 4.4 under " + pre + " (lib64)", Version: "up to 4.4"})
		}
		ts = append(ts, Target{Dir: joinPath(env.GOOS, root, "lib", "wireshark", "extcap"),
			Why: "Wireshark global folder up to 4.4 under " + pre + " (lib; also 4.6 where libexecdir is set to lib)", Version: "up to 4.4"})
	}
	return ts
}

// programPrefixes is the install prefix of the program at p ("/usr" for
// /usr/bin/tshark), before and after following symlinks; none for a program
// outside a bin folder or inside a macOS app bundle (whose rules are its
// own).
func programPrefixes(env Env, p string) []string {
	var out []string
	add := func(q string) {
		if !path.IsAbs(q) || strings.Contains(q, ".app/Contents/") {
			return
		}
		bin := path.Dir(q)
		if b := path.Base(bin); b != "bin" && b != "sbin" {
			return
		}
		if pre := path.Dir(bin); pre != "/" {
			out = append(out, pre)
		}
	}
	add(p)
	r := resolvePath(joinPath(env.GOOS, env.Root, p))
	if env.Root == "" {
		add(r)
		return out
	}
	for _, root := range []string{env.Root, resolvePath(env.Root)} {
		if rel, ok := strings.CutPrefix(r, strings.TrimRight(root, "/")); ok {
			add(rel)
			break
		}
	}
	return out
}

// multiarchDirs are the existing <root>/lib/<triple>/wireshark/extcap
// folders, sorted.
func multiarchDirs(root string) []string {
	m, _ := filepath.Glob(filepath.Join(root, "lib", "*", "wireshark", "extcap"))
	var out []string
	for _, d := range m {
		if isDir(d) {
			out = append(out, filepath.ToSlash(d))
		}
	}
	sort.Strings(out)
	return out
}

// Copy is a vmdump binary found in an extcap folder.
type Copy struct {
	Path   string
	Folder Target
	// Same is true when the file is byte for byte the binary compared with.
	Same bool
}

// CopiesIn lists the vmdump copies (files named vmdump*, any case) in
// the given folders, comparing each with the binary self ("" compares with
// nothing). Folders that do not exist are skipped.
func CopiesIn(goos string, folders []Target, self string) []Copy {
	var sum []byte
	if self != "" {
		sum, _ = fileSum(self)
	}
	var out []Copy
	for _, f := range folders {
		entries, err := os.ReadDir(f.Dir)
		if err != nil {
			continue
		}
		var names []string
		for _, e := range entries {
			if strings.HasPrefix(strings.ToLower(e.Name()), baseName) && !e.IsDir() {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(f.Dir, n)
			c := Copy{Path: p, Folder: f}
			if sum != nil {
				if s, err := fileSum(p); err == nil && string(s) == string(sum) {
					c.Same = true
				}
			}
			out = append(out, c)
		}
	}
	return out
}
