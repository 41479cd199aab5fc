//go:build !unix && !windows

package sshconn

import (
	"os"
	"os/exec"
)

// startChild starts an exec session's local process; on this platform it
// is only killed by Close and Conn.Close.
func startChild(cmd *exec.Cmd) (release func(), err error) { return nil, cmd.Start() }

func terminateChild(p *os.Process) { _ = p.Kill() }
