package remotecap

import (
	"errors"
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
)

// The netns wrapper run locally as sshd would (see localWrapper), around
// the real tcpdump, in a network namespace of a process the test starts
// (`unshare -n`, lo up) and ends by its pid.

// netnsHolder is a process of the test in a network namespace of its own.
type netnsHolder struct {
	cmd  *exec.Cmd
	ns   Netns
	done chan struct{}
}

// startNetnsHolder starts `unshare -n` with lo up and a long sleep; the
// cleanup kills it by its pid.
func startNetnsHolder(t *testing.T) *netnsHolder {
	t.Helper()
	vmtest.NeedRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	h := &netnsHolder{cmd: exec.Command("unshare", "-n", "sh", "-c", "ip link set lo up && echo up && exec sleep 600"), done: make(chan struct{})}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.cmd.Wait(); close(h.done) }()
	t.Cleanup(h.end)
	line := make([]byte, 3)
	if _, err := io.ReadFull(stdout, line); err != nil || string(line) != "up\n" {
		t.Fatalf("unshare -n: %q %v", line, err)
	}
	h.ns.PID = h.cmd.Process.Pid
	if h.ns.Link, err = os.Readlink("/proc/" + strconv.Itoa(h.ns.PID) + "/ns/net"); err != nil {
		t.Fatal(err)
	}
	if own, _ := os.Readlink("/proc/self/ns/net"); own == h.ns.Link {
		t.Fatalf("unshare -n left the process in this namespace (%s)", own)
	}
	return h
}

