//go:build unix

package remotecap

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// execTestConn is an exec Conn whose "VM" is this machine: env(1) runs the
// appended `sh -c <command>` as any VM manager's CLI would in its VM.
func execTestConn(t *testing.T, prefix ...string) *sshconn.Conn {
	t.Helper()
	if len(prefix) == 0 {
		prefix = []string{"env"}
	}
	c, err := sshconn.Dial(context.Background(), vmctl.VM{ID: "vmdump_cfg_t", Manager: "config", Name: "t", Exec: prefix}, sshconn.DialOptions{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestExecSessionExitStatus(t *testing.T) {
	c := execTestConn(t)
	for _, tc := range []struct {
		cmd  string
		want int
	}{
		{"true", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 128 + 15},
		{"kill -KILL $$", 128 + 9},
		{"command-that-does-not-exist-vmdump", 127},
	} {
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		err = sshconn.RunSession(s, tc.cmd)
		if got := sshconn.ExitStatus(err); got != tc.want {
			t.Errorf("%q: exit status %d (%v), want %d", tc.cmd, got, err, tc.want)
		}
		s.Close()
	}
}

// The capture's contract: what goes to stdin reaches the command, the
// command's stdout is the stream, and closing stdin is an EOF on the VM
// side, after which the command ends by itself.
func TestExecSessionStdinEOF(t *testing.T) {
	c := execTestConn(t)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var stderr strings.Builder
	s.SetStderr(&stderr)
	in, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(`while read l; do echo "got $l"; done; echo eof; echo bye >&2`); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(in, "a\nb\n"); err != nil {
		t.Fatal(err)
	}
	in.Close()
	all, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(all) != "got a\ngot b\neof\n" {
		t.Errorf("stdout %q", all)
	}
	if err := s.Wait(); err != nil {
		t.Errorf("Wait: %v", err)
	}
	if stderr.String() != "bye\n" {
		t.Errorf("stderr %q", stderr.String())
	}
}

// startSleeper starts a session whose shell prints its pid, then waits.
func startSleeper(t *testing.T, s sshconn.Session, script string) (pid int, out *bufio.Reader) {
	t.Helper()
	r, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(`echo $$; ` + script); err != nil {
		t.Fatal(err)
	}
	out = bufio.NewReader(r)
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err = strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	return pid, out
}

func TestExecSessionCloseKillsTheChild(t *testing.T) {
	c := execTestConn(t)
	s, _ := c.NewSession()
	pid, out := startSleeper(t, s, "exec sleep 300")
	if !vmtest.PidAlive(pid) {
		t.Fatal("the session's process is not running")
	}
	s.Close()
	vmtest.AwaitGone(t, pid, "the session's process after Close")
	if _, err := out.ReadString('\n'); err == nil {
		t.Error("stdout still open after Close")
	}
	if err := s.Wait(); sshconn.ExitStatus(err) != 128+9 {
		t.Errorf("Wait after Close: %v", err)
	}
}

func TestExecConnCloseKillsRunningSessions(t *testing.T) {
	c := execTestConn(t)
	var pids []int
	for range 2 {
		s, _ := c.NewSession()
		pid, _ := startSleeper(t, s, "exec sleep 300")
		pids = append(pids, pid)
	}
	c.Close()
	for _, pid := range pids {
		vmtest.AwaitGone(t, pid, "a session's process after Conn.Close")
	}
	if _, err := c.NewSession(); err == nil {
		t.Error("newSession works on a closed Conn")
	}
	select {
	case <-c.Dead():
		t.Error("Dead closed by Close")
	default:
	}
}

// Terminate is SIGTERM to the local process (the stop the capture sends
// after stdin EOF).
func TestExecSessionTerminate(t *testing.T) {
	c := execTestConn(t)
	s, _ := c.NewSession()
	defer s.Close()
	_, out := startSleeper(t, s, `trap 'echo term; exit 7' TERM; echo ready; while :; do sleep 0.05; done`)
	if line, _ := out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("got %q", line)
	}
	s.Terminate()
	if line, _ := out.ReadString('\n'); line != "term\n" {
		t.Errorf("after Terminate: %q", line)
	}
	if got := sshconn.ExitStatus(s.Wait()); got != 7 {
		t.Errorf("exit status %d, want the trap's 7", got)
	}
}

// A grandchild that keeps the command's output open (a CLI's helper left
// behind) does not keep Wait from returning: the probe's session ends.
func TestExecSessionLeftoverGrandchild(t *testing.T) {
	c := execTestConn(t)
	s, _ := c.NewSession()
	defer s.Close()
	var out strings.Builder
	s.SetStdout(&out)
	done := make(chan error, 1)
	go func() { done <- sshconn.RunSession(s, "sleep 30 & echo $!; exit 0") }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Wait: %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("Wait waited for the grandchild")
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(out.String())); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
	} else {
		t.Errorf("stdout %q", out.String())
	}
}

// The probe runs unchanged over exec; with no $SSH_CONNECTION there is no
// own session to exclude and the filter is the user's alone.
func TestExecProbe(t *testing.T) {
	c := execTestConn(t, "env", "-u", "SSH_CONNECTION")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := probe.Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if p.UID != syscall.Getuid() {
		t.Errorf("probe uid %d, want %d", p.UID, syscall.Getuid())
	}
	if p.ClientAddr != "" || OwnSessionFilter(p) != "" {
		t.Errorf("own-session filter %q from an exec probe", OwnSessionFilter(p))
	}
	if f := BuildFilter("tcp port 80", false, p); f != "(tcp port 80)" {
		t.Errorf("filter %q", f)
	}
}

func TestExecDialErrors(t *testing.T) {
	_, err := sshconn.Dial(context.Background(), vmctl.VM{Name: "mp", Exec: []string{"vmdump-no-such-cli", "exec"}}, sshconn.DialOptions{})
	if err == nil || !strings.Contains(err.Error(), "vmdump-no-such-cli") || !strings.Contains(err.Error(), "not found in PATH") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %v", err)
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		t.Error("raw exec error passed on")
	}
}

func TestExecArgv(t *testing.T) {
	cmd := `echo 'a b' "$x"`
	if got := sshconn.ExecArgv([]string{"multipass", "exec", "vm", "--"}, false, cmd); strings.Join(got, "|") != "multipass|exec|vm|--|sh|-c|"+cmd {
		t.Errorf("argv %q", got)
	}
	got := sshconn.ExecArgv([]string{"podman", "machine", "ssh", "m"}, true, cmd)
	if len(got) != 5 || got[4] != `sh -c 'echo '\''a b'\'' "$x"'` {
		t.Errorf("quoted argv %q", got)
	}
	// The quoted line, run by a shell as ssh would, runs cmd exactly.
	out, err := exec.Command("sh", "-c", got[4]).CombinedOutput()
	if err != nil || string(out) != "a b \n" {
		t.Errorf("quoted line ran as %q, %v", out, err)
	}
}
