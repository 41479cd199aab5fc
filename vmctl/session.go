package vmctl

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// session is one command run on the VM. Over SSH it is an SSH session;
// the probe, the inventory and the capture only use this much of it, so
// that another transport stands in for SSH: the exec transport's local
// command that reaches the VM (transport_exec.go).
type session interface {
	StdinPipe() (io.WriteCloser, error)
	StdoutPipe() (io.Reader, error)
	// SetStdout and SetStderr must come before Start; a nil writer
	// discards.
	SetStdout(w io.Writer)
	SetStderr(w io.Writer)
	// Start runs cmd, a POSIX shell command line, on the VM.
	Start(cmd string) error
	// Wait returns nil for exit status 0; otherwise an error that
	// exitStatus understands.
	Wait() error
	// Terminate asks the command to stop (SSH's TERM signal), best effort:
	// the capture wrapper's own stop is stdin EOF.
	Terminate()
	Close() error
}

// newSession opens a session for one command on c's VM: an SSH session,
// or over the exec transport a local process (transport_exec.go).
func (c *Conn) newSession() (session, error) {
	if c.exec != nil {
		return c.exec.newSession()
	}
	s, err := c.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("cannot open an SSH session on %s: %s", c.label, oneLineErr(err))
	}
	return sshSession{s}, nil
}

// runSession runs cmd to its end.
func runSession(s session, cmd string) error {
	if err := s.Start(cmd); err != nil {
		return err
	}
	return s.Wait()
}

// sshSession adapts *ssh.Session to session.
type sshSession struct{ *ssh.Session }

func (s sshSession) SetStdout(w io.Writer) { s.Session.Stdout = w }
func (s sshSession) SetStderr(w io.Writer) { s.Session.Stderr = w }
func (s sshSession) Terminate()            { _ = s.Session.Signal(ssh.SIGTERM) }

// exitCoder is an exit error of a transport other than SSH (os/exec's
// *exec.ExitError has this method).
type exitCoder interface{ ExitCode() int }

// exitStatus is the shell's view of how a session ended: 0, the exit
// status, 128+n for a signal, or -1 when it is not known (the connection
// broke, the server sent no status).
func exitStatus(err error) int {
	var ee *ssh.ExitError
	var ec exitCoder
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		exit := ee.ExitStatus()
		if ee.Signal() != "" && exit == 0 {
			exit = 128 + signalNumber(ee.Signal())
		}
		return exit
	case errors.As(err, &ec):
		return ec.ExitCode()
	}
	return -1
}
