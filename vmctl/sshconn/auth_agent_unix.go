//go:build !windows

package sshconn

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// dialAgent connects to the ssh-agent named by $SSH_AUTH_SOCK.
func dialAgent() (io.ReadWriteCloser, error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, errors.New("SSH_AUTH_SOCK is not set")
	}
	return net.DialTimeout("unix", sock, 2*time.Second)
}
