package sshconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/vmdump/vmdump/internal/oneline"

	"golang.org/x/crypto/ssh"
)

// session is one command run on the VM. Over SSH it is an SSH session;
// the probe, the inventory and the capture only use this much of it, so
// that another transport stands in for SSH: the exec transport's local
// command that reaches the VM (transport_exec.go).
type Session interface {
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
func (c *Conn) NewSession() (Session, error) {
	if c.exec != nil {
		return c.exec.NewSession()
	}
	s, err := c.Client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("cannot open an SSH session on %s: %s", c.label, oneline.Err(err))
	}
	return sshSession{s}, nil
}

// runSession runs cmd to its end.
func RunSession(s Session, cmd string) error {
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
func ExitStatus(err error) int {
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

// probeRun is what a probe command left behind.
type CommandRun struct {
	Stdout, Stderr []byte
	Err            error // the session's result (exit status, signal)
}

// runProbeCommand runs cmd in a new session, keeping at most maxOut bytes of
// its stdout. The error is for a session that could not start or a ctx
// that ended first; in the latter case run still holds the output that
// arrived until then.
func (c *Conn) RunCommand(ctx context.Context, cmd string, maxOut int) (run CommandRun, err error) {
	sess, err := c.NewSession()
	if err != nil {
		return run, err
	}
	defer sess.Close()
	stdout := &TailBuffer{Max: maxOut}
	stderr := &TailBuffer{Max: 8 << 10}
	sess.SetStdout(stdout)
	sess.SetStderr(stderr)
	done := make(chan error, 1)
	go func() { done <- RunSession(sess, cmd) }()
	select {
	case run.Err = <-done:
	case <-ctx.Done():
		_ = sess.Close()
		err = fmt.Errorf("probing %s: %w", c.label, ctx.Err())
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("probing %s: no answer from the VM's shell in time", c.label)
		}
	}
	run.Stdout, run.Stderr = stdout.Bytes(), stderr.Bytes()
	return run, err
}

// tailBuffer is an io.Writer that keeps the first head bytes and the last
// max bytes written: tcpdump's errors come first, its statistics last,
// and a chatty remote can never grow vmdump's memory.
type TailBuffer struct {
	mu   sync.Mutex
	Max  int
	head []byte
	tail []byte
	cut  bool
}

const tailBufferHead = 2 << 10

func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := tailBufferHead - len(b.head); room > 0 && !b.cut {
		take := min(room, len(p))
		b.head = append(b.head, p[:take]...)
		p = p[take:]
	}
	if len(p) == 0 {
		return n, nil
	}
	b.tail = append(b.tail, p...)
	if len(b.tail) > b.Max {
		b.tail = append(b.tail[:0:0], b.tail[len(b.tail)-b.Max:]...)
		b.cut = true
	}
	return n, nil
}

// Bytes returns head + tail; when bytes were dropped in between, a line
// "[...]" marks the gap.
func (b *TailBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := append([]byte{}, b.head...)
	if b.cut {
		out = append(out, "\n[...]\n"...)
	}
	return append(out, b.tail...)
}

func (b *TailBuffer) String() string { return string(b.Bytes()) }

// signalNumber maps SSH signal names (RFC 4254 without "SIG") to the Linux
// numbers the shell would report as 128+n.
func signalNumber(name string) int {
	switch name {
	case "HUP":
		return 1
	case "INT":
		return 2
	case "QUIT":
		return 3
	case "ILL":
		return 4
	case "ABRT":
		return 6
	case "FPE":
		return 8
	case "KILL":
		return 9
	case "SEGV":
		return 11
	case "PIPE":
		return 13
	case "ALRM":
		return 14
	case "TERM":
		return 15
	case "USR1":
		return 10
	case "USR2":
		return 12
	}
	return 0
}

// runWithStdin runs cmd with stdin as its input and returns its output
// (bounded), ending it when ctx ends.
func (c *Conn) RunWithStdin(ctx context.Context, cmd string, stdin []byte) (stdout, stderr string, err error) {
	sess, err := c.NewSession()
	if err != nil {
		return "", "", err
	}
	defer sess.Close()
	outBuf := &TailBuffer{Max: 16 << 10}
	errBuf := &TailBuffer{Max: 8 << 10}
	sess.SetStdout(outBuf)
	sess.SetStderr(errBuf)
	in, err := sess.StdinPipe()
	if err != nil {
		return "", "", err
	}
	if err := sess.Start(cmd); err != nil {
		return "", "", err
	}
	done := make(chan error, 1)
	go func() {
		_, werr := in.Write(stdin)
		_ = in.Close()
		err := sess.Wait()
		if err == nil {
			err = werr
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = sess.Close()
		err = ctx.Err()
	}
	return outBuf.String(), errBuf.String(), err
}
