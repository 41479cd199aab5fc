//go:build unix && !linux

package sshconn

import (
	"os"
	"os/exec"
	"syscall"
)

// startChild starts an exec session's local process in its own process
// group (a terminal's Ctrl-C reaches vmdump, which stops the capture in
// order). macOS and the BSDs have no Pdeathsig: the child is killed by
// Close and Conn.Close, and if vmdump itself is killed (kill -9) the child
// lives on until its stdin EOF ends the remote command and with it the
// child's stream.
func startChild(cmd *exec.Cmd) (release func(), err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return nil, cmd.Start()
}

func terminateChild(p *os.Process) { _ = p.Signal(syscall.SIGTERM) }
