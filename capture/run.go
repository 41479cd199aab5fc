package capture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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
}

// run captures until ctx ends, the link dies, the FIFO reader goes away or
// the remote command ends. note, when set, is added to the interface's
// description (a reconnect after a gap).
func (s *session) run(ctx context.Context, note string) outcome {
	conn, err := sshconn.Dial(ctx, s.VM, s.Dial)
	if err != nil {
		return outcome{err: err, dialFailed: true}
	}
	var inventory *sessionInventory
	defer func() {
		conn.Close() // ends the inventory too, if it still runs
		if inventory != nil {
			<-inventory.done
		}
	}()
	probe, err := probe.Run(ctx, conn)
	if err != nil {
		return outcome{err: err, linkLost: isDead(conn)}
	}
	if probe, err = s.provisionIfAsked(ctx, conn, probe); err != nil {
		return outcome{err: err, linkLost: isDead(conn)}
	}
	inventory = s.takeInventory(ctx, conn)
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
	res, err := runCaptures(ctx, conn, probe, specs, describe, s.w, s.n, s.VM.Name, why, s.Log, s.readerGone)
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
