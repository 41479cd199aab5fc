package hostenv

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// HostEnv describes the real machine: the user's home, the OS, the process
// environment and a kill(pid, 0) liveness check. log may be nil.
func HostEnv(log *slog.Logger) Env {
	home, err := os.UserHomeDir()
	if err != nil {
		home = ""
	}
	return Env{
		Home:         home,
		GOOS:         runtime.GOOS,
		Getenv:       os.Getenv,
		ProcessAlive: HostProcessAlive,
		Log:          log,
	}
}

// ConfigDir is vmdump's own configuration directory. It is computed from the
// Env (not os.UserConfigDir) so that tests can point it at a fixture home.
// "" when neither the environment nor the home directory gives one.
func (e Env) ConfigDir() string {
	return e.userDir(userDirRules{
		override: "VMDUMP_CONFIG_DIR",
		winVar:   "APPDATA", winHome: []string{"AppData", "Roaming"},
		macHome: []string{"Library", "Application Support"},
		xdgVar:  "XDG_CONFIG_HOME", xdgHome: []string{".config"},
	})
}

// CacheDir is where vmdump may keep things it can recompute (remote tool
// probes, for instance). Same rules as ConfigDir, with the cache locations.
func (e Env) CacheDir() string {
	return e.userDir(userDirRules{
		override: "VMDUMP_CACHE_DIR",
		winVar:   "LOCALAPPDATA", winHome: []string{"AppData", "Local"},
		macHome: []string{"Library", "Caches"},
		xdgVar:  "XDG_CACHE_HOME", xdgHome: []string{".cache"},
	})
}

// userDirRules say where one kind of per-user directory is on each OS: a
// variable of vmdump's own that overrides everything, then the OS's
// variable for it, then its usual place under the home directory.
type userDirRules struct {
	override         string
	winVar, xdgVar   string
	winHome, xdgHome []string
	macHome          []string
}

func (e Env) userDir(r userDirRules) string {
	if d := e.EnvDir(r.override); d != "" {
		return d
	}
	osVar, home := r.xdgVar, r.xdgHome
	switch e.GOOS {
	case "windows":
		osVar, home = r.winVar, r.winHome
	case "darwin":
		osVar, home = "", r.macHome
	}
	if osVar != "" {
		if d := e.EnvDir(osVar); d != "" {
			return filepath.Join(d, "vmdump")
		}
	}
	return e.HomePath(append(append([]string(nil), home...), "vmdump")...)
}

// getenv tolerates an Env built by hand without Getenv.
func (e Env) Var(key string) string {
	if e.Getenv == nil {
		return ""
	}
	v := e.Getenv(key)
	e.noteEnv(key, v)
	return v
}

// envDir returns the directory named by an environment variable, or "" when
// it is unset or relative. A relative directory would be resolved against
// whatever working directory Wireshark started us in, so it is ignored.
func (e Env) EnvDir(key string) string {
	v := e.Var(key)
	if v == "" || strings.ContainsRune(v, 0) {
		return ""
	}
	if !IsAbs(v) {
		e.Logger().Debug("ignoring relative directory in environment", "var", key, "value", v)
		return ""
	}
	return filepath.Clean(v)
}

// DirOr is the directory the variable key names (EnvDir), else parts
// under the home directory (HomePath): a VM manager's "$LIMA_HOME or
// ~/.lima".
func (e Env) DirOr(key string, parts ...string) string {
	if d := e.EnvDir(key); d != "" {
		return d
	}
	return e.HomePath(parts...)
}

// homePath joins parts under the home directory, or returns "" when the home
// is unknown, so that a missing HOME never turns into paths relative to the
// working directory.
func (e Env) HomePath(parts ...string) string {
	if e.Home == "" {
		return ""
	}
	return filepath.Join(append([]string{e.Home}, parts...)...)
}

// rootPath is an absolute system path ("/var/snap/...") under Env.Root.
func (e Env) RootPath(abs string) string {
	if e.Root == "" {
		return filepath.FromSlash(abs)
	}
	return filepath.Join(e.Root, filepath.FromSlash(abs))
}

// expandHome turns "~" and "~/x" into paths under the home directory.
func (e Env) ExpandHome(p string) string {
	if p == "~" {
		return e.Home
	}
	if strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		if e.Home == "" {
			return ""
		}
		return filepath.Join(e.Home, p[2:])
	}
	return p
}

func (e Env) Logger() *slog.Logger {
	if e.Log == nil {
		return discDiscardLogger
	}
	return e.Log
}

// alive reports whether pid is a live process. Without a ProcessAlive
// function nothing is known, so nothing is claimed to run.
func (e Env) alive(pid int) bool {
	if pid <= 0 || e.ProcessAlive == nil {
		return false
	}
	alive := e.ProcessAlive(pid)
	e.noteProcess(pid, alive)
	return alive
}

var discDiscardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// discIsAbs accepts both this OS's absolute paths and Windows drive paths, so
// fixtures for one OS can be read on another.
func IsAbs(p string) bool {
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(p[0] >= 'A' && p[0] <= 'Z' || p[0] >= 'a' && p[0] <= 'z')
}

// Env is everything discovery reads from the outside world. Tests point it at
// fixture home directories; HostEnv describes the real machine.
type Env struct {
	Home   string // the user's home directory ("" when unknown)
	GOOS   string // "linux", "darwin", "windows"
	Getenv func(string) string
	// ProcessAlive reports whether a pid from a manager's pid file is alive
	// (kill(pid, 0) on Unix). Never a network probe.
	ProcessAlive func(pid int) bool
	Log          *slog.Logger
	// Root prefixes the system-wide paths discovery stats (Multipass's
	// /var/snap/..., for instance) so tests can point them at a fixture.
	// "" on the real machine.
	Root string

	// rec, when set (RecordInputs), records every fact read through this
	// Env: copies of it (providers get it by value) record into the same.
	rec *Inputs
}

// ConfigFile is the path of config.toml ("" when no config dir is known).
func (e Env) ConfigFile() string {
	d := e.ConfigDir()
	if d == "" {
		return ""
	}
	return filepath.Join(d, "config.toml")
}
