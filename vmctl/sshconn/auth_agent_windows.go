//go:build windows

package sshconn

import (
	"io"
	"net"
	"os"
	"time"
)

// openSSHAgentPipe is the named pipe of Windows' OpenSSH agent service.
const openSSHAgentPipe = `\\.\pipe\openssh-ssh-agent`

// dialAgent connects to $SSH_AUTH_SOCK (an AF_UNIX socket, as set by Git
// Bash or WSL interop) when set, else to the Windows OpenSSH agent's pipe.
func dialAgent() (io.ReadWriteCloser, error) {
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		return net.DialTimeout("unix", sock, 2*time.Second)
	}
	return os.OpenFile(openSSHAgentPipe, os.O_RDWR, 0)
}
