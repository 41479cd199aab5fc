package remotecap

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// replayRun is the replay wrapper run as sshd would run it (sh -c command),
// in a session of its own so that leftovers can be found by session id.
type replayRun struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout vmtest.SyncBuffer
	stderr vmtest.SyncBuffer
	done   chan struct{}
}

func startReplay(t *testing.T, shell []string, cmd string) *replayRun {
	t.Helper()
	cmd = strings.Replace(cmd, "exec sh -c ", "exec "+strings.Join(shell, " ")+" -c ", 1)
	r := &replayRun{done: make(chan struct{})}
	r.cmd = exec.Command("/bin/sh", "-c", cmd)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	r.cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	var err error
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL) // our own session, by its id
			<-r.done
		}
	})
	return r
}

func (r *replayRun) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("replay wrapper still running; stderr: %s", r.stderr.String())
	}
}

// The file reaches stdout byte for byte after the start marker, whatever
// its name, and nothing stays behind.
func TestReplayScriptStreamsFile(t *testing.T) {
	data := bytes.Repeat([]byte{0xd4, 0xc3, 0xb2, 0xa1, 0, '\n', '\'', '$'}, 40000)
	file := filepath.Join(t.TempDir(), `a'b"c$(x)`+"`y`;z.pcap")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sh := range vmtest.AvailableShells(t) {
		t.Run(strings.Join(sh, " "), func(t *testing.T) {
			cmd, err := CaptureCommand(CaptureSpec{Interface: "lo", Priv: PrivNone, BenchRemoteFile: file}, probe.Probe{UID: os.Getuid()})
			if err != nil {
				t.Fatal(err)
			}
			r := startReplay(t, sh, cmd)
			r.wait(t)
			if r.cmd.ProcessState.ExitCode() != 0 {
				t.Errorf("exit %d; stderr: %s", r.cmd.ProcessState.ExitCode(), r.stderr.String())
			}
			out := []byte(r.stdout.String())
			want := append([]byte(pcapStartMarker), data...)
			if !bytes.Equal(out, want) {
				t.Errorf("stdout: %d bytes, want %d (marker + file)", len(out), len(want))
			}
			waitSessionEmpty(t, r.cmd.Process.Pid)
		})
	}
}

// A replay that blocks (here: cat on a FIFO nobody writes) ends like a
// capture: on stdin EOF, on a TERM, and when heartbeats stop.
func TestReplayScriptStops(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "never.pcap")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Held open for writing, so cat's open succeeds and its read blocks.
	hold, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	for _, sh := range vmtest.AvailableShells(t) {
		for _, stop := range []string{"stdin EOF", "TERM", "no heartbeat"} {
			t.Run(strings.Join(sh, " ")+"/"+stop, func(t *testing.T) {
				spec := CaptureSpec{Interface: "lo", Priv: PrivNone, BenchRemoteFile: fifo}
				cmd, err := captureCommand(spec, probe.Probe{UID: os.Getuid()}, 1)
				if err != nil {
					t.Fatal(err)
				}
				r := startReplay(t, sh, cmd)
				vmtest.WaitFor(t, "cat to start", func() bool { return len(sessionProcesses(r.cmd.Process.Pid)) >= 4 && catRunning(r.cmd.Process.Pid) })
				switch stop {
				case "stdin EOF":
					r.stdin.Close()
				case "TERM":
					// The wrapper is the exec'd shell: the session leader.
					syscall.Kill(r.cmd.Process.Pid, syscall.SIGTERM)
				case "no heartbeat":
					// stdin stays open and silent: the 1 s watchdog fires.
				}
				r.wait(t)
				waitSessionEmpty(t, r.cmd.Process.Pid)
				r.stdin.Close()
			})
		}
	}
}

// catRunning reports whether session sid runs cat yet.
func catRunning(sid int) bool {
	for _, p := range sessionProcesses(sid) {
		if f := strings.Fields(p); len(f) > 1 && f[1] == "cat" {
			return true
		}
	}
	return false
}
