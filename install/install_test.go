package install

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// tempEnv is a machine without tshark whose home is a fresh temp folder, so
// Install goes into both the 4.0 and the 4.2+ folders under it.
func tempEnv(t *testing.T) (Env, []string) {
	t.Helper()
	home := t.TempDir()
	env := Env{GOOS: runtime.GOOS, Home: home,
		Getenv: mapEnv(map[string]string{"APPDATA": filepath.Join(home, "AppData")})}
	ts, err := Targets(env)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, tg := range ts {
		dirs = append(dirs, tg.Dir)
	}
	return env, dirs
}

func writeSelf(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vmdump-build")
	if err := os.WriteFile(p, []byte(content), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ops(acts []Action) []string {
	var out []string
	for _, a := range acts {
		out = append(out, a.Op+" "+filepath.Base(a.Path))
	}
	return out
}

func defaultName() string {
	if runtime.GOOS == "windows" {
		return "vmdump.exe"
	}
	return "vmdump"
}

// snapshot records every path under root with its mode and content, to
// prove that a dry run changed nothing.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := info.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		m[p] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInstallFresh(t *testing.T) {
	env, dirs := tempEnv(t)
	self := writeSelf(t, "binary v1")
	acts, err := Install(context.Background(), env, self, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for range dirs {
		want = append(want, "mkdir extcap", "install "+defaultName())
	}
	if got := ops(acts); !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	for _, d := range dirs {
		dst := filepath.Join(d, defaultName())
		if got := readString(t, dst); got != "binary v1" {
			t.Errorf("%s = %q", dst, got)
		}
		if runtime.GOOS == "windows" {
			continue
		}
		st, err := os.Stat(dst)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o755 {
			t.Errorf("%s mode %v, want 0755", dst, st.Mode().Perm())
		}
		dst2, _ := os.Stat(d)
		if !dst2.IsDir() || dst2.Mode().Perm()&0o700 != 0o700 {
			t.Errorf("%s mode %v", d, dst2.Mode())
		}
	}
}

func TestInstallKeepsIdenticalCopy(t *testing.T) {
	env, dirs := tempEnv(t)
	self := writeSelf(t, "binary v1")
	if _, err := Install(context.Background(), env, self, Options{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, env.Home)
	acts, err := Install(context.Background(), env, self, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if a.Op != OpKeep {
			t.Errorf("second install did %+v, want only keep", a)
		}
	}
	if len(acts) != len(dirs) {
		t.Errorf("got %d actions for %d folders", len(acts), len(dirs))
	}
	if after := snapshot(t, env.Home); !reflect.DeepEqual(before, after) {
		t.Error("an up-to-date install changed the disk")
	}
}

func TestInstallReplacesAtomically(t *testing.T) {
	env, dirs := tempEnv(t)
	if _, err := Install(context.Background(), env, writeSelf(t, "binary v1"), Options{}); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dirs[0], defaultName())
	if runtime.GOOS != "windows" {
		if err := os.Chmod(dst, 0o600); err != nil { // a wrong mode must be repaired too
			t.Fatal(err)
		}
	}
	old, err := os.Open(dst) // a reader of the old file, like a running copy
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()

	acts, err := Install(context.Background(), env, writeSelf(t, "binary v2, longer"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if a.Op != OpReplace {
			t.Errorf("action %+v, want replace", a)
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, defaultName())
		if got := readString(t, p); got != "binary v2, longer" {
			t.Errorf("%s = %q", p, got)
		}
		if st, _ := os.Stat(p); runtime.GOOS != "windows" && st.Mode().Perm() != 0o755 {
			t.Errorf("%s mode %v, want 0755", p, st.Mode().Perm())
		}
		entries, _ := os.ReadDir(d)
		if len(entries) != 1 {
			t.Errorf("%s holds %d entries, want only %s (no temp files)", d, len(entries), defaultName())
		}
	}
	if runtime.GOOS == "windows" {
		return
	}
	// The old inode is untouched: the new file was renamed over it, not
	// written into it.
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(old); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "binary v1" {
		t.Errorf("the old file was modified in place: now %q", buf.String())
	}
}

// TestInstallOverRunningBinary replaces a copy that is running, which Linux
// refuses to write into (ETXTBSY).
func TestInstallOverRunningBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ETXTBSY is Linux behaviour")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	env, dirs := tempEnv(t)
	dst := filepath.Join(dirs[0], "vmdump")
	mustMkdir(t, dirs[0])
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dst, "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	// Prove the premise: writing into the running file fails.
	if f, err := os.OpenFile(dst, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Log("kernel allowed writing into a running binary; test premise weaker")
	}
	if _, err := Install(context.Background(), env, writeSelf(t, "binary v2"), Options{}); err != nil {
		t.Fatalf("install over a running copy: %v", err)
	}
	if got := readString(t, dst); got != "binary v2" {
		t.Errorf("%s = %q", dst, got)
	}
}

// TestInstallMovesRunningCopyAside acts out Windows: renaming over a running
// exe fails, renaming the exe itself works.
func TestInstallMovesRunningCopyAside(t *testing.T) {
	env, dirs := tempEnv(t)
	if _, err := Install(context.Background(), env, writeSelf(t, "binary v1"), Options{}); err != nil {
		t.Fatal(err)
	}
	// A stale .old from an earlier update is replaced.
	writeFile(t, filepath.Join(dirs[0], defaultName()+".old"), "binary v0")

	orig := renameFile
	t.Cleanup(func() { renameFile = orig })
	renameFile = func(from, to string) error {
		if _, err := os.Stat(to); err == nil && strings.HasSuffix(filepath.Base(from), ".tmp") {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: errors.New("Access is denied.")}
		}
		return orig(from, to)
	}
	acts, err := Install(context.Background(), env, writeSelf(t, "binary v2"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	asides := 0
	for _, a := range acts {
		if a.Op == OpMoveAside {
			asides++
		}
	}
	if asides != len(dirs) {
		t.Errorf("actions %q: want one move-aside per folder", ops(acts))
	}
	for _, d := range dirs {
		dst := filepath.Join(d, defaultName())
		if got := readString(t, dst); got != "binary v2" {
			t.Errorf("%s = %q", dst, got)
		}
		if got := readString(t, dst+".old"); got != "binary v1" {
			t.Errorf("%s.old = %q, want the previous copy", dst, got)
		}
		matches, _ := filepath.Glob(filepath.Join(d, ".*.tmp"))
		if len(matches) != 0 {
			t.Errorf("temp files left: %q", matches)
		}
	}
}

func TestInstallRemovesOtherCopies(t *testing.T) {
	env, dirs := tempEnv(t)
	d := dirs[0]
	others := []string{"vmdump-old", "vmdump.bak", "VMDUMP2", "vmdump_1.2", ".vmdump-123.tmp"}
	kept := []string{"sshdump", "notvmdump", "vm", "README"}
	for _, n := range append(others, kept...) {
		writeFile(t, filepath.Join(d, n), "x")
	}
	mustMkdir(t, filepath.Join(d, "vmdump-data")) // folders are not copies
	if runtime.GOOS != "windows" {
		if err := os.Symlink("/nonexistent/vmdump", filepath.Join(d, "vmdump-link")); err != nil {
			t.Fatal(err)
		}
		others = append(others, "vmdump-link")
	}

	acts, err := Install(context.Background(), env, writeSelf(t, "binary v1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, a := range acts {
		if a.Op == OpRemove {
			removed = append(removed, filepath.Base(a.Path))
			if a.Why == "" {
				t.Errorf("remove without a reason: %+v", a)
			}
		}
	}
	sort.Strings(removed)
	sort.Strings(others)
	if !reflect.DeepEqual(removed, others) {
		t.Errorf("removed %q, want %q", removed, others)
	}
	for _, n := range others {
		if _, err := os.Lstat(filepath.Join(d, n)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there (%v)", n, err)
		}
	}
	for _, n := range append(kept, "vmdump-data", defaultName()) {
		if _, err := os.Lstat(filepath.Join(d, n)); err != nil {
			t.Errorf("%s was removed: %v", n, err)
		}
	}
}

func TestInstallDryRunChangesNothing(t *testing.T) {
	env, dirs := tempEnv(t)
	writeFile(t, filepath.Join(dirs[0], "vmdump-old"), "x")
	writeFile(t, filepath.Join(dirs[0], defaultName()), "old build")
	self := writeSelf(t, "binary v1")
	before := snapshot(t, env.Home)

	acts, err := Install(context.Background(), env, self, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, env.Home); !reflect.DeepEqual(before, after) {
		t.Errorf("dry run changed the disk:\nbefore %v\nafter  %v", before, after)
	}
	want := []string{"replace " + defaultName(), "remove vmdump-old"}
	for range dirs[1:] {
		want = append(want, "mkdir extcap", "install "+defaultName())
	}
	if got := ops(acts); !reflect.DeepEqual(got, want) {
		t.Errorf("dry-run actions %q, want %q", got, want)
	}

	// The real run does what the dry run announced.
	real, err := Install(context.Background(), env, self, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ops(real), want) {
		t.Errorf("real actions %q differ from dry run %q", ops(real), want)
	}
}

func TestInstallCustomName(t *testing.T) {
	env, dirs := tempEnv(t)
	writeFile(t, filepath.Join(dirs[0], "vmdump"), "x")      // the default name is another copy
	writeFile(t, filepath.Join(dirs[0], "vmd-dev.old"), "x") // stem of the custom name
	writeFile(t, filepath.Join(dirs[0], "vmd-devx"), "x")    // not a copy: other name
	acts, err := Install(context.Background(), env, writeSelf(t, "v1"), Options{Name: "vmd-dev"})
	if err != nil {
		t.Fatal(err)
	}
	got := ops(acts)
	want := []string{"install vmd-dev", "remove vmd-dev.old", "remove vmdump"}
	if !reflect.DeepEqual(got[:3], want) {
		t.Errorf("actions %q, want to start with %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "vmd-devx")); err != nil {
		t.Errorf("vmd-devx removed: %v", err)
	}
}

func TestInstallErrors(t *testing.T) {
	t.Run("bad name", func(t *testing.T) {
		env, _ := tempEnv(t)
		for _, n := range []string{"a/b", `a\b`, "..", "."} {
			if _, err := Install(context.Background(), env, writeSelf(t, "x"), Options{Name: n}); err == nil {
				t.Errorf("name %q accepted", n)
			}
		}
	})
	t.Run("missing self", func(t *testing.T) {
		env, _ := tempEnv(t)
		_, err := Install(context.Background(), env, filepath.Join(t.TempDir(), "nope"), Options{})
		if err == nil || !strings.Contains(err.Error(), "cannot read the vmdump binary") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("folder is a file", func(t *testing.T) {
		env, dirs := tempEnv(t)
		writeFile(t, dirs[0], "not a folder")
		_, err := Install(context.Background(), env, writeSelf(t, "x"), Options{})
		if err == nil || !strings.Contains(err.Error(), "not a folder") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("target name is a folder", func(t *testing.T) {
		env, dirs := tempEnv(t)
		mustMkdir(t, filepath.Join(dirs[0], defaultName()))
		if _, err := Install(context.Background(), env, writeSelf(t, "x"), Options{}); err == nil {
			t.Error("installed over a folder")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		env, _ := tempEnv(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Install(ctx, env, writeSelf(t, "x"), Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("errors are one line", func(t *testing.T) {
		env, dirs := tempEnv(t)
		writeFile(t, dirs[0], "x")
		_, err := Install(context.Background(), env, writeSelf(t, "x"), Options{})
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %q", err)
		}
	})
}

func TestOptionsFileName(t *testing.T) {
	tests := []struct {
		goos, name, want string
	}{
		{"linux", "", "vmdump"},
		{"darwin", "", "vmdump"},
		{"windows", "", "vmdump.exe"},
		{"windows", "custom.exe", "custom.exe"},
	}
	for _, tt := range tests {
		got, err := Options{Name: tt.name}.fileName(tt.goos)
		if err != nil || got != tt.want {
			t.Errorf("fileName(%s, %q) = %q, %v; want %q", tt.goos, tt.name, got, err, tt.want)
		}
	}
}

func TestUninstall(t *testing.T) {
	env, dirs := tempEnv(t)
	if _, err := Install(context.Background(), env, writeSelf(t, "v1"), Options{}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dirs[0], "vmdump-copy"), "x")
	writeFile(t, filepath.Join(dirs[0], "sshdump"), "x")

	before := snapshot(t, env.Home)
	dryActs, err := Uninstall(context.Background(), env, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, env.Home); !reflect.DeepEqual(before, after) {
		t.Error("dry-run uninstall changed the disk")
	}
	want := []string{"remove " + defaultName(), "remove vmdump-copy"}
	for range dirs[1:] {
		want = append(want, "remove "+defaultName())
	}
	if got := ops(dryActs); !reflect.DeepEqual(got, want) {
		t.Errorf("dry-run actions %q, want %q", got, want)
	}

	acts, err := Uninstall(context.Background(), env, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(acts); !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	for _, d := range dirs {
		matches, _ := filepath.Glob(filepath.Join(d, "vmdump*"))
		if len(matches) != 0 {
			t.Errorf("left behind: %q", matches)
		}
		if !isDir(d) {
			t.Errorf("folder %s removed", d)
		}
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "sshdump")); err != nil {
		t.Errorf("other extcap removed: %v", err)
	}
	again, err := Uninstall(context.Background(), env, Options{})
	if err != nil || len(again) != 0 {
		t.Errorf("second uninstall: %q, %v", ops(again), err)
	}
}

// TestUninstallAlsoCleansBothGenerations: tshark names one folder, but a
// copy in the other generation's folder is removed too.
func TestUninstallAlsoCleansBothGenerations(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix folder rules")
	}
	home := t.TempDir()
	custom := filepath.Join(home, "custom", "extcap")
	env := Env{GOOS: runtime.GOOS, Home: home, Getenv: mapEnv(nil),
		RunTshark: fakeTsharkOut([]byte("Personal Extcap path:\t"+custom+"\n"), []byte("TShark (Wireshark) 4.4.1.\n"), nil)}
	places := []string{
		filepath.Join(custom, "vmdump"),
		filepath.Join(home, ".local", "lib", "wireshark", "extcap", "vmdump"),
		filepath.Join(home, ".config", "wireshark", "extcap", "vmdump-1"),
	}
	for _, p := range places {
		writeFile(t, p, "x")
	}
	acts, err := Uninstall(context.Background(), env, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != len(places) {
		t.Errorf("actions %+v, want %d removes", acts, len(places))
	}
	for _, p := range places {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s not removed", p)
		}
	}
}

// TestUninstallMovesRunningCopyAside acts out Windows, where a running exe
// cannot be deleted but can be renamed.
func TestUninstallMovesRunningCopyAside(t *testing.T) {
	d := t.TempDir()
	p := filepath.Join(d, "vmdump")
	// A non-empty folder stands in for the running exe, on every OS and
	// even as root: os.Remove fails (not empty) while rename works, which
	// is exactly the Windows running-exe situation.
	writeFile(t, filepath.Join(p, "inner"), "x")
	acts, err := removeCopy(p, "why", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 1 || acts[0].Op != OpMoveAside || acts[0].Path != p+".old" {
		t.Errorf("actions %+v", acts)
	}
	if !isDir(p + ".old") {
		t.Error("not moved aside")
	}
	// An .old that cannot be removed is left alone, without error.
	acts, err = removeCopy(p+".old", "why", false)
	if err != nil || len(acts) != 0 {
		t.Errorf("removeCopy(.old) = %+v, %v", acts, err)
	}
}

func TestWriteActions(t *testing.T) {
	var b bytes.Buffer
	WriteActions(&b, nil)
	if b.String() != "nothing to do\n" {
		t.Errorf("empty: %q", b.String())
	}
	b.Reset()
	WriteActions(&b, []Action{
		{Op: OpMkdir, Path: "/h/.local/lib/wireshark/extcap", Why: "Personal Extcap path from tshark 4.4.1"},
		{Op: OpInstall, Path: "/h/.local/lib/wireshark/extcap/vmdump"},
	})
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %q", b.String())
	}
	if !strings.HasPrefix(lines[0], "mkdir ") || !strings.Contains(lines[0], "/h/.local/lib/wireshark/extcap") ||
		!strings.HasSuffix(lines[0], "(Personal Extcap path from tshark 4.4.1)") {
		t.Errorf("line 0 = %q", lines[0])
	}
	if strings.TrimSpace(lines[1]) != "install    /h/.local/lib/wireshark/extcap/vmdump" {
		t.Errorf("line 1 = %q", lines[1])
	}
}

func TestVerify(t *testing.T) {
	const plugins = "sshdump         \t1.1.0\textcap\t/usr/lib/x86_64-linux-gnu/wireshark/extcap/sshdump\n" +
		"vmdump          \t0.1.0\textcap\t/home/u/.local/lib/wireshark/extcap/vmdump\r\n"
	const list = "1. eth0\n2. lo (Loopback)\n16. sshdump (SSH remote capture)\n19. vmdump_colima (Docker VM colima)\r\n20. vmdump_lima-default (Docker VM lima default)\n"
	tshark := func(plugins, devices string, err error) func(context.Context, ...string) ([]byte, error) {
		return func(_ context.Context, args ...string) ([]byte, error) {
			switch strings.Join(args, " ") {
			case "-G plugins":
				return []byte(plugins), err
			case "-D":
				return []byte(devices), err
			}
			return nil, errors.New("unexpected args")
		}
	}
	const loaded = "Wireshark loads /home/u/.local/lib/wireshark/extcap/vmdump\n"
	tests := []struct {
		name    string
		run     func(context.Context, ...string) ([]byte, error)
		want    string
		wantErr string
	}{
		{"no tshark", nil, "", ""},
		{"listed", tshark(plugins, list, nil), loaded + "tshark -D lists:\n  19. vmdump_colima (Docker VM colima)\n  20. vmdump_lima-default (Docker VM lima default)", ""},
		{"listed by display name only", tshark(plugins, "3. vm1 (Docker VM x)\n", nil), loaded + "tshark -D lists:\n  3. vm1 (Docker VM x)", ""},
		{"listed despite tshark error", tshark(plugins, list, errors.New("exit status 2")), loaded + "tshark -D lists:\n  19. vmdump_colima (Docker VM colima)\n  20. vmdump_lima-default (Docker VM lima default)", ""},
		{"loaded, no VM yet", tshark(plugins, "1. eth0\n", nil), loaded + "no Docker VM found yet: `vmdump list` shows what vmdump looks for", ""},
		{"not loaded", tshark("sshdump\t1.1.0\textcap\t/x/sshdump\n", "1. eth0\n", nil), "", "does not load vmdump"},
		{"tshark failed", tshark("", "", errors.New("exit status 2")), "", "tshark -G plugins failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(context.Background(), Env{GOOS: "linux", RunTshark: tt.run})
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n")):
				t.Errorf("err = %v, want one line containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFindCopies(t *testing.T) {
	d := t.TempDir()
	names := []string{"vmdump", "vmdump.exe", "vmdump.exe.old", "vmdumpx", "Vmdump-2", ".vmdump-9.tmp", ".vmdump-9", "sshdump", "xvmdump"}
	for _, n := range names {
		writeFile(t, filepath.Join(d, n), "x")
	}
	base := func(ps []string) []string {
		var out []string
		for _, p := range ps {
			out = append(out, filepath.Base(p))
		}
		sort.Strings(out)
		return out
	}
	got, err := findCopies("linux", d, "vmdump", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".vmdump-9.tmp", "Vmdump-2", "vmdump.exe", "vmdump.exe.old", "vmdumpx"}
	if !reflect.DeepEqual(base(got), want) {
		t.Errorf("linux copies %q, want %q", base(got), want)
	}
	got, _ = findCopies("windows", d, "VMDUMP.EXE", false)
	want = []string{".vmdump-9.tmp", "Vmdump-2", "vmdump", "vmdump.exe.old", "vmdumpx"}
	if !reflect.DeepEqual(base(got), want) {
		t.Errorf("windows copies %q, want %q", base(got), want)
	}
	got, _ = findCopies("linux", d, "vmdump", true)
	if len(got) != 6 {
		t.Errorf("with name: %q", base(got))
	}
	if _, err := findCopies("linux", filepath.Join(d, "missing"), "vmdump", false); err == nil {
		t.Error("listing a missing folder succeeded")
	}
}
