package sshconn

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/internal/shquote"
	"github.com/vmdump/vmdump/vmctl"
)

// The exec transport reaches a VM through a local command instead of SSH
// (VM.Exec): `multipass exec <vm> --`, `docker run -i ... <image>`, `wsl -d
// <distro> --exec`, `ip netns exec <ns>`. Each session is one local process,
// Exec + "sh" "-c" <command>; its stdin and stdout are the session's. The
// remote side needs nothing new: the capture wrapper already ends tcpdump
// when its stdin closes, which happens when the local process or vmdump
// dies. The local process itself is tied to vmdump's life per platform
// (transport_exec_linux.go: Pdeathsig; _windows.go: a kill-on-close job
// object; elsewhere it is killed on Close only).

// execWaitDelay bounds how long Wait waits for the output of a command that
// has exited: a grandchild that inherited its stdout or stderr (a helper
// the VM manager's CLI left behind) must not hold a session open forever.
const execWaitDelay = 3 * time.Second

// execTransport opens sessions for one exec VM and kills what still runs
// when the Conn closes.
type execTransport struct {
	argv  []string // VM.Exec; argv[0] resolved through PATH at dial time
	quote bool     // VM.ExecQuote
	label string
	log   *slog.Logger

	mu     sync.Mutex
	live   map[*execSession]struct{}
	closed bool
}

// dialExec is Dial for a VM with Exec. Nothing runs yet: the first session
// (the probe) is the first contact, as the SSH handshake is for SSH. Only
// the program is checked, so that a missing CLI is one clear line.
func dialExec(vm vmctl.VM, label string, log *slog.Logger) (*Conn, error) {
	argv := append([]string(nil), vm.Exec...)
	if argv[0] == "" {
		return nil, fmt.Errorf("%s: its exec command has an empty program name; fix exec in config.toml", label)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("%s: cannot run %s for its exec transport (%s); install it or fix the VM's exec command in config.toml", label, argv[0], execLookProblem(err))
	}
	argv[0] = path
	log.Debug("exec transport", "vm", vm.ID, "argv", argv, "quote", vm.ExecQuote)
	return &Conn{
		exec:   &execTransport{argv: argv, quote: vm.ExecQuote, label: label, log: log, live: map[*execSession]struct{}{}},
		vm:     vm,
		label:  label,
		log:    log,
		dead:   make(chan struct{}),
		closed: make(chan struct{}),
	}, nil
}

func execLookProblem(err error) string {
	if errors.Is(err, exec.ErrNotFound) {
		return "not found in PATH"
	}
	return oneline.Err(err)
}

// execArgv is the full argv of one session running cmd.
func ExecArgv(prefix []string, quote bool, cmd string) []string {
	argv := append([]string(nil), prefix...)
	if quote {
		return append(argv, "sh -c "+shquote.Quote(cmd))
	}
	return append(argv, "sh", "-c", cmd)
}

func (t *execTransport) NewSession() (Session, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("cannot start a command for %s: the connection is closed", t.label)
	}
	s := &execSession{t: t, done: make(chan struct{})}
	return s, nil
}

// closeAll kills every session still running; later newSession calls fail.
func (t *execTransport) closeAll() {
	t.mu.Lock()
	t.closed = true
	live := make([]*execSession, 0, len(t.live))
	for s := range t.live {
		live = append(live, s)
	}
	t.mu.Unlock()
	for _, s := range live {
		_ = s.Close()
	}
}

func (t *execTransport) forget(s *execSession) {
	t.mu.Lock()
	delete(t.live, s)
	t.mu.Unlock()
}

// execSession is one local process standing in for an SSH session.
type execSession struct {
	t *execTransport

	stdin          io.WriteCloser // our end of the child's stdin, if asked for
	stdinR         *os.File
	stdoutR        *os.File // our end of the child's stdout, if asked for
	stdoutW        *os.File
	stdout, stderr io.Writer

	mu       sync.Mutex
	cmd      *exec.Cmd
	started  bool
	closed   bool
	release  func() // platform cleanup (Windows: closes the job object)
	done     chan struct{}
	waitErr  error
	killOnce sync.Once
}

