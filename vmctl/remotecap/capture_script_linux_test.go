package remotecap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// These tests run the capture wrapper exactly as sshd would (login shell
// -c command) under each local POSIX shell, in a session of its own, so
// that every process it leaves behind can be found by session id.

type localWrapper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *vmtest.SyncBuffer
	stderr *vmtest.SyncBuffer
	tmp    string
	done   chan struct{}
	err    error
}

// startLocalWrapper runs cmd with the wrapper's `sh` replaced by shell.
func startLocalWrapper(t *testing.T, shell []string, cmd string, extraEnv ...string) *localWrapper {
	t.Helper()
	cmd = strings.Replace(cmd, "exec sh -c ", "exec "+strings.Join(shell, " ")+" -c ", 1)
	w := &localWrapper{stdout: &vmtest.SyncBuffer{}, stderr: &vmtest.SyncBuffer{}, tmp: t.TempDir(), done: make(chan struct{})}
	w.cmd = exec.Command("/bin/sh", "-c", cmd)
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	w.cmd.Env = append(append(os.Environ(), "TMPDIR="+w.tmp), extraEnv...)
	w.cmd.Stdout, w.cmd.Stderr = w.stdout, w.stderr
	var err error
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w.err = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL) // our own session, by its id
			<-w.done
		}
	})
	return w
}

func (w *localWrapper) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(within):
		t.Fatalf("wrapper still running after %v; stderr: %s", within, w.stderr)
	}
	var ee *exec.ExitError
	if errors.As(w.err, &ee) {
		return ee.ExitCode()
	}
	if w.err != nil {
		t.Fatal(w.err)
	}
	return 0
}

// wait waits for the wrapper to end, or fails after a generous bound.
func (w *localWrapper) wait(t *testing.T) {
	t.Helper()
	w.exitCode(t, 30*time.Second)
}

// sessionProcesses lists the live (non-zombie) processes of session sid.
func sessionProcesses(sid int) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid pgrp session ...
		if len(f) < 4 || f[0] == "Z" || f[3] != strconv.Itoa(sid) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		out = append(out, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return out
}

// waitSessionEmpty fails unless every process of session sid is gone
// within a generous bound (this is a leak check, not a speed check).
func waitSessionEmpty(t *testing.T, sid int) {
	t.Helper()
	vmtest.WaitNone(t, 15*time.Second, "processes left behind", func() []string { return sessionProcesses(sid) })
}

// listening reports whether tcpdump said "listening on": it has set up its
// signal handlers and opened the interface (a TERM before that kills it
// without statistics, which is not what these tests are about).
func (w *localWrapper) listening() bool {
	return strings.Contains(w.stderr.String(), "listening on")
}

// quietSpec captures on lo with a filter that matches nothing here.
func quietSpec() CaptureSpec {
	return CaptureSpec{Interface: "lo", Filter: "udp port 9 and host 192.0.2.99"}
}

// eachShell runs f as a subtest under each local POSIX shell, named by it.
func eachShell(t *testing.T, f func(t *testing.T, sh []string)) {
	t.Helper()
	for _, sh := range vmtest.AvailableShells(t) {
		t.Run(strings.Join(sh, " "), func(t *testing.T) { f(t, sh) })
	}
}

// startQuietWrapper runs quietSpec's wrapper under sh, with a watchdog of
// watchdog seconds (0: CaptureCommand's own).
func startQuietWrapper(t *testing.T, sh []string, watchdog int) *localWrapper {
	t.Helper()
	spec, p := quietSpec(), localProbe(t)
	var cmd string
	var err error
	if watchdog == 0 {
		cmd, err = CaptureCommand(spec, p)
	} else {
		cmd, err = captureCommand(spec, p, watchdog)
	}
	if err != nil {
		t.Fatal(err)
	}
	return startLocalWrapper(t, sh, cmd)
}

func localProbe(t *testing.T) probe.Probe {
	return probe.Probe{UID: os.Getuid(), Tcpdump: vmtest.NeedTcpdump(t), ImmediateMode: true, Interfaces: []string{"lo"}, Label: "VM local"}
}

