package remotecap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// RemoteCapture is tcpdump running on the VM, its pcap stream on Stdout.
type RemoteCapture struct {
	sess  sshconn.Session
	stdin io.WriteCloser
	// stdinBusy serialises stdin's Write and Close: x/crypto/ssh's channel
	// is not safe for a Write racing CloseWrite. A channel, not a mutex,
	// so that Stop can give up waiting for a Write stuck on a full window.
	stdinBusy chan struct{}
	stdout    io.Reader
	stderr    *sshconn.TailBuffer
	spec      CaptureSpec
	probe     probe.Probe

	stopOnce sync.Once
	stopped  chan struct{} // closed when Stop begins
	// stdoutEnded is set when Stdout returned EOF or an error;
	// stoppedLive records that Stop came while the stream was still
	// open, i.e. vmdump ended the capture rather than the VM.
	stdoutEnded atomic.Bool
	stoppedLive bool
	exited      chan struct{} // closed when the session has ended
	waitErr     error         // session.Wait's result, valid after exited
}

// stopGrace is how long Stop lets tcpdump flush and exit before it closes
// the session.
const stopGrace = 2 * time.Second

// Start starts the capture command (see CaptureCommand) in a new
// session. The caller reads the pcap stream from Stdout until EOF, then calls
// Wait. A heartbeat line goes to the command's stdin every spec.Heartbeat,
// which keeps the VM-side watchdog from ending the capture. Cancelling ctx
// stops the capture (as Stop does).
func Start(ctx context.Context, c *sshconn.Conn, spec CaptureSpec, p probe.Probe) (*RemoteCapture, error) {
	if p.Label == "" {
		p.Label = c.Label()
	}
	spec = spec.withBenchFile()
	if spec.agent == nil {
		specs, agent, err := prepareAgent(ctx, c, []CaptureSpec{spec}, p)
		if err != nil {
			return nil, err
		}
		if agent != nil {
			defer agent.release() // the capture holds its own reference
		}
		spec = specs[0]
	}
	cmd, err := CaptureCommand(spec, p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sess, err := c.NewSession()
	if err != nil {
		return nil, err
	}
	r := &RemoteCapture{
		sess:      sess,
		stderr:    &sshconn.TailBuffer{Max: 8 << 10},
		spec:      spec,
		probe:     p,
		stopped:   make(chan struct{}),
		exited:    make(chan struct{}),
		stdinBusy: make(chan struct{}, 1),
	}
	sess.SetStderr(r.stderr)
	var stdout io.Reader
	if r.stdin, err = sess.StdinPipe(); err == nil {
		stdout, err = sess.StdoutPipe()
	}
	r.stdout = &endWatcher{r: &afterMarker{r: stdout, log: c.Log()}, ended: &r.stdoutEnded}
	if err == nil {
		err = sess.Start(cmd)
	}
	if err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("cannot start the capture on %s: %s", c.Label(), oneline.Err(err))
	}
	c.Log().Debug("remote capture started", "vm", c.VM().ID, "interface", spec.Interface, "filter", spec.Filter)
	if spec.agent != nil {
		spec.agent.owner.acquire()
	}
	go func() {
		r.waitErr = sess.Wait()
		if spec.agent != nil {
			spec.agent.owner.release()
		}
		close(r.exited)
	}()
	go r.sendHeartbeats(spec.heartbeat())
	// Not unregistered: a Stop after Stop does nothing.
	context.AfterFunc(ctx, func() { _ = r.Stop() })
	return r, nil
}

// Stdout is the pcap byte stream tcpdump writes (anything the VM's login
// scripts printed before it is skipped). Read it from one goroutine.
func (r *RemoteCapture) Stdout() io.Reader { return r.stdout }

// sendHeartbeats writes one newline per interval until Stop or the end of
// the session. A write can block while the channel's window is full; Stop
// then unblocks it by closing the session.
func (r *RemoteCapture) sendHeartbeats(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stopped:
			return
		case <-r.exited:
			return
		case <-t.C:
			if !r.beat() {
				return
			}
		}
	}
}

