package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Options tune Install and Uninstall.
type Options struct {
	// DryRun returns the actions without doing them.
	DryRun bool
	// Name is the file name in the extcap folder; default "vmdump" (with
	// ".exe" on Windows). Wireshark shows it in About → Plugins.
	Name string
}

// Action is one change made (or, with DryRun, to be made) to the disk.
type Action struct {
	Op   string // one of the Op* constants
	Path string
	Why  string
}

// Action operations.
const (
	OpMkdir     = "mkdir"      // created an extcap folder
	OpInstall   = "install"    // copied vmdump where there was none
	OpReplace   = "replace"    // replaced a different vmdump
	OpKeep      = "keep"       // the same vmdump is already there
	OpRemove    = "remove"     // removed a copy of vmdump
	OpMoveAside = "move-aside" // renamed a running copy to *.old (Windows)
)

// baseName is the stem every copy of vmdump starts with, whatever Name says.
const baseName = "vmdump"

// fileName is the file name to install as, checked to be a plain name.
func (o Options) fileName(goos string) (string, error) {
	name := o.Name
	if name == "" {
		name = baseName
		if goos == "windows" {
			name += ".exe"
		}
	}
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("bad install name %q: give a file name without folders", name)
	}
	return name, nil
}

// Install copies the running binary self into every target folder, creating
// the folder if needed, and removes other copies of vmdump there (a renamed
// copy, e.g. "vmdump-old", would list every interface twice).
func Install(ctx context.Context, env Env, self string, opt Options) ([]Action, error) {
	name, err := opt.fileName(env.GOOS)
	if err != nil {
		return nil, err
	}
	sum, err := fileSum(self)
	if err != nil {
		return nil, fmt.Errorf("cannot read the vmdump binary %s: %w", self, err)
	}
	targets, err := Targets(env)
	if err != nil {
		return nil, err
	}
	var acts []Action
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return acts, err
		}
		a, err := installInto(env.GOOS, t, self, sum, name, opt.DryRun)
		acts = append(acts, a...)
		if err != nil {
			return acts, err
		}
	}
	return acts, nil
}

// installInto puts self into one folder; see Install.
func installInto(goos string, t Target, self string, sum []byte, name string, dry bool) ([]Action, error) {
	var acts []Action
	var copies []string
	st, err := os.Stat(t.Dir)
	switch {
	case err == nil && !st.IsDir():
		return nil, fmt.Errorf("%s is a file, not a folder: move it away and retry", t.Dir)
	case errors.Is(err, fs.ErrNotExist):
		acts = append(acts, Action{Op: OpMkdir, Path: t.Dir, Why: t.Why})
		if !dry {
			if err := os.MkdirAll(t.Dir, 0o755); err != nil {
				return acts, fmt.Errorf("cannot create %s: %w", t.Dir, err)
			}
		}
	case err != nil:
		return nil, fmt.Errorf("cannot use %s: %w", t.Dir, err)
	default:
		if copies, err = findCopies(goos, t.Dir, name, false); err != nil {
			return acts, err
		}
	}

	dst := filepath.Join(t.Dir, name)
	op, err := installOp(goos, dst, sum)
	if err != nil {
		return acts, err
	}
	var aside string
	if op == OpKeep {
		acts = append(acts, Action{Op: OpKeep, Path: dst, Why: "already up to date"})
	} else {
		acts = append(acts, Action{Op: op, Path: dst, Why: t.Why})
		if !dry {
			aside, err = copyInto(dst, self, stemOf(name))
			if err != nil {
				return acts, err
			}
			if aside != "" {
				acts = append(acts, Action{Op: OpMoveAside, Path: aside, Why: "the old copy is running; delete it after closing Wireshark"})
			}
		}
	}

	for _, c := range copies {
		if c == aside {
			continue // the copy that is running right now, moved aside above
		}
		a, err := removeCopy(c, "another copy of vmdump would list its interfaces twice", dry)
		acts = append(acts, a...)
		if err != nil {
			return acts, err
		}
	}
	return acts, nil
}

