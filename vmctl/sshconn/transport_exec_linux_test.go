package sshconn

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
)

// TestExecHelperProcess is not a test: TestExecChildDiesWithVmdump runs the
// test binary as a vmdump-like parent that starts an exec session from a
// goroutine that then ends (the thread Pdeathsig would otherwise be tied
// to may go with it), prints the session's shell pid and blocks.
func TestExecHelperProcess(t *testing.T) {
	if os.Getenv("VMDUMP_EXEC_HELPER") != "1" {
		t.Skip("helper process for TestExecChildDiesWithVmdump")
	}
	c, err := Dial(context.Background(), vmctl.VM{Name: "helper", Exec: []string{"env"}}, DialOptions{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	started := make(chan string, 1)
	go func() {
		s, err := c.NewSession()
		if err == nil {
			var r interface{ Read([]byte) (int, error) }
			r, err = s.StdoutPipe()
			if err == nil {
				err = s.Start("echo $$; exec sleep 300")
			}
			if err == nil {
				line, _ := bufio.NewReader(r).ReadString('\n')
				started <- line
				return
			}
		}
		started <- "error: " + err.Error() + "\n"
	}()
	fmt.Print(<-started)
	select {} // until killed
}

// TestExecChildDiesWithVmdump: kill -9 of vmdump (nothing of vmdump's own
// cleanup runs) still ends the exec transport's local process (Pdeathsig).
func TestExecChildDiesWithVmdump(t *testing.T) {
	helper := exec.Command(os.Args[0], "-test.run=^TestExecHelperProcess$", "-test.count=1")
	helper.Env = append(os.Environ(), "VMDUMP_EXEC_HELPER=1")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { helper.Process.Kill(); helper.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	if !vmtest.PidAlive(pid) {
		t.Fatal("the helper's exec child is not running")
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	// A thread of the helper that is not the spawner dies meanwhile in a
	// real vmdump too; here the starting goroutine is gone already.
	time.Sleep(100 * time.Millisecond)
	if !vmtest.PidAlive(pid) {
		t.Fatal("the exec child died while vmdump lives (Pdeathsig tied to a thread that ended)")
	}
	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	helper.Wait()
	vmtest.AwaitGone(t, pid, "the exec child after kill -9 of its vmdump")
}