func checkCleanExit(t *testing.T, w *localWrapper, code int) {
	t.Helper()
	if code != 0 {
		t.Errorf("exit %d, want 0; stderr: %s", code, w.stderr)
	}
	if st := parseRemoteStats(w.stderr.String()); !st.Valid {
		t.Errorf("no tcpdump statistics in stderr: %s", w.stderr)
	}
	waitSessionEmpty(t, w.cmd.Process.Pid)
	if left, _ := os.ReadDir(w.tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestCaptureScriptEndsOnStdinEOF(t *testing.T) {
	vmtest.NeedRoot(t)
	eachShell(t, func(t *testing.T, sh []string) {
		w := startQuietWrapper(t, sh, 0)
		vmtest.WaitFor(t, "tcpdump to start", w.listening)
		_ = w.stdin.Close()
		checkCleanExit(t, w, w.exitCode(t, 15*time.Second))
	})
}

func TestCaptureScriptWatchdogEndsWithoutHeartbeat(t *testing.T) {
	vmtest.NeedRoot(t)
	eachShell(t, func(t *testing.T, sh []string) {
		w := startQuietWrapper(t, sh, 1)
		// stdin stays open and silent: a link that went down.
		checkCleanExit(t, w, w.exitCode(t, 15*time.Second))
		_ = w.stdin.Close()
	})
}

func TestCaptureScriptHeartbeatKeepsItRunning(t *testing.T) {
	vmtest.NeedRoot(t)
	eachShell(t, func(t *testing.T, sh []string) {
		w := startQuietWrapper(t, sh, 1)
		// Several watchdog periods with heartbeats: it must survive.
		for i := 0; i < 20; i++ {
			if _, err := w.stdin.Write([]byte("\n")); err != nil {
				t.Fatalf("heartbeat %d: %v (stderr: %s)", i, err, w.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
		select {
		case <-w.done:
			t.Fatalf("capture ended despite heartbeats: %v; stderr: %s", w.err, w.stderr)
		default:
		}
		_ = w.stdin.Close()
		checkCleanExit(t, w, w.exitCode(t, 15*time.Second))
	})
}

func TestCaptureScriptEndsOnTERM(t *testing.T) {
	vmtest.NeedRoot(t)
	eachShell(t, func(t *testing.T, sh []string) {
		w := startQuietWrapper(t, sh, 0)
		vmtest.WaitFor(t, "tcpdump to start", w.listening)
		if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		checkCleanExit(t, w, w.exitCode(t, 15*time.Second))
		_ = w.stdin.Close()
	})
}

func TestCaptureScriptExitsWithTcpdumpsStatus(t *testing.T) {
	vmtest.NeedRoot(t)
	eachShell(t, func(t *testing.T, sh []string) {
		spec := CaptureSpec{Interface: "lo", Filter: "tcp port"}
		cmd, err := CaptureCommand(spec, localProbe(t))
		if err != nil {
			t.Fatal(err)
		}
		w := startLocalWrapper(t, sh, cmd)
		code := w.exitCode(t, 15*time.Second) // stdin still open
		if code != 1 {
			t.Errorf("exit %d, want tcpdump's 1; stderr: %s", code, w.stderr)
		}
		waitSessionEmpty(t, w.cmd.Process.Pid)
		if err := ClassifyRemoteError(w.stderr.String(), code, localProbe(t), spec); err == nil || !strings.Contains(err.Error(), "does not compile") {
			t.Errorf("classified as %v", err)
		}
		_ = w.stdin.Close()
	})
}

// hostileFilters each try to run `touch MARKER` if any shell on the way
// evaluated the filter instead of passing it as data.
func hostileFilters(marker string) []string {
	return []string{
		"'; touch " + marker + "; '",
		"$(touch " + marker + ")",
		"`touch " + marker + "`",
		"port 80 && touch " + marker,
		"port 80 | touch " + marker,
		"port 80; touch " + marker,
		"port 80\ntouch " + marker,
		"port 80 & touch " + marker + " &",
		"\"; touch " + marker + "; \"",
		"port 80 || touch " + marker,
		"${IFS}$(touch${IFS}" + marker + ")",
		"'\"'\"$(touch " + marker + ")",
		"\\'; touch " + marker + " #",
		"port 80 > " + marker,
	}
}

// TestCaptureCommandHostileFiltersLocal checks, under each shell, that the
// filter and interface reach tcpdump as single, unchanged arguments and
// that nothing in them runs. A stand-in tcpdump records its argv.
func TestCaptureCommandHostileFiltersLocal(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "tcpdump")
	argvFile := filepath.Join(dir, "argv")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$VMDUMP_ARGV\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "MARKER")
	for _, sh := range vmtest.AvailableShells(t) {
		for i, filter := range hostileFilters(marker) {
			for _, iface := range []string{"eth0", "eth0;touch " + marker, "$(touch " + marker + ")"} {
				_ = os.Remove(argvFile)
				p := probe.Probe{UID: os.Getuid(), Tcpdump: fake}
				cmd, err := CaptureCommand(CaptureSpec{Interface: iface, Filter: filter, Priv: PrivNone}, p)
				if err != nil {
					t.Fatal(err)
				}
				w := startLocalWrapper(t, sh, cmd, "VMDUMP_ARGV="+argvFile)
				code := w.exitCode(t, 15*time.Second)
				_ = w.stdin.Close()
				if code != 0 {
					t.Errorf("%v filter %d: exit %d: %s", sh, i, code, w.stderr)
					continue
				}
				raw, err := os.ReadFile(argvFile)
				if err != nil {
					t.Fatalf("%v filter %d: stand-in tcpdump did not run: %v; stderr: %s", sh, i, err, w.stderr)
				}
				argv := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
				wantFilter := strings.TrimSpace(strings.ReplaceAll(filter, "\n", " "))
				want := []string{"-U", "-B", "16384", "-s", "262144", "-i", iface, "-w", "-", "--", wantFilter}
				if strings.Join(argv, "\x00") != strings.Join(want, "\x00") {
					t.Errorf("%v: tcpdump got argv %q, want %q", sh, argv, want)
				}
				if _, err := os.Stat(marker); err == nil {
					t.Fatalf("%v: filter %q or interface %q ran a command", sh, filter, iface)
				}
			}
		}
	}
}
