package capture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// Run captures opt.NICs of opt.VM into w until ctx ends, Wireshark stops
// reading, the remote capture ends by itself or the link is lost (with
// opt.Reconnect: until ctx ends, reconnecting with backoff into the same
// w, the next interface blocks saying where the gap was). It returns nil
// for every ordinary end, else the one error to show the user. n hears
// what the capture is doing as it goes.
func Run(ctx context.Context, opt Options, n Notifier, w *pcapng.Writer) error {
	s := session{Options: opt, n: n, w: w}
	vm, log := opt.VM, opt.Log
	note := ""
	backoff := time.Second
	for {
		out := s.run(ctx, note)
		switch {
		case out.stoppedEarly != nil:
			return out.stoppedEarly // stopped, but the user must learn why no packet came
		case ctx.Err() != nil, out.readerGone:
			return nil // stopped by Wireshark or Ctrl-C, or dumpcap went away first
		case out.err != nil && !(out.linkLost || out.dialFailed && note != ""):
			if errors.Is(out.err, context.Canceled) {
				return nil
			}
			return out.err
		case out.linkLost && !opt.Reconnect:
			return fmt.Errorf("lost the connection to VM %s (%s); the packets captured so far are saved", vm.Name, cmp.Or(out.why, "no answer to SSH keepalives"))
		case !out.linkLost && !out.dialFailed:
			return nil // the remote capture ended by itself
		}
		// Reconnect is on and the link is gone: try again with backoff, in
		// the same pcapng. The next interface block says where the gap was.
		if note == "" {
			note = fmt.Sprintf("reconnected after link loss at %s", time.Now().UTC().Format(time.RFC3339))
		}
		if !out.dialFailed {
			backoff = time.Second // a session ran: start the backoff afresh
		}
		log.Warn("link lost; reconnecting", "vm", vm.ID, "in", backoff, "err", out.err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// session is one SSH connection's worth of capture: dial, probe, start the
// remote command, pump its pcap into the shared Writer until a stop.
type session struct {
	Options
	n Notifier
	w *pcapng.Writer
}

// outcome says why a session ended.
type outcome struct {
	err        error
	dialFailed bool // no connection was made
	linkLost   bool // the connection died under a running capture
	readerGone bool // Wireshark closed the FIFO
	why        string
	// stoppedEarly: the capture was stopped while its first session was
	// still connecting, logging in or probing.
	stoppedEarly *StoppedEarlyError
}

// StoppedEarlyError is Run's error when the capture was stopped (ctx
// ended: Wireshark's Stop, tshark's -a limit, Ctrl-C, the FIFO's reader
// gone) before it started: no packet can have come, and Waiting says what
// vmdump was still waiting for. A stop is ordinary, but this is the only
// reason the user gets for an empty capture, and tshark and Wireshark show
// an extcap's stderr after a stop they made themselves (whatever its exit
// status), so the binary writes this line and still exits 0.
type StoppedEarlyError struct {
	Waiting string // "VM lab at 127.0.0.1:2222 accepted the connection but sent no SSH greeting in 2.5 s — ..."
	Err     error  // what the step under way returned (wraps ctx's error)
}

func (e *StoppedEarlyError) Error() string {
	return "stopped before the capture started: " + e.Waiting
}

func (e *StoppedEarlyError) Unwrap() error { return e.Err }

// stoppedEarly is the outcome of a session start that a stop cut short.
// Only the first session's: a reconnect's stop ends a capture that did
// start, as ordinarily as a stop under a running capture.
func stoppedEarly(note, waiting string, err error) outcome {
	out := outcome{err: err}
	if note == "" {
		out.stoppedEarly = &StoppedEarlyError{Waiting: waiting, Err: err}
	}
	return out
}

// run captures until ctx ends, the link dies, the FIFO reader goes away or
// the remote command ends. note, when set, is added to the interface's
// description (a reconnect after a gap).
func (s *session) run(ctx context.Context, note string) outcome {
	dial := s.Dial
	if note == "" {
		// Under tshark nobody sees this; the GUI's status bar says why
		// the capture has not begun while it still waits.
		dial.Slow = func(msg string) { s.n.Status(msg); s.n.Log(msg) }
	}
	conn, err := sshconn.Dial(ctx, s.VM, dial)
	if err != nil {
		var stopped *sshconn.StoppedError
		if ctx.Err() != nil && errors.As(err, &stopped) {
			out := stoppedEarly(note, stopped.Waiting, err)
			out.dialFailed = true
			return out
		}
		return outcome{err: err, dialFailed: true}
	}
	var inventory *sessionInventory
	defer func() {
		conn.Close() // ends the inventory too, if it still runs
		if inventory != nil {
			<-inventory.done
		}
	}()
	// Until the capture starts, a stop closes the connection: opening the
	// probe's session waits for the server with no context of its own.
	unwatch := context.AfterFunc(ctx, func() { _ = conn.Close() })
	started := time.Now()
	probe, err := probe.Run(ctx, conn)
	if err != nil {
		if ctx.Err() != nil {
			return stoppedEarly(note, fmt.Sprintf("logged in to %s, but its shell had not answered vmdump's probe in %s", conn.Label(), seconds(time.Since(started))), err)
		}
		return outcome{err: err, linkLost: isDead(conn)}
	}
	started = time.Now()
	if probe, err = s.provisionIfAsked(ctx, conn, probe); err != nil {
		if ctx.Err() != nil {
			return stoppedEarly(note, fmt.Sprintf("installing tcpdump on %s had not finished in %s", conn.Label(), seconds(time.Since(started))), err)
		}
		return outcome{err: err, linkLost: isDead(conn)}
	}
	if !unwatch() {
		return stoppedEarly(note, fmt.Sprintf("logged in to %s and probed it, but tcpdump had not started yet", conn.Label()), ctx.Err())
	}
	inventory = s.takeInventory(ctx, conn)
	if s.Container != nil {
		return s.runContainer(ctx, conn, probe, inventory, note)
	}
	nics, why := s.NICs, ""
	if s.ChooseNIC {
		var nic string
		nic, why = s.chooseNIC(ctx, probe, inventory)
		if nic == "" {
			return outcome{err: fmt.Errorf("VM %s: no interface to capture on (%s): name one in the capture options (Remote interface)", s.VM.Name, why)}
		}
		nics = append([]string{nic}, slices.DeleteFunc(slices.Clone(nics), func(n string) bool { return n == nic })...)
		s.Log.Info("interface chosen", "vm", s.VM.ID, "interface", nic, "why", why)
	}
	spec := s.Spec
	spec.Filter = remotecap.BuildFilter(s.CaptureFilter, s.PayloadOnly, probe)
	specs := captureSpecs(spec, nics)
	s.Log.Info("capturing", "vm", s.VM.ID, "interfaces", nics, "filter", spec.Filter)

	// One tcpdump per interface over this connection, one interface block
	// each; any reason to stop (ctx, a dead link, Wireshark gone) stops
	// them all, and each gets a statistics block with its drops.
	describe := func() []pcapng.NIC {
		inv := inventory.describing(ctx, s.Env, s.VM.ID, specs)
		return pcapngNICs(s.VM, inv, specs, cmp.Or(probe.OSPretty, s.VM.OS), note)
	}
	res, err := runCaptures(ctx, conn, probe, specs, describe, s.w, s.n, s.VM.Name, "", why, s.Log, s.readerGone)
	if err != nil {
		return outcome{err: err, linkLost: isDead(conn)}
	}
	switch {
	case ctx.Err() != nil:
		return outcome{}
	case isDead(conn):
		return outcome{err: res.remoteErr, linkLost: true, why: conn.DeadReason()}
	case s.readerGone(res.pumpErr):
		return outcome{readerGone: true}
	case res.remoteErr != nil:
		return outcome{err: res.remoteErr}
	}
	return outcome{err: res.pumpErr}
}

func isDead(c *sshconn.Conn) bool {
	select {
	case <-c.Dead():
		return true
	default:
		return false
	}
}

// readerGone is Options.ReaderGone, false without one.
func (s *session) readerGone(err error) bool {
	return err != nil && s.ReaderGone != nil && s.ReaderGone(err)
}

// chooseNIC is DefaultNIC for this session. When the VM has the manager's
// usual NIC the probe alone says so; otherwise the choice needs the NICs'
// addresses and the default route: from a recent cached inventory, else
// from the fresh one (a first capture of such a VM waits for it, at most
// inventoryWait).
func (s *session) chooseNIC(ctx context.Context, p probe.Probe, si *sessionInventory) (name, why string) {
	if u := s.VM.Interface; u != "" && slices.Contains(p.Interfaces, u) {
		return DefaultNIC(s.VM, p, probe.Inventory{})
	}
	inv, ok := probe.LoadInventory(s.Env, s.VM.ID)
	if !ok || time.Since(inv.FetchedAt) >= describeFromCacheFor || len(inv.NICs) == 0 {
		inv = si.wait(ctx)
	}
	return DefaultNIC(s.VM, p, inv)
}

// seconds words a wait for the user: "0.4 s", "2.5 s", "10 s".
func seconds(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
	s := strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " s"
}
