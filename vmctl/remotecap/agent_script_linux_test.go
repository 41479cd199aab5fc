package remotecap

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/vmdump/vmdump/internal/shquote"
	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl/agentbin"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// hostAgent is the embedded agent for this machine's architecture.
func hostAgent(t *testing.T) []byte {
	t.Helper()
	bin, err := agentbin.Binary(runtime.GOARCH)
	if err != nil {
		t.Skipf("no agent for %s: %v", runtime.GOARCH, err)
	}
	return bin
}

// uploadLocally runs the upload script under shell as sshd would, with the
// agent on stdin, and returns its report.
func uploadLocally(t *testing.T, shell []string, bin []byte, env ...string) (agentUpload, string) {
	t.Helper()
	cmd := exec.Command(shell[0], append(shell[1:], "-c", shquote.OneLine(agentUploadScript))...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(bin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	u := parseAgentUpload(stdout.String())
	if u.dir != "" {
		t.Cleanup(func() { os.RemoveAll(u.dir) })
	}
	if err != nil {
		return u, stderr.String() + err.Error()
	}
	return u, stderr.String()
}

// TestAgentUploadScriptLocal: the script stores the agent whole in a
// private directory under $TMPDIR, proves it runs, and reports it.
func TestAgentUploadScriptLocal(t *testing.T) {
	bin := hostAgent(t)
	eachShell(t, func(t *testing.T, sh []string) {
		tmp := t.TempDir()
		u, stderr := uploadLocally(t, sh, bin, "TMPDIR="+tmp)
		if err := u.check(bin, runtime.GOARCH); err != nil {
			t.Fatalf("%v; stderr: %s", err, stderr)
		}
		if filepath.Dir(u.dir) != tmp || !strings.HasPrefix(filepath.Base(u.dir), "vmdump-agent.") {
			t.Errorf("dir %s, want vmdump-agent.* in %s", u.dir, tmp)
		}
		if u.sha256 == "" {
			t.Error("sha256sum is installed here but no sha256 was reported")
		}
		for path, mode := range map[string]os.FileMode{u.dir: 0o700 | os.ModeDir, filepath.Join(u.dir, agentFile): 0o700} {
			if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
				t.Errorf("%s: %v %v, want %v", path, fi.Mode(), err, mode)
			}
		}
		if left, _ := os.ReadDir(u.dir); len(left) != 1 {
			t.Errorf("%d files in the agent's directory", len(left))
		}
	})
}

// A $TMPDIR mounted noexec is passed over for the next directory, and
// nothing stays in it.
func TestAgentUploadScriptNoexec(t *testing.T) {
	vmtest.NeedRoot(t)
	bin := hostAgent(t)
	noexec := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "noexec,size=8m", "tmpfs", noexec).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	defer exec.Command("umount", noexec).Run()
	home := t.TempDir()
	u, stderr := uploadLocally(t, []string{"sh"}, bin, "TMPDIR="+noexec, "HOME="+home)
	if err := u.check(bin, runtime.GOARCH); err != nil {
		t.Fatalf("%v; stderr: %s", err, stderr)
	}
	if strings.HasPrefix(u.dir, noexec) {
		t.Errorf("agent left in the noexec directory %s", u.dir)
	}
	if left, _ := os.ReadDir(noexec); len(left) != 0 {
		t.Errorf("left in the noexec directory: %v", left)
	}
}

// A truncated agent is caught: it does not run, and is not left behind.
func TestAgentUploadScriptDamaged(t *testing.T) {
	bin := hostAgent(t)
	tmp, home := t.TempDir(), t.TempDir()
	u, _ := uploadLocally(t, []string{"sh"}, bin[:len(bin)/2], "TMPDIR="+tmp, "HOME="+home)
	if err := u.check(bin, runtime.GOARCH); err == nil {
		t.Fatal("a half agent passed the check")
	}
	for _, d := range []string{tmp, home} {
		if left, _ := os.ReadDir(d); len(left) != 0 {
			t.Errorf("left in %s: %v", d, left)
		}
	}
}

// agentProcesses lists session sid's agent processes.
func agentProcesses(sid int) []string {
	var out []string
	for _, p := range sessionProcesses(sid) {
		if f := strings.Fields(p); len(f) > 1 && strings.HasSuffix(f[1], "/"+agentFile) {
			out = append(out, p)
		}
	}
	return out
}

// sendUDP sends n datagrams to 127.0.0.1:port.
func sendUDP(t *testing.T, port, n int, payload string) {
	t.Helper()
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range n {
		c.Write([]byte(payload))
	}
}