// StdinPipe is an os.Pipe rather than exec.Cmd's, so that it can be made
// before the argv is known (Start).
func (s *execSession) StdinPipe() (io.WriteCloser, error) {
	if s.stdin != nil || s.started {
		return nil, errors.New("stdin already set")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.stdinR, s.stdin = r, w
	return w, nil
}

// StdoutPipe is an os.Pipe that Wait leaves alone (exec.Cmd's StdoutPipe
// is closed by Wait, which the capture calls while still reading): the
// reader sees EOF when every process holding the write end has ended.
func (s *execSession) StdoutPipe() (io.Reader, error) {
	if s.stdoutR != nil || s.stdout != nil || s.started {
		return nil, errors.New("stdout already set")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.stdoutR, s.stdoutW = r, w
	return r, nil
}

func (s *execSession) SetStdout(w io.Writer) { s.stdout = w }
func (s *execSession) SetStderr(w io.Writer) { s.stderr = w }

// Start runs the VM's exec command with "sh -c cmd" appended.
func (s *execSession) Start(cmd string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errors.New("session already used")
	}
	s.started = true
	argv := ExecArgv(s.t.argv, s.t.quote, cmd)
	c := exec.Command(argv[0], argv[1:]...)
	c.WaitDelay = execWaitDelay
	if s.stdinR != nil {
		c.Stdin = s.stdinR
	}
	switch {
	case s.stdoutW != nil:
		c.Stdout = s.stdoutW
	case s.stdout != nil:
		c.Stdout = s.stdout
	}
	if s.stderr != nil {
		c.Stderr = s.stderr
	}
	// nil Stdout/Stderr are /dev/null: nothing a child prints may reach
	// vmdump's own stderr during a capture.
	s.t.mu.Lock()
	if s.t.closed {
		s.t.mu.Unlock()
		s.closePipes()
		return fmt.Errorf("cannot start a command for %s: the connection is closed", s.t.label)
	}
	release, err := startChild(c)
	if err == nil {
		s.t.live[s] = struct{}{}
	}
	s.t.mu.Unlock()
	// The child has its copies; ours would keep its stdin from ever
	// reaching EOF and our stdout reader from ever seeing it.
	closeFile(&s.stdinR)
	closeFile(&s.stdoutW)
	if err != nil {
		s.closePipes()
		return fmt.Errorf("cannot run %s: %s", s.t.argv[0], oneline.Err(err))
	}
	s.cmd, s.release = c, release
	s.t.log.Debug("exec session started", "pid", c.Process.Pid)
	go s.wait()
	return nil
}

func (s *execSession) wait() {
	err := s.cmd.Wait()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // exit status 0; a leftover grandchild held the output
	}
	s.waitErr = execExitError(err)
	if s.release != nil {
		s.release()
	}
	s.t.forget(s)
	close(s.done)
}

// Wait returns nil for exit status 0, else an error exitStatus reads.
func (s *execSession) Wait() error {
	s.mu.Lock()
	started := s.started && s.cmd != nil
	s.mu.Unlock()
	if !started {
		return errors.New("session not started")
	}
	<-s.done
	return s.waitErr
}

// Terminate asks the local process to stop (SIGTERM on Unix; nothing on
// Windows, which has no such request: Close kills there). The remote
// side's stop is its stdin EOF either way.
func (s *execSession) Terminate() {
	s.mu.Lock()
	c := s.cmd
	s.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-s.done:
	default:
		terminateChild(c.Process)
	}
}

// Close kills the local process if it still runs, waits for it and closes
// every pipe.
func (s *execSession) Close() error {
	s.mu.Lock()
	s.closed = true
	c := s.cmd
	s.mu.Unlock()
	if s.stdin != nil {
		_ = s.stdin.Close()
	}
	if c != nil {
		s.killOnce.Do(func() {
			select {
			case <-s.done:
			default:
				_ = c.Process.Kill()
			}
		})
		<-s.done
	}
	s.closePipes()
	return nil
}

func (s *execSession) closePipes() {
	if s.stdin != nil {
		_ = s.stdin.Close()
	}
	closeFile(&s.stdinR)
	closeFile(&s.stdoutW)
	if s.stdoutR != nil {
		_ = s.stdoutR.Close()
	}
}

func closeFile(f **os.File) {
	if *f != nil {
		_ = (*f).Close()
		*f = nil
	}
}

// execExit is a local process's exit in the shell's terms: exec.ExitError
// says -1 for a death by signal, the shell (and exitStatus) 128+n.
type execExit struct {
	code int
	err  error
}

func (e *execExit) Error() string { return e.err.Error() }
func (e *execExit) Unwrap() error { return e.err }
func (e *execExit) ExitCode() int { return e.code }

func execExitError(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	code := ee.ExitCode()
	if ws, ok := ee.Sys().(interface {
		Signaled() bool
		Signal() syscall.Signal
	}); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	return &execExit{code: code, err: err}
}