// installOp tells whether dst is missing, different or already the same
// executable file as the one with checksum sum.
func installOp(goos, dst string, sum []byte) (string, error) {
	st, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return OpInstall, nil
	}
	if err != nil {
		return "", fmt.Errorf("cannot use %s: %w", dst, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s is a folder: remove it and retry", dst)
	}
	if !st.Mode().IsRegular() || (goos != "windows" && st.Mode().Perm()&0o100 == 0) {
		return OpReplace, nil
	}
	if s, err := fileSum(dst); err == nil && bytes.Equal(s, sum) {
		return OpKeep, nil
	}
	return OpReplace, nil
}

func copyInto(dst, self, stem string) (string, error) {
	src, err := os.Open(self)
	if err != nil {
		return "", fmt.Errorf("cannot read the vmdump binary %s: %w", self, err)
	}
	defer src.Close()
	return replaceFile(dst, src, stem)
}

// Uninstall removes every copy of vmdump from every folder Wireshark may read
// personal extcaps from: the targets, and both the 4.0 and the 4.2+ personal
// folders, whichever Wireshark is installed. Folders stay.
func Uninstall(ctx context.Context, env Env, opt Options) ([]Action, error) {
	name, err := opt.fileName(env.GOOS)
	if err != nil {
		return nil, err
	}
	targets, _ := Targets(env) // the fallback below still covers the usual folders
	targets = dedupe(env.GOOS, append(targets, fallbackTargets(env, "")...))
	if len(targets) == 0 {
		return nil, errors.New("cannot find your home folder: set HOME (or APPDATA on Windows) and retry")
	}
	var acts []Action
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return acts, err
		}
		if !isDir(t.Dir) {
			continue
		}
		copies, err := findCopies(env.GOOS, t.Dir, name, true)
		if err != nil {
			return acts, err
		}
		for _, c := range copies {
			a, err := removeCopy(c, t.Why, opt.DryRun)
			acts = append(acts, a...)
			if err != nil {
				return acts, err
			}
		}
	}
	return acts, nil
}

// findCopies lists the files in dir that are copies of vmdump: names
// starting with "vmdump", the stem of name followed by nothing or by one of
// ". -_" (a custom Name "x" must not match every "x*" extcap), and temporary
// files an interrupted install left. The file called name itself is included only
// when withName is set. Folders are never included.
func findCopies(goos, dir, name string, withName bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list %s: %w", dir, err)
	}
	stem := strings.ToLower(stemOf(name))
	var out []string
	for _, e := range entries {
		if !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		n := e.Name()
		if !withName && sameName(goos, n, name) {
			continue
		}
		l := strings.ToLower(n)
		isCopy := strings.HasPrefix(l, baseName) || l == stem ||
			(strings.HasPrefix(l, stem) && strings.ContainsRune(". -_", rune(l[len(stem)]))) ||
			(strings.HasPrefix(l, "."+stem+"-") && strings.HasSuffix(l, ".tmp"))
		if isCopy {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out, nil
}

// removeCopy removes one file. A copy Windows refuses to delete because it is
// running is renamed to *.old, which Wireshark ignores there; an *.old that
// is still running is left alone.
func removeCopy(p, why string, dry bool) ([]Action, error) {
	if dry {
		return []Action{{Op: OpRemove, Path: p, Why: why}}, nil
	}
	err := os.Remove(p)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return []Action{{Op: OpRemove, Path: p, Why: why}}, nil
	}
	if strings.HasSuffix(strings.ToLower(p), ".old") {
		return nil, nil
	}
	old := p + ".old"
	os.Remove(old)
	if rerr := renameFile(p, old); rerr != nil {
		return nil, fmt.Errorf("cannot remove %s (close Wireshark and retry): %w", p, err)
	}
	return []Action{{Op: OpMoveAside, Path: old, Why: "it is running; delete it after closing Wireshark"}}, nil
}

// sameName compares file names the way the target file system does.
func sameName(goos, a, b string) bool {
	if goos == "windows" || goos == "darwin" {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// stemOf is name without its extension ("vmdump.exe" -> "vmdump").
func stemOf(name string) string {
	if s := strings.TrimSuffix(name, filepath.Ext(name)); s != "" {
		return s
	}
	return name
}

func fileSum(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
