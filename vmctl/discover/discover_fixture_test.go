package discover

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// Fixture homes live in testdata/homes/<case>/. They copy the real file
// layouts and formats of each VM manager. Three things cannot be stored
// literally and are substituted when a test copies a fixture into a temp
// dir: @TMP@ (the copy's root: absolute paths inside manager files),
// @ALIVE_PID@ (this test process) and @DEAD_PID@ (a process the test
// started and waited for, so certainly gone).
//
// Each case has <tmp>/home as the home directory (unless noHome) and
// <tmp>/root as Env.Root for system paths.
type discFixtureCase struct {
	goos   string
	vars   map[string]string // environment; values may use @TMP@
	noHome bool
}

var discFixtureCases = map[string]discFixtureCase{
	"full":   {goos: "linux"},
	"darwin": {goos: "darwin"},
	"windows": {goos: "windows", vars: map[string]string{
		"APPDATA":      "@TMP@/home/AppData/Roaming",
		"LOCALAPPDATA": "@TMP@/home/AppData/Local",
		"ProgramData":  "@TMP@/ProgramData",
	}},
	"envvars": {goos: "linux", vars: map[string]string{
		"BOOT2DOCKER_DIR":      "@TMP@/b2d",
		"MACHINE_STORAGE_PATH": "@TMP@/dm",
		"LIMA_HOME":            "@TMP@/limahome",
		"COLIMA_HOME":          "@TMP@/colimahome",
		"MINIKUBE_HOME":        "@TMP@/mk",
		"VAGRANT_HOME":         "@TMP@/vg",
		"DOCKER_CONFIG":        "@TMP@/dockercfg",
		"XDG_CONFIG_HOME":      "@TMP@/xdgconfig",
		"XDG_DATA_HOME":        "@TMP@/xdgdata",
		"DOCKER_HOST":          "ssh://deploy@198.51.100.7:2222",
	}},
	"refs":      {goos: "linux"},
	"broken":    {goos: "linux"},
	"badconfig": {goos: "linux"},
	"nohome": {goos: "linux", noHome: true, vars: map[string]string{
		"LIMA_HOME": "@TMP@/lima",
	}},
}

// fixture is a fixture home copied into a temp dir, with its Env.
type discFixture struct {
	tmp string
	env hostenv.Env
	log *bytes.Buffer
}

func discLoadFixture(t testing.TB, name string) discFixture {
	t.Helper()
	c, ok := discFixtureCases[name]
	if !ok {
		t.Fatalf("unknown fixture %q", name)
	}
	tmp := t.TempDir()
	repl := strings.NewReplacer(
		"@TMP@", filepath.ToSlash(tmp),
		"@ALIVE_PID@", strconv.Itoa(os.Getpid()),
		"@DEAD_PID@", strconv.Itoa(vmtest.DeadPID(t)),
	)
	src := filepath.Join("testdata", "homes", name)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		dst := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if d.Name() == ".keep" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(repl.Replace(string(data))), 0o644)
	})
	if err != nil {
		t.Fatalf("copying fixture %s: %v", name, err)
	}
	vars := map[string]string{}
	for k, v := range c.vars {
		vars[k] = repl.Replace(v)
	}
	log := &bytes.Buffer{}
	env := hostenv.Env{
		Home:         filepath.Join(tmp, "home"),
		GOOS:         c.goos,
		Getenv:       func(k string) string { return vars[k] },
		ProcessAlive: hostenv.HostProcessAlive,
		Log:          slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Root:         filepath.Join(tmp, "root"),
	}
	if c.noHome {
		env.Home = ""
	}
	return discFixture{tmp: tmp, env: env, log: log}
}

// describe renders a VM as one comparable line, with the temp dir as @TMP@.
func (f discFixture) describe(vm vmctl.VM) string {
	keys := strings.Join(vm.KeyFiles, ",")
	if keys == "" {
		keys = "-"
	}
	s := fmt.Sprintf("%s %s/%s %s %s lo=%t if=%s keys=%s", vm.ID, vm.Manager, vm.Name, vm.State,
		vm.Endpoint(), vm.Loopback, vm.Interface, keys)
	if vm.SSHAlias {
		s += " alias"
	}
	if vm.Note != "" {
		s += " note=" + strconv.Quote(vm.Note)
	}
	if vm.Skip != "" {
		s += " skip=" + strconv.Quote(vm.Skip)
	}
	return strings.ReplaceAll(s, filepath.ToSlash(f.tmp), "@TMP@")
}
