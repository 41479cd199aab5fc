package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// capture is the whole data path, in order: FIFO, discover, dial, probe,
// remote command, pcap → pcapng into the FIFO, stop.
//
// Wireshark's dumpcap is blocked opening the FIFO until we open it, so it is
// opened before anything that can fail; after that every failure is one line
// on stderr (Wireshark shows it) and a non-zero exit.
func capture(a extcap.Args, o extcap.Options, env discover.Env, log *slog.Logger, stderr io.Writer) int {
	tuneGCForCapture()
	fifo, err := extcap.OpenFIFO(a.Fifo)
	if err != nil {
		return fail(stderr, err) // "--fifo is empty: ..." or "cannot open Wireshark's capture pipe: open PATH: ..."
	}
	defer fifo.Close()
	w := pcapng.NewWriter(fifo, "vmdump "+version())
	if err := w.Begin(runtime.GOOS); err != nil {
		return 0 // Wireshark is gone already
	}
	if err := cmp.Or(a.Validate(), o.Validate()); err != nil {
		return fail(stderr, err)
	}
	ctrl := openToolbar(a, log)
	defer ctrl.Close()
	stderr = errorsToToolbar(ctrl, stderr) // the GUI shows stderr only once vmdump has exited

	// SIGTERM is Wireshark's stop; SIGINT is Ctrl-C in tshark's terminal.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// dumpcap (or Wireshark) dying closes the FIFO without a signal.
	ctx = extcap.StopWhenReaderGone(ctx, fifo)

	vm, nic, ok := resolveInterface(env, discover.Discover(env), a.Interface)
	if !ok {
		return fail(stderr, unknownInterfaceError(a.Interface))
	}
	if !vm.Capturable() {
		return fail(stderr, fmt.Errorf("VM %s (%s) cannot be captured: %s", vm.Name, vm.Manager, cmp.Or(vm.Skip, vm.Note, "it has no SSH endpoint")))
	}
	opt, err := dialOptions(o, env, log)
	if err != nil {
		return fail(stderr, err)
	}
	spec, err := captureSpec(o, vm)
	if err != nil {
		return fail(stderr, err)
	}

	s := session{vm: vm, opt: opt, spec: spec, args: a, opts: o, w: w, log: log,
		env: env, ctrl: ctrl, nics: captureNICNames(o.RemoteInterface, o.MoreInterfaces, vm, nic)}
	note := ""
	backoff := time.Second
	for {
		out := s.run(ctx, note)
		switch {
		case ctx.Err() != nil, out.readerGone:
			return 0 // stopped by Wireshark or Ctrl-C, or dumpcap went away first
		case out.err != nil && !(out.linkLost || out.dialFailed && note != ""):
			return failUnlessStopped(ctx, stderr, out.err)
		case out.linkLost && !o.ReconnectOn():
			return fail(stderr, fmt.Errorf("lost the connection to VM %s (%s); the packets captured so far are saved", vm.Name, cmp.Or(out.why, "no answer to SSH keepalives")))
		case !out.linkLost && !out.dialFailed:
			return 0 // the remote capture ended by itself
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
			return 0
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// session is one SSH connection's worth of capture: dial, probe, start the
// remote command, pump its pcap into the shared Writer until a stop.
type session struct {
	vm   vmctl.VM
	opt  sshconn.DialOptions
	spec remotecap.CaptureSpec
	args extcap.Args
	opts extcap.Options
	w    *pcapng.Writer
	log  *slog.Logger
	env  discover.Env
	ctrl *extcap.Control
	nics []string // the VM interfaces to capture, one tcpdump each
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
	conn, err := sshconn.Dial(ctx, s.vm, s.opt)
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
	spec := s.spec
	spec.Filter = remotecap.BuildFilter(s.args.CaptureFilter, s.opts.PayloadOnlyOn(), probe)
	specs := captureSpecs(spec, s.nics)
	s.log.Info("capturing", "vm", s.vm.ID, "interfaces", s.nics, "filter", spec.Filter)

	// One tcpdump per interface over this connection, one interface block
	// each; any reason to stop (ctx, a dead link, Wireshark gone) stops
	// them all, and each gets a statistics block with its drops.
	describe := func() []pcapng.NIC {
		inv := inventory.describing(ctx, s.env, s.vm.ID, specs)
		return pcapngNICs(s.vm, inv, specs, cmp.Or(probe.OSPretty, s.vm.OS), note)
	}
	res, err := runCaptures(ctx, conn, probe, specs, describe, s.w, s.ctrl, s.vm.Name, s.log)
	if err != nil {
		return outcome{err: err, linkLost: isDead(conn)}
	}
	switch {
	case ctx.Err() != nil:
		return outcome{}
	case isDead(conn):
		return outcome{err: res.remoteErr, linkLost: true, why: conn.DeadReason()}
	case extcap.IsReaderGone(res.pumpErr):
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

// dialOptions turns the dialog's SSH group into vmctl's options.
func dialOptions(o extcap.Options, env discover.Env, log *slog.Logger) (sshconn.DialOptions, error) {
	port, err := o.SSHPortValue()
	if err != nil {
		return sshconn.DialOptions{}, err
	}
	cfg, err := discover.LoadConfig(env)
	if err != nil {
		log.Warn("config file ignored", "err", err)
	}
	opt := sshconn.DialOptions{
		User:           o.SSHUser,
		Port:           port,
		KeyFile:        o.SSHKey,
		Password:       o.SSHPassword,
		KeyPassphrase:  o.KeyPassphrase,
		PinnedKeysFile: filepath.Join(env.ConfigDir(), "known_hosts"),
		AcceptNew:      o.AcceptNewHostKey == "accept-new" || cfg.AcceptNewHostKeys,
		Home:           env.Home,
		Log:            log,
	}
	if env.Home != "" {
		opt.KnownHostsFile = filepath.Join(env.Home, ".ssh", "known_hosts")
		opt.SSHConfigFile = filepath.Join(env.Home, ".ssh", "config")
	}
	return opt, nil
}

// captureSpec turns the dialog's capture group into the remote command's spec.
func captureSpec(o extcap.Options, vm vmctl.VM) (remotecap.CaptureSpec, error) {
	snap, err := o.SnaplenValue()
	if err != nil {
		return remotecap.CaptureSpec{}, err
	}
	iface := o.RemoteInterface
	if iface == "" {
		iface = naturalInterface(vm)
	}
	priv := remotecap.PrivAuto
	if o.Priv != "" {
		priv = remotecap.Priv(o.Priv)
	}
	tool, err := o.CaptureToolValue()
	if err != nil {
		return remotecap.CaptureSpec{}, err
	}
	return remotecap.CaptureSpec{Interface: iface, Snaplen: snap, Priv: priv, Tool: remotecap.Tool(tool)}, nil
}

func failUnlessStopped(ctx context.Context, stderr io.Writer, err error) int {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return 0
	}
	return fail(stderr, err)
}

// fail writes the one line Wireshark shows the user.
func fail(stderr io.Writer, err error) int {
	msg := oneline.Err(err)
	fmt.Fprintln(stderr, "vmdump: "+msg)
	return 1
}