// TestAgentWrapperLocal: the real agent inside the real wrapper, on lo,
// under each shell: it captures what the filter (compiled by the local
// tcpdump) passes and nothing else, stops on stdin EOF (vmdump gone) or
// TERM with tcpdump-style statistics, and the wrapper removes the agent's
// directory; nothing of the session stays.
func TestAgentWrapperLocal(t *testing.T) {
	vmtest.NeedRoot(t)
	vmtest.NeedTcpdump(t)
	bin := hostAgent(t)
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.LocalAddr().(*net.UDPAddr).Port
	prog, err := agentProgram(context.Background(), "udp dst port "+strconv.Itoa(port), 0, probe.Probe{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range vmtest.AvailableShells(t) {
		for _, stop := range []string{"stdin EOF", "TERM"} {
			t.Run(strings.Join(sh, " ")+"/"+stop, func(t *testing.T) {
				u, stderr := uploadLocally(t, sh, bin, "TMPDIR="+t.TempDir())
				if err := u.check(bin, runtime.GOARCH); err != nil {
					t.Fatalf("%v: %s", err, stderr)
				}
				spec := CaptureSpec{Interface: "lo", Priv: PrivNone, agent: &agentInvocation{path: u.dir + "/" + agentFile, program: prog}}
				cmd, err := captureCommand(spec, probe.Probe{UID: 0}, 10)
				if err != nil {
					t.Fatal(err)
				}
				r := startLocalWrapper(t, sh, cmd)
				vmtest.WaitFor(t, "the agent to listen", func() bool { return strings.Contains(r.stderr.String(), "listening on lo") })
				if d := agentDirOf(r.stderr.String()); d != u.dir {
					t.Errorf("wrapper reported agent dir %q, want %q", d, u.dir)
				}
				sendUDP(t, port+1, 3, "not-this") // another port: filtered out in the kernel
				sendUDP(t, port, 3, "vmdump-agent-test")
				var pkts int
				vmtest.WaitFor(t, "three datagrams", func() bool {
					pkts = len(vmtest.DecodePcap(t, strings.TrimPrefix(r.stdout.String(), pcapStartMarker), false))
					return pkts >= 3
				})
				switch stop {
				case "stdin EOF":
					r.stdin.Close()
				case "TERM":
					syscall.Kill(r.cmd.Process.Pid, syscall.SIGTERM)
				}
				r.wait(t)
				if code := r.cmd.ProcessState.ExitCode(); code != 0 {
					t.Errorf("exit %d; stderr: %s", code, r.stderr.String())
				}
				out := r.stdout.String()
				if !strings.HasPrefix(out, pcapStartMarker) {
					t.Fatalf("no start marker: %q", out[:min(len(out), 40)])
				}
				got := vmtest.DecodePcap(t, strings.TrimPrefix(out, pcapStartMarker), true)
				if len(got) != 3 {
					t.Errorf("%d packets, want 3", len(got))
				}
				for _, p := range got {
					udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
					if udp == nil || int(udp.DstPort) != port || string(udp.Payload) != "vmdump-agent-test" {
						t.Errorf("captured %v", p)
					}
					if d := time.Since(p.Metadata().Timestamp); d < 0 || d > time.Minute {
						t.Errorf("timestamp %v", p.Metadata().Timestamp)
					}
				}
				st := parseRemoteStats(r.stderr.String())
				if !st.Valid || st.Received < 3 || !strings.Contains(r.stderr.String(), "3 packets captured") {
					t.Errorf("statistics %+v; stderr: %s", st, r.stderr.String())
				}
				if ClassifyRemoteError(r.stderr.String(), 0, probe.Probe{}, spec) != nil {
					t.Errorf("a clean run classified as an error: %s", r.stderr.String())
				}
				waitSessionEmpty(t, r.cmd.Process.Pid)
				if _, err := os.Stat(u.dir); !os.IsNotExist(err) {
					t.Errorf("agent directory %s still there (%v)", u.dir, err)
				}
				r.stdin.Close()
			})
		}
	}
}

// TestAgentDiesWithWrapper: a wrapper killed outright (no trap runs) takes
// the agent with it (PR_SET_PDEATHSIG), so a capture whose filter matches
// nothing does not live on.
func TestAgentDiesWithWrapper(t *testing.T) {
	vmtest.NeedRoot(t)
	bin := hostAgent(t)
	u, stderr := uploadLocally(t, []string{"sh"}, bin, "TMPDIR="+t.TempDir())
	if err := u.check(bin, runtime.GOARCH); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	spec := CaptureSpec{Interface: "lo", Priv: PrivNone, agent: &agentInvocation{path: u.dir + "/" + agentFile}}
	cmd, err := captureCommand(spec, probe.Probe{UID: 0}, 10)
	if err != nil {
		t.Fatal(err)
	}
	r := startLocalWrapper(t, []string{"sh"}, cmd)
	vmtest.WaitFor(t, "the agent to listen", func() bool { return strings.Contains(r.stderr.String(), "listening on lo") })
	if len(agentProcesses(r.cmd.Process.Pid)) != 1 {
		t.Fatalf("agent processes: %v", sessionProcesses(r.cmd.Process.Pid))
	}
	syscall.Kill(r.cmd.Process.Pid, syscall.SIGKILL) // the wrapper alone
	vmtest.WaitFor(t, "the agent to die", func() bool { return len(agentProcesses(r.cmd.Process.Pid)) == 0 })
}
