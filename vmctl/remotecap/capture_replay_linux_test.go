package remotecap

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// The file reaches stdout byte for byte after the start marker, whatever
// its name, and nothing stays behind.
func TestReplayScriptStreamsFile(t *testing.T) {
	data := bytes.Repeat([]byte{0xd4, 0xc3, 0xb2, 0xa1, 0, '\n', '\'', '$'}, 40000)
	file := filepath.Join(t.TempDir(), `a'b"c$(x)`+"`y`;z.pcap")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	eachShell(t, func(t *testing.T, sh []string) {
		cmd, err := CaptureCommand(CaptureSpec{Interface: "lo", Priv: PrivNone, BenchRemoteFile: file}, probe.Probe{UID: os.Getuid()})
		if err != nil {
			t.Fatal(err)
		}
		r := startLocalWrapper(t, sh, cmd)
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
				r := startLocalWrapper(t, sh, cmd)
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
