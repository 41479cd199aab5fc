package install

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Env is everything about the machine that decides where vmdump goes. Tests
// build one by hand; HostEnv builds the real one.
type Env struct {
	GOOS   string
	Home   string
	Getenv func(string) string
	// RunTshark runs tshark with args and returns its stdout. nil when no
	// tshark was found. It is Tsharks[0] when HostEnv built the Env.
	RunTshark func(ctx context.Context, args ...string) ([]byte, error)
	// Tsharks is every tshark found, the one in PATH first. A Mac may have
	// Homebrew's tshark and Wireshark.app's, of different versions, and each
	// version reads its own personal folder; so every one is asked. Empty
	// means RunTshark alone (Envs built by hand).
	Tsharks []Tshark
	// LoneGUIs are Wireshark programs found with no tshark beside them:
	// their version, and so their folder, is unknown, and Targets covers
	// both generations.
	LoneGUIs []string
	// Privileged says vmdump runs with what Wireshark calls special
	// privileges (Linux: root or setuid/setgid; macOS and the BSDs:
	// setuid/setgid), under which a Wireshark ignores $WIRESHARK_EXTCAP_DIR.
	Privileged bool
	// Root is put before the system folders the Unix rules of GlobalFolders
	// look in (/usr/libexec/wireshark/extcap, ...); tests point it at a
	// fixture tree. "" on a real machine.
	Root string
}

// Tshark is one tshark program.
type Tshark struct {
	Path string
	Run  func(ctx context.Context, args ...string) ([]byte, error)
}

// tsharks is every tshark to ask.
func (env Env) tsharks() []Tshark {
	if len(env.Tsharks) > 0 {
		return env.Tsharks
	}
	if env.RunTshark != nil {
		return []Tshark{{Path: "tshark", Run: env.RunTshark}}
	}
	return nil
}

// tsharkTimeout bounds every tshark call: tshark -D runs every installed
// extcap, and a hanging one must not hang `vmdump install`.
const tsharkTimeout = 5 * time.Second

// HostEnv describes this machine: every tshark in PATH or in the places
// Wireshark's installers put it, and Wireshark programs without a tshark.
// It only looks at files; no program is started until RunTshark is called.
func HostEnv() Env {
	home, _ := os.UserHomeDir()
	env := Env{GOOS: runtime.GOOS, Home: home, Getenv: os.Getenv,
		Privileged: specialPrivs(runtime.GOOS, os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid())}
	found := findPrograms(env.GOOS, "tshark", programCandidates(env.GOOS, "tshark", env.Getenv, home), exec.LookPath, isFile, resolvePath)
	for _, path := range found {
		env.Tsharks = append(env.Tsharks, Tshark{Path: path, Run: tsharkRunner(path)})
	}
	if len(env.Tsharks) > 0 {
		env.RunTshark = env.Tsharks[0].Run
	}
	guis := findPrograms(env.GOOS, "wireshark", programCandidates(env.GOOS, "wireshark", env.Getenv, home), exec.LookPath, isFile, resolvePath)
	env.LoneGUIs = loneGUIs(env.GOOS, guis, found, resolvePath)
	return env
}

// findTshark returns the first tshark to ask (see findPrograms).
func findTshark(goos string, getenv func(string) string, lookPath func(string) (string, error), exists func(string) bool) string {
	found := findPrograms(goos, "tshark", programCandidates(goos, "tshark", getenv, ""), lookPath, exists, func(p string) string { return p })
	if len(found) == 0 {
		return ""
	}
	return found[0]
}

// findPrograms returns the program in PATH, then every one of candidates
// that exists, each once (resolve maps a path to its identity: symlinks
// resolved). The official installers of macOS and Windows do not add
// Wireshark's programs to PATH, hence the candidates.
func findPrograms(goos, name string, candidates []string, lookPath func(string) (string, error), exists func(string) bool, resolve func(string) string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		k := dirKey(goos, resolve(p))
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	if p, err := lookPath(name); err == nil && p != "" {
		add(p)
	}
	for _, p := range candidates {
		if exists(p) {
			add(p)
		}
	}
	return out
}