// beat writes one heartbeat line; false when the capture is over.
func (r *RemoteCapture) beat() bool {
	select {
	case r.stdinBusy <- struct{}{}:
	case <-r.stopped:
		return false
	}
	defer func() { <-r.stdinBusy }()
	select {
	case <-r.stopped:
		return false
	default:
	}
	_, err := r.stdin.Write([]byte{'\n'})
	return err == nil
}

// Stop ends the remote capture: stdin EOF (the wrapper kills tcpdump), an
// SSH TERM signal (for servers that honour it), up to 2 s for tcpdump to
// flush, its statistics and exit, then the session is closed. It is
// idempotent and safe while another goroutine reads Stdout; the reader then
// sees EOF.
func (r *RemoteCapture) Stop() error {
	r.stopOnce.Do(func() {
		r.stoppedLive = !r.stdoutEnded.Load()
		close(r.stopped)
		select {
		case r.stdinBusy <- struct{}{}:
			_ = r.stdin.Close()
			<-r.stdinBusy
		case <-time.After(stopGrace):
			// A heartbeat is stuck on a full window; closing the
			// session below ends it, and the VM sees EOF all the same.
		}
		r.sess.Terminate()
		select {
		case <-r.exited:
		case <-time.After(stopGrace):
		}
		_ = r.sess.Close()
	})
	return nil
}

// stoppedByUs reports whether Stop ended a capture that was still running
// (Stop after the stream had ended by itself does not count).
func (r *RemoteCapture) stoppedByUs() bool {
	select {
	case <-r.stopped:
		return r.stoppedLive
	default:
		return false
	}
}

// endWatcher notes when the stream it reads ends: the VM closed it or the
// channel failed. A refusal of vmdump's own (too much login-shell text
// before the marker) is not an end: the command still runs, vmdump stops
// it, and Wait then leaves the refusal to the caller instead of blaming
// the VM for dying of vmdump's SIGTERM.
type endWatcher struct {
	r     io.Reader
	ended *atomic.Bool
}

func (e *endWatcher) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	var refused *preambleError
	if err != nil && !errors.As(err, &refused) {
		e.ended.Store(true)
	}
	return n, err
}

// Wait waits for the remote command to end (call it after Stdout reached
// EOF) and returns nil when Stop (or ctx) ended it, otherwise a one-line
// error saying what went wrong on the VM and what to do. A capture whose
// stream ended before Stop was called ended by itself: that is reported
// even when Stop was called afterwards.
func (r *RemoteCapture) Wait() error {
	<-r.exited
	exit := sshconn.ExitStatus(r.waitErr)
	stderr := r.stderr.String()
	classified := ClassifyRemoteError(stderr, exit, r.probe, r.spec)
	if r.stoppedByUs() {
		// Whatever happened while stopping is the stop. Only a failure
		// that explains why nothing was captured is still worth saying
		// (a stop right after the start can race tcpdump's error).
		if classified != nil && exit > 0 && exit != 128+15 && !parseRemoteStats(stderr).Valid && len(meaningfulLines(stderr)) > 0 {
			return classified
		}
		return nil
	}
	if classified == nil && exit == 0 && r.spec.BenchRemoteFile != "" {
		return nil // the benchmark's file was sent whole
	}
	if classified == nil {
		return fmt.Errorf("the capture on %s ended by itself (%s exited)", r.probe.VMLabel(), r.spec.toolName())
	}
	return classified
}

// Stats returns tcpdump's counters once it has ended (Valid false before).
func (r *RemoteCapture) Stats() RemoteStats {
	return parseRemoteStats(r.stderr.String())
}

// wrapperPID is the remote wrapper shell's pid as it reported it (0 when
// not yet known); tests use it to look for leftovers.
func (r *RemoteCapture) wrapperPID() int {
	m := wrapperPIDLine.FindStringSubmatch(r.stderr.String())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var wrapperPIDLine = regexp.MustCompile(`vmdump: wrapper pid (\d+)`)
