package install

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
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
	// tshark was found.
	RunTshark func(ctx context.Context, args ...string) ([]byte, error)
}

// tsharkTimeout bounds every tshark call: tshark -D runs every installed
// extcap, and a hanging one must not hang `vmdump install`.
const tsharkTimeout = 5 * time.Second

// HostEnv describes this machine; RunTshark is nil when tshark is neither in
// PATH nor in the place its installer usually puts it.
func HostEnv() Env {
	home, _ := os.UserHomeDir()
	env := Env{GOOS: runtime.GOOS, Home: home, Getenv: os.Getenv}
	if path := findTshark(env.GOOS, env.Getenv, exec.LookPath, isFile); path != "" {
		env.RunTshark = tsharkRunner(path)
	}
	return env
}

// findTshark returns the tshark to ask: the one in PATH, else the one the
// official installer or package puts in a fixed place (the macOS app bundle
// and the Windows installer do not add tshark to PATH).
func findTshark(goos string, getenv func(string) string, lookPath func(string) (string, error), exists func(string) bool) string {
	if p, err := lookPath("tshark"); err == nil && p != "" {
		return p
	}
	for _, p := range tsharkCandidates(goos, getenv) {
		if exists(p) {
			return p
		}
	}
	return ""
}

// tsharkCandidates lists the usual install places of tshark per OS.
func tsharkCandidates(goos string, getenv func(string) string) []string {
	switch goos {
	case "windows":
		var out []string
		for _, v := range []string{"ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"} {
			if dir := getenv(v); dir != "" {
				out = append(out, joinPath(goos, dir, "Wireshark", "tshark.exe"))
			}
		}
		return append(out, `C:\Program Files\Wireshark\tshark.exe`)
	case "darwin":
		return []string{
			"/Applications/Wireshark.app/Contents/MacOS/tshark",
			"/opt/homebrew/bin/tshark",
			"/usr/local/bin/tshark",
		}
	default:
		return []string{"/usr/bin/tshark", "/usr/local/bin/tshark", "/usr/sbin/tshark"}
	}
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
