package install

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// GlobalFolders lists the system-wide extcap folders of the Wireshark
// installations found: what each tshark calls its "Global Extcap path" (4.2+)
// or "Extcap path" (4.0), and, on Windows and macOS, the folders of the
// official installers by version rule. Wireshark 4.4 moved the Windows one
// from <Program Files>\Wireshark\extcap to ...\extcap\wireshark and reads the
// old one no more; the macOS app bundle's moved the same way, from
// Contents/MacOS/extcap to Contents/MacOS/extcap/wireshark.
//
// vmdump never installs there (that needs administrator rights and is
// overwritten by Wireshark updates); `vmdump doctor` looks there for copies
// that a user put by hand: one in a folder Wireshark no longer reads, or a
// renamed one that would list every VM twice.
func GlobalFolders(ctx context.Context, env Env) []Target {
	var ts []Target
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
	return dedupe(env.GOOS, append(ts, globalRules(env)...))
}

// globalRules are the global folders of the official installers.
func globalRules(env Env) []Target {
	switch env.GOOS {
	case "windows":
		var ts []Target
		for _, pf := range programFilesDirs(env.Getenv) {
			base := joinPath(env.GOOS, pf, "Wireshark", "extcap")
			ts = append(ts,
				Target{Dir: joinPath(env.GOOS, base, "wireshark"), Why: "Wireshark 4.4+ installer's global folder", Version: "4.4+"},
				Target{Dir: base, Why: "Wireshark installer's global folder up to 4.2 (4.4 reads extcap\\wireshark instead)", Version: "up to 4.2"})
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
				Target{Dir: joinPath(env.GOOS, base, "wireshark"), Why: "Wireshark 4.4+ app bundle's global folder", Version: "4.4+"},
				Target{Dir: base, Why: "Wireshark app bundle's global folder up to 4.2", Version: "up to 4.2"})
		}
		return ts
	}
	return nil
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
