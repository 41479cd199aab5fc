package install

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Wireshark runs every executable in its personal extcap folder, then every
// one in its global folder (skipping a global one whose name a personal one
// already has). Two copies of vmdump under different names, say "vmdump" and
// "vmdump-old", or one in each folder, would both list every VM, and the
// interface list would show each VM twice (verified with tshark 4.0.17).
// `vmdump install` removes such copies from the folders it installs into;
// PrimaryCopy covers the copies a user made by hand: each copy, asked for
// its interfaces, works out which copy Wireshark runs first, and only that
// one lists.

// PrimaryCopy reports whether the vmdump at self should list its interfaces
// when Wireshark version wsVersion asks ("4.0", the value of
// --extcap-version; "" when Wireshark did not send one). first is the copy
// that lists. Every copy computes the same answer: the first vmdump copy in
// Wireshark's scan order (the personal folder of that version, then the
// copy's own folder; by name within a folder). When self is not among the
// copies it finds (a renamed binary, a path it cannot recognise) it answers
// true: a duplicate is better than an interface list without vmdump.
// It only reads folders; Wireshark calls it at every start.
func PrimaryCopy(env Env, self, wsVersion string) (primary bool, first string) {
	if self == "" {
		return true, ""
	}
	var folders []string
	if dir := personalFolderFor(env, wsVersion); dir != "" {
		folders = append(folders, dir)
	}
	folders = append(folders, filepath.Dir(self))

	selfKey := dirKey(env.GOOS, self)
	seenFolder := map[string]bool{}
	seenName := map[string]bool{}
	foundSelf := false
	for _, dir := range folders {
		if k := dirKey(env.GOOS, dir); seenFolder[k] {
			continue
		} else {
			seenFolder[k] = true
		}
		for _, name := range runnableCopies(env.GOOS, dir) {
			nk := name
			if env.GOOS == "windows" || env.GOOS == "darwin" {
				nk = strings.ToLower(name)
			}
			if seenName[nk] {
				continue // Wireshark skips it: "already loaded as personal plugin"
			}
			seenName[nk] = true
			p := filepath.Join(dir, name)
			if first == "" {
				first = p
			}
			if dirKey(env.GOOS, p) == selfKey {
				foundSelf = true
			}
		}
	}
	if !foundSelf || first == "" {
		return true, ""
	}
	return dirKey(env.GOOS, first) == selfKey, first
}

// personalFolderFor is the personal extcap folder Wireshark version v reads
// ("" when v is not a version or no home is known).
func personalFolderFor(env Env, v string) string {
	isNew, ok := newExtcapFolder(v)
	if !ok {
		return ""
	}
	if env.GOOS == "windows" {
		if dir, _ := windowsConfigDir(env); dir != "" {
			return joinPath(env.GOOS, dir, "extcap")
		}
		return ""
	}
	if isNew {
		if env.Home == "" {
			return ""
		}
		return joinPath(env.GOOS, env.Home, ".local", "lib", "wireshark", "extcap")
	}
	if dir, _ := unix40ConfigDir(env); dir != "" {
		return joinPath(env.GOOS, dir, "extcap")
	}
	return ""
}

// runnableCopies lists, sorted, the files in dir named vmdump* (any case)
// that Wireshark would run: executable regular files (symlinks followed) on
// Unix, programs by extension on Windows (so "vmdump.exe.old", left by an
// update of a running copy, is not one).
func runnableCopies(goos, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(strings.ToLower(name), baseName) {
			continue
		}
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if goos == "windows" {
			switch strings.ToLower(filepath.Ext(name)) {
			case ".exe", ".bat", ".cmd", ".com":
			default:
				continue
			}
		} else if st.Mode().Perm()&0o111 == 0 {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// LocalEnv is this machine without the search for Wireshark's programs:
// all PrimaryCopy needs, at no cost on Wireshark's start-up path.
func LocalEnv() Env {
	home, _ := os.UserHomeDir()
	return Env{GOOS: runtime.GOOS, Home: home, Getenv: os.Getenv}
}

// SelfPath is the path Wireshark started this program by: Wireshark passes
// the full path of the extcap as argv[0], which keeps the name of a symlink
// in the extcap folder (os.Executable resolves it on Linux).
func SelfPath() string {
	if len(os.Args) > 0 && filepath.IsAbs(os.Args[0]) {
		return filepath.Clean(os.Args[0])
	}
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	return p
}
