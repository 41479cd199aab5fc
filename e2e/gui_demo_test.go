package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoRun is one `vmdump demo` subprocess.
type demoRun struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer // what it printed, once done
	stderr bytes.Buffer
	done   chan struct{}
	err    error
	iface  string // the interface it told the user to capture from
}

// tsharkHint is the demo's line that names the interface.
var tsharkHint = regexp.MustCompile(`tshark -i (\S+)`)

// startDemo runs `vmdump demo` as the user and waits until it says what to
// capture from.
func (u *user) startDemo(t *testing.T) *demoRun {
	t.Helper()
	d := &demoRun{done: make(chan struct{})}
	d.cmd = exec.Command(vmdumpBin, "demo")
	d.cmd.Env = u.env
	d.cmd.Stderr = &d.stderr
	pipe, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sent := false
		for sc.Scan() {
			d.stdout.WriteString(sc.Text() + "\n")
			if m := tsharkHint.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			// A failed test must not leave the demo running; its lab is
			// reaped by the next lab (the owner pid is dead).
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	select {
	case d.iface = <-found:
	case <-d.done:
		t.Fatalf("vmdump demo ended before it was ready (%v): %s", d.err, d.stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("vmdump demo not ready within 2 minutes; stderr: %s", d.stderr.String())
	}
	return d
}

// stop signals the demo and waits for it to end.
func (d *demoRun) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(time.Minute):
		t.Fatalf("vmdump demo still running a minute after %v", sig)
	}
	if d.err != nil {
		t.Fatalf("vmdump demo after %v: %v; stderr: %s", sig, d.err, d.stderr.String())
	}
	if d.stderr.Len() > 0 {
		t.Fatalf("vmdump demo wrote to stderr: %s", d.stderr.String())
	}
}

// demoLeftovers lists what a demo with process id pid left on the machine:
// its lab's network namespaces (named after the owner pid), its processes
// (the traffic generator runs as `vmdump demo-traffic`), and in the user's
// vmdump config folder its entry, key copy and pinned host key.
func (u *user) demoLeftovers(pid int) []string {
	var left []string
	if entries, err := os.ReadDir("/var/run/netns"); err == nil {
		prefix := fmt.Sprintf("vmd%dn", pid)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				left = append(left, "namespace "+e.Name())
			}
		}
	}
	for _, p := range processesWithArg("demo-traffic") {
		left = append(left, "process "+strconv.Itoa(p))
	}
	cfgDir := filepath.Join(u.home, ".config", "vmdump")
	if b, err := os.ReadFile(filepath.Join(cfgDir, "config.toml")); err == nil && (strings.Contains(string(b), "vmdump demo") || strings.Contains(string(b), `"demo"`)) {
		left = append(left, "config entry:\n"+string(b))
	}
	if _, err := os.Stat(filepath.Join(cfgDir, "demo_ed25519")); err == nil {
		left = append(left, "key copy demo_ed25519")
	}
	if b, err := os.ReadFile(filepath.Join(cfgDir, "known_hosts")); err == nil && strings.Contains(string(b), "config/demo ") {
		left = append(left, "pinned host key of config/demo")
	}
	return left
}

// TestDemo: `vmdump demo` brings up a VM that tshark lists and captures the
// containers' HTTP from, and Ctrl-C (SIGINT) or SIGTERM takes everything
// away again: namespaces, processes, config entry, key, pinned host key.
func TestDemo(t *testing.T) {
	if runtime.GOOS != "linux" {
		skipOrFail(t, "vmdump demo builds its VM from Linux network namespaces; this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "vmdump demo needs root")
	}
	needTshark(t)
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		capture bool
	}{
		{"capture then SIGINT", syscall.SIGINT, true},
		{"SIGTERM", syscall.SIGTERM, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newDemoUser(t)
			d := u.startDemo(t)
			pid := d.cmd.Process.Pid
			if d.iface != "vmdump_cfg_demo" {
				t.Fatalf("demo says to capture from %q, want vmdump_cfg_demo:\n%s", d.iface, d.stdout.String())
			}
			if got := output("tshark", u.env, "-D"); !strings.Contains(got, "vmdump_cfg_demo (Docker VM demo (config))") {
				t.Fatalf("tshark -D does not list the demo VM:\n%s", got)
			}
			if left := u.demoLeftovers(pid); len(left) < 3 {
				t.Fatalf("the running demo has no namespace or config entry: %q", left)
			}
			// The traffic comes from the vmdump binary itself, not from a
			// trafficgen built with the go command.
			if n := len(processesWithArg("demo-traffic")); n != 2 {
				t.Fatalf("%d `vmdump demo-traffic` processes, want the HTTP server and client", n)
			}
			if tc.capture {
				out := filepath.Join(t.TempDir(), "demo.pcapng")
				cmd := exec.Command("tshark", "-i", d.iface, "-a", "duration:5", "-w", out)
				cmd.Env = u.env
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("tshark: %v\n%s", err, b)
				}
				requests, answers := count(t, out, "http.request.method == \"GET\""), count(t, out, "http.response.code == 200")
				if requests < 3 || answers < 3 {
					t.Fatalf("%d GET requests and %d answers captured from the demo in 5 s; want the containers' HTTP", requests, answers)
				}
			}
			d.stop(t, tc.sig)
			if !strings.Contains(d.stdout.String(), "demo stopped") {
				t.Errorf("demo did not say it stopped:\n%s", d.stdout.String())
			}
			if left := u.demoLeftovers(pid); len(left) > 0 {
				t.Fatalf("left behind by the demo: %q", left)
			}
			if _, err := os.Stat(filepath.Join(u.home, ".config", "vmdump", "config.toml")); err == nil {
				t.Errorf("the demo created config.toml and left it")
			}
			if got := output(vmdumpBin, u.env, "list"); strings.Contains(got, "demo") {
				t.Fatalf("vmdump list still shows the demo:\n%s", got)
			}
		})
	}
}

// newDemoUser is a user with vmdump installed and no VM of their own.
func newDemoUser(t *testing.T) *user {
	t.Helper()
	u := &user{t: t, home: t.TempDir()}
	u.env = []string{"HOME=" + u.home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if out, err := u.vmdump("install"); err != nil {
		t.Fatalf("vmdump install: %v\n%s", err, out)
	}
	return u
}