// programCandidates lists the usual install places of a Wireshark program
// ("tshark" or "wireshark") per OS.
func programCandidates(goos, name string, getenv func(string) string, home string) []string {
	switch goos {
	case "windows":
		exe := name + ".exe"
		if name == "wireshark" {
			exe = "Wireshark.exe"
		}
		var out []string
		for _, dir := range programFilesDirs(getenv) {
			out = append(out, joinPath(goos, dir, "Wireshark", exe))
		}
		return out
	case "darwin":
		exe := name
		if name == "wireshark" {
			exe = "Wireshark"
		}
		out := []string{"/Applications/Wireshark.app/Contents/MacOS/" + exe}
		if home != "" {
			out = append(out, joinPath(goos, home, "Applications", "Wireshark.app", "Contents", "MacOS", exe))
		}
		return append(out, "/opt/homebrew/bin/"+name, "/usr/local/bin/"+name)
	default:
		return []string{"/usr/bin/" + name, "/usr/local/bin/" + name, "/usr/sbin/" + name}
	}
}

// programFilesDirs are the Program Files folders of a Windows machine, the
// default one last.
func programFilesDirs(getenv func(string) string) []string {
	var out []string
	for _, v := range []string{"ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"} {
		if getenv == nil {
			break
		}
		if dir := getenv(v); dir != "" {
			out = append(out, dir)
		}
	}
	out = append(out, `C:\Program Files`)
	seen := map[string]bool{}
	var uniq []string
	for _, d := range out {
		if k := dirKey("windows", d); !seen[k] {
			seen[k] = true
			uniq = append(uniq, d)
		}
	}
	return uniq
}

// loneGUIs returns the Wireshark programs in guis with no tshark of
// tsharks in the same folder.
func loneGUIs(goos string, guis, tsharks []string, resolve func(string) string) []string {
	dirs := map[string]bool{}
	for _, t := range tsharks {
		dirs[dirKey(goos, parentDir(goos, resolve(t)))] = true
	}
	var out []string
	for _, g := range guis {
		if !dirs[dirKey(goos, parentDir(goos, resolve(g)))] {
			out = append(out, g)
		}
	}
	return out
}

// parentDir is the folder of p, with the separator of goos.
func parentDir(goos, p string) string {
	if goos == "windows" {
		p = strings.ReplaceAll(p, "/", `\`)
		if i := strings.LastIndexByte(p, '\\'); i >= 0 {
			return p[:i]
		}
		return ""
	}
	return path.Dir(p)
}

// resolvePath is p with symlinks resolved, or p when that fails.
func resolvePath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// tsharkRunner runs the tshark at path with a timeout. Its stderr (e.g.
// "Running as user root...") is kept off ours, because Wireshark shows any
// extcap stderr as an error; the first stderr line goes into the error.
func tsharkRunner(path string) func(ctx context.Context, args ...string) ([]byte, error) {
	return func(ctx context.Context, args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, tsharkTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		// tshark -D starts extcaps that may outlive a killed tshark and
		// keep its stdout open; don't wait for them.
		cmd.WaitDelay = time.Second
		out, err := cmd.Output()
		if err != nil {
			msg := lastErrLine(stderr.String())
			if ctx.Err() == context.DeadlineExceeded {
				msg = fmt.Sprintf("no answer within %s", tsharkTimeout)
			}
			if msg != "" {
				return out, fmt.Errorf("%s %s: %w (%s)", path, strings.Join(args, " "), err, msg)
			}
			return out, fmt.Errorf("%s %s: %w", path, strings.Join(args, " "), err)
		}
		return out, nil
	}
}

// lastErrLine picks the most telling stderr line: the last non-empty one
// that is not tshark's root warning.
func lastErrLine(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "Running as user") {
			return l
		}
	}
	return ""
}

// specialPrivs is Wireshark's started_with_special_privs() for a process
// with these ids: real and effective ids differ (setuid/setgid), or, where
// there is no issetugid() (Linux, glibc), the real user or group is root.
// Windows has no such notion (its uids are -1 in Go) and it is false there.
func specialPrivs(goos string, uid, euid, gid, egid int) bool {
	if goos == "windows" {
		return false
	}
	if uid != euid || gid != egid {
		return true
	}
	switch goos {
	case "darwin", "ios", "freebsd", "openbsd", "netbsd", "dragonfly", "solaris", "illumos":
		return false // issetugid(): only a set-id program counts
	}
	return uid == 0 || gid == 0
}
