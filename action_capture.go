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

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// captureAction answers --capture: it opens the FIFO, the toolbar and the
// stop signals, maps the dialog's options onto capture.Options and runs
// the capture (package capture: dial, probe, remote command, pcap →
// pcapng into the FIFO, stop).
//
// Wireshark's dumpcap is blocked opening the FIFO until we open it, so it is
// opened before anything that can fail; after that every failure is one line
// on stderr (Wireshark shows it) and a non-zero exit.
func captureAction(a extcap.Args, o dialog.Options, env hostenv.Env, log *slog.Logger, stderr io.Writer) int {
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

	r, ok := capture.Resolve(env, discover.Discover(env), a.Interface)
	if !ok {
		return fail(stderr, capture.UnknownInterfaceError(a.Interface))
	}
	if o.Container != "" && o.Container != dialog.NoContainer && r.Container == nil {
		ref, err := capture.ContainerByChoice(env, r.VM, o.Container)
		if err != nil {
			return fail(stderr, err)
		}
		r.Container = &ref
	}
	vm, nic := r.VM, r.NIC
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

	nics, choose := capture.NICNames(dialog.InterfaceList(o.RemoteInterface), dialog.InterfaceList(o.MoreInterfaces), nic)
	opts := capture.Options{
		Env: env, Log: log, VM: vm,
		NICs:           nics,
		ChooseNIC:      choose,
		Container:      r.Container,
		Dial:           opt,
		Spec:           spec,
		CaptureFilter:  a.CaptureFilter,
		PayloadOnly:    o.PayloadOnlyOn(),
		Reconnect:      o.ReconnectOn(),
		InstallTcpdump: o.InstallTcpdumpOn(),
		ReaderGone:     extcap.IsReaderGone,
	}
	if err := capture.Run(ctx, opts, toolbarNotifier{ctrl, log}, w); err != nil {
		return failUnlessStopped(ctx, stderr, err)
	}
	return 0
}

// dialOptions turns the dialog's SSH group into vmctl's options.
func dialOptions(o dialog.Options, env hostenv.Env, log *slog.Logger) (sshconn.DialOptions, error) {
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
		AcceptNew:      o.HostKeyAcceptNew() || cfg.AcceptNewHostKeys,
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
func captureSpec(o dialog.Options, vm vmctl.VM) (remotecap.CaptureSpec, error) {
	snap, err := o.SnaplenValue()
	if err != nil {
		return remotecap.CaptureSpec{}, err
	}
	iface := o.RemoteInterface
	if iface == "" {
		iface = capture.NaturalInterface(vm)
	}
	priv, err := o.PrivValue()
	if err != nil {
		return remotecap.CaptureSpec{}, err
	}
	tool, err := o.CaptureToolValue()
	if err != nil {
		return remotecap.CaptureSpec{}, err
	}
	return remotecap.CaptureSpec{Interface: iface, Snaplen: snap, Priv: remotecap.Priv(priv), Tool: remotecap.Tool(tool)}, nil
}

func failUnlessStopped(ctx context.Context, stderr io.Writer, err error) int {
	if early := (*capture.StoppedEarlyError)(nil); errors.As(err, &early) {
		// A stop, but before the capture started: the line is the only
		// reason the user gets for no packets. tshark and Wireshark show
		// it after their own stop whatever the exit status (tshark 4.0:
		// "tshark: Error by extcap pipe: vmdump: stopped before ...").
		fail(stderr, err)
		return 0
	}
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
