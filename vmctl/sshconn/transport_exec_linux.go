package sshconn

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// startChild starts an exec session's local process so that it dies with
// vmdump: Pdeathsig sends it SIGKILL when vmdump ends, however it ends
// (kill -9 included).
//
// Linux ties Pdeathsig to the thread that forked, not to the process: the
// signal fires when that OS thread exits. Go threads normally live as long
// as the process, but a thread whose goroutine exits while locked to it is
// destroyed, so every child is forked from one goroutine locked to its
// thread for good (spawnThread), never from whatever thread the caller ran on.
//
// Setpgid puts the child in its own process group: a Ctrl-C in the
// terminal goes to vmdump's group, and vmdump stops the capture in order
// (stdin EOF, then SIGTERM) instead of the child dying mid-stream first.
//
// Pdeathsig is cleared when the child executes a set-user-ID program (sudo
// as the exec command): then only the remote side's stdin EOF, which
// follows vmdump's death as well, ends the session.
func startChild(cmd *exec.Cmd) (release func(), err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return nil, spawn(cmd)
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnOnce sync.Once
	spawnCh   chan spawnReq
)

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnReq)
		go spawnThread(spawnCh)
	})
	req := spawnReq{cmd: cmd, done: make(chan error, 1)}
	spawnCh <- req
	return <-req.done
}

// spawnThread forks every exec child from one locked OS thread; it never
// returns, so that thread never exits and no child gets its Pdeathsig
// while vmdump lives.
func spawnThread(reqs <-chan spawnReq) {
	runtime.LockOSThread()
	for r := range reqs {
		r.done <- r.cmd.Start()
	}
}

func terminateChild(p *os.Process) { _ = p.Signal(syscall.SIGTERM) }