// end kills the holder (the sleep it exec'd) by its pid and reaps it.
func (h *netnsHolder) end() {
	select {
	case <-h.done:
	default:
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// netnsWrapper runs the netns wrapper around tcpdump on lo in h's
// namespace under sh, with a watchdog of watchdog seconds.
func netnsWrapper(t *testing.T, sh []string, ns Netns, watchdog int, env ...string) *localWrapper {
	t.Helper()
	spec := quietSpec()
	spec.Priv, spec.Netns = PrivNone, ns
	cmd, err := captureCommand(spec, localProbe(t), watchdog)
	if err != nil {
		t.Fatal(err)
	}
	return startLocalWrapper(t, sh, cmd, env...)
}

// tcpdumpNetns is the network namespace of the tcpdump in session sid.
func tcpdumpNetns(t *testing.T, sid int) string {
	t.Helper()
	for _, p := range sessionProcesses(sid) {
		f := strings.Fields(p)
		if len(f) > 1 && strings.HasSuffix(f[1], "tcpdump") {
			link, _ := os.Readlink("/proc/" + f[0] + "/ns/net")
			return link
		}
	}
	t.Fatalf("no tcpdump in session %d: %q", sid, sessionProcesses(sid))
	return ""
}

// busyboxNsenter is a PATH directory whose nsenter is busybox's, or ""
// without busybox's nsenter.
func busyboxNsenter(t *testing.T) string {
	bb, err := exec.LookPath("busybox")
	if err != nil || exec.Command(bb, "nsenter", "--help").Run() != nil && !strings.Contains(runOut(bb, "--list"), "nsenter") {
		return ""
	}
	dir := t.TempDir()
	if err := os.Symlink(bb, filepath.Join(dir, "nsenter")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runOut(name string, args ...string) string {
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}

// TestNetnsScriptEndsWhenNamespaceGoes: tcpdump runs inside the holder's
// namespace (util-linux's nsenter, and busybox's); when the holder ends,
// the wrapper ends tcpdump within a few seconds (tcpdump's own reference
// keeps the namespace and its lo alive: only the watcher can tell) with
// status 75, which is ErrNetnsGone, and leaves nothing.
func TestNetnsScriptEndsWhenNamespaceGoes(t *testing.T) {
	bbDir := busyboxNsenter(t)
	eachShell(t, func(t *testing.T, sh []string) {
		for _, nsenter := range []string{"util-linux", "busybox"} {
			t.Run(nsenter, func(t *testing.T) {
				var env []string
				if nsenter == "busybox" {
					if bbDir == "" {
						t.Skip("no busybox nsenter")
					}
					env = append(env, "PATH="+bbDir+":"+os.Getenv("PATH"))
				}
				h := startNetnsHolder(t)
				w := netnsWrapper(t, sh, h.ns, 10, env...)
				vmtest.WaitFor(t, "tcpdump to start", w.listening)
				if got := tcpdumpNetns(t, w.cmd.Process.Pid); got != h.ns.Link {
					t.Fatalf("tcpdump runs in %s, want the holder's %s", got, h.ns.Link)
				}
				// Heartbeats: only the namespace may end it.
				go func() {
					for range 40 {
						if _, err := w.stdin.Write([]byte("\n")); err != nil {
							return
						}
						time.Sleep(250 * time.Millisecond)
					}
				}()
				time.Sleep(1500 * time.Millisecond)
				select {
				case <-w.done:
					t.Fatalf("ended while the namespace lives: %s", w.stderr)
				default:
				}
				h.end()
				begin := time.Now()
				code := w.exitCode(t, 5*time.Second)
				if code != netnsGoneStatus {
					t.Errorf("exit %d, want %d; stderr: %s", code, netnsGoneStatus, w.stderr)
				}
				t.Logf("ended %v after the holder", time.Since(begin).Round(10*time.Millisecond))
				if err := ClassifyRemoteError(w.stderr.String(), code, localProbe(t), CaptureSpec{Interface: "lo", Netns: h.ns}); !errors.Is(err, ErrNetnsGone) {
					t.Errorf("classified as %v", err)
				}
				if st := parseRemoteStats(w.stderr.String()); !st.Valid {
					t.Errorf("tcpdump was not ended by TERM (no statistics): %s", w.stderr)
				}
				waitSessionEmpty(t, w.cmd.Process.Pid)
				if left, _ := os.ReadDir(w.tmp); len(left) != 0 {
					t.Errorf("temporary files left: %v", left)
				}
				_ = w.stdin.Close()
			})
		}
	})
}

// TestNetnsScriptStops: in netns mode the wrapper still ends on stdin EOF,
// TERM and a missing heartbeat, with tcpdump's status 0, and leaves
// nothing (the watcher and its sleep included).
func TestNetnsScriptStops(t *testing.T) {
	eachShell(t, func(t *testing.T, sh []string) {
		for _, stop := range []string{"stdin EOF", "TERM", "watchdog"} {
			t.Run(stop, func(t *testing.T) {
				h := startNetnsHolder(t)
				watchdog := 10
				if stop == "watchdog" {
					watchdog = 1
				}
				w := netnsWrapper(t, sh, h.ns, watchdog)
				vmtest.WaitFor(t, "tcpdump to start", w.listening)
				switch stop {
				case "stdin EOF":
					_ = w.stdin.Close()
				case "TERM":
					if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
						t.Fatal(err)
					}
				}
				checkCleanExit(t, w, w.exitCode(t, 15*time.Second))
				_ = w.stdin.Close()
				select {
				case <-h.done:
					t.Error("the holder ended")
				default:
				}
			})
		}
	})
}

// TestNetnsScriptRefusesAnotherNamespace: a link that is not the
// process's (its PID was reused), or a process that is gone, ends the
// wrapper at once with status 75, before tcpdump or anything else runs.
func TestNetnsScriptRefusesAnotherNamespace(t *testing.T) {
	h := startNetnsHolder(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	eachShell(t, func(t *testing.T, sh []string) {
		for _, ns := range []Netns{{PID: h.ns.PID, Link: "net:[1]"}, {PID: gone.Process.Pid, Link: h.ns.Link}} {
			w := netnsWrapper(t, sh, ns, 10)
			code := w.exitCode(t, 3*time.Second) // stdin still open
			_ = w.stdin.Close()
			if code != netnsGoneStatus || strings.Contains(w.stderr.String(), "listening") || strings.Contains(w.stdout.String(), pcapStartMarker) {
				t.Errorf("%+v: exit %d; stdout %q; stderr: %s", ns, code, w.stdout, w.stderr)
			}
			if err := ClassifyRemoteError(w.stderr.String(), code, localProbe(t), CaptureSpec{Interface: "lo", Netns: ns}); !errors.Is(err, ErrNetnsGone) {
				t.Errorf("%+v: classified as %v", ns, err)
			}
			waitSessionEmpty(t, w.cmd.Process.Pid)
			if left, _ := os.ReadDir(w.tmp); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		}
	})
}

// TestNetnsScriptWithoutNsenter: on a VM without nsenter the wrapper
// says so before it creates anything, and the error says to choose the
// agent.
func TestNetnsScriptWithoutNsenter(t *testing.T) {
	h := startNetnsHolder(t)
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if _, err := os.Stat(filepath.Join(d, "nsenter")); err == nil {
			t.Skipf("nsenter in %s, which the wrapper always adds to PATH", d)
		}
	}
	eachShell(t, func(t *testing.T, sh []string) {
		dir := t.TempDir() // PATH: the shell and readlink, no nsenter
		for _, prog := range []string{sh[0], "readlink"} {
			p, err := exec.LookPath(prog)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(p, filepath.Join(dir, filepath.Base(prog))); err != nil {
				t.Fatal(err)
			}
		}
		probe := exec.Command(sh[0], append(sh[1:], "-c", "command -v nsenter")...)
		probe.Env = []string{"PATH=" + dir}
		if probe.Run() == nil {
			t.Skipf("%s has nsenter built in (busybox applets)", strings.Join(sh, " "))
		}
		w := netnsWrapper(t, sh, h.ns, 10, "PATH="+dir)
		code := w.exitCode(t, 3*time.Second)
		_ = w.stdin.Close()
		err := ClassifyRemoteError(w.stderr.String(), code, localProbe(t), CaptureSpec{Interface: "lo", Netns: h.ns})
		if code != 127 || err == nil || !strings.Contains(err.Error(), "has no nsenter") || !strings.Contains(err.Error(), "choose Capture program: agent") {
			t.Errorf("exit %d, %v; stderr: %s", code, err, w.stderr)
		}
		if left, _ := os.ReadDir(w.tmp); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})
}

// TestNetnsScriptInterfaceGoneWithNamespace: tcpdump fails because its
// interface vanished (a veth inside the holder's namespace, deleted
// right after the holder ended, before the watcher's next look): with the
// namespace gone that is ErrNetnsGone, not a failure. The same deletion
// while the namespace lives is an ordinary failure.
func TestNetnsScriptInterfaceGoneWithNamespace(t *testing.T) {
	sh := vmtest.AvailableShells(t)[0]
	for _, holderEnds := range []bool{true, false} {
		t.Run(map[bool]string{true: "namespace gone", false: "namespace alive"}[holderEnds], func(t *testing.T) {
			h := startNetnsHolder(t)
			pid := strconv.Itoa(h.ns.PID)
			if out, err := exec.Command("nsenter", "-t", pid, "-n", "ip", "link", "add", "vmdd0", "type", "veth", "peer", "name", "vmdd1").CombinedOutput(); err != nil {
				t.Fatalf("a veth in the holder's namespace: %v %s", err, out)
			}
			if out, err := exec.Command("nsenter", "-t", pid, "-n", "ip", "link", "set", "vmdd0", "up").CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			spec := CaptureSpec{Interface: "vmdd0", Priv: PrivNone, Netns: h.ns}
			cmd, err := captureCommand(spec, localProbe(t), 10)
			if err != nil {
				t.Fatal(err)
			}
			w := startLocalWrapper(t, sh, cmd)
			vmtest.WaitFor(t, "tcpdump to start", w.listening)
			var tcpdumpPid string
			for _, p := range sessionProcesses(w.cmd.Process.Pid) {
				if f := strings.Fields(p); len(f) > 1 && strings.HasSuffix(f[1], "tcpdump") {
					tcpdumpPid = f[0]
				}
			}
			if tcpdumpPid == "" {
				t.Fatal("no tcpdump")
			}
			if holderEnds {
				h.end()
			}
			// Through tcpdump's own namespace: the holder may be gone.
			if out, err := exec.Command("nsenter", "-t", tcpdumpPid, "-n", "ip", "link", "del", "vmdd0").CombinedOutput(); err != nil {
				t.Fatalf("deleting the interface: %v %s", err, out)
			}
			code := w.exitCode(t, 5*time.Second)
			_ = w.stdin.Close()
			err = ClassifyRemoteError(w.stderr.String(), code, localProbe(t), spec)
			if holderEnds {
				if code != netnsGoneStatus || !errors.Is(err, ErrNetnsGone) {
					t.Errorf("exit %d, %v; stderr: %s", code, err, w.stderr)
				}
			} else if code == netnsGoneStatus || code == 0 || err == nil || errors.Is(err, ErrNetnsGone) {
				t.Errorf("namespace alive: exit %d, %v; stderr: %s", code, err, w.stderr)
			}
			// Mostly tcpdump's own failure; when the watcher's look falls
			// between the two steps, it ended tcpdump first.
			t.Logf("exit %d: %v (tcpdump saw the interface go: %v)", code, err, strings.Contains(w.stderr.String(), "disappeared"))
			waitSessionEmpty(t, w.cmd.Process.Pid)
		})
	}
}
