package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/vmctl"
)

// The VMs' network interfaces in Wireshark: listed from each VM's cached
// inventory (never from the network: Wireshark lists interfaces at every
// start, with no timeout), refreshed whenever vmdump talks to the VM, and
// captured several at a time into one pcapng stream.

// interfaceValues are the inventory's NICs as dialog values.
func interfaceValues(inv probe.Inventory) []extcap.Value {
	vs := make([]extcap.Value, 0, len(inv.NICs))
	for _, n := range inv.NICs {
		vs = append(vs, extcap.Value{Value: n.Name, Display: n.Describe()})
	}
	return vs
}

// dialogDefaultsFor is dialogDefaults with the cached inventory's NICs,
// the NIC a capture would choose from it as the default, and for a NIC's
// interface that NIC.
func dialogDefaultsFor(env hostenv.Env, vm vmctl.VM, nic string) extcap.DialogDefaults {
	d := dialogDefaults(vm)
	if chosen, ok := capture.CachedDefaultNIC(env, vm); ok {
		d.RemoteInterface = chosen // what a capture without the option takes
	}
	if nic != "" {
		d.RemoteInterface = nic
	}
	if inv, ok := probe.LoadInventory(env, vm.ID); ok {
		d.RemoteInterfaces = interfaceValues(inv)
	}
	return d
}

// dialogArgsFor is the whole options dialog: DialogArgs plus, with an
// inventory, the "More interfaces" multicheck.
func dialogArgsFor(d extcap.DialogDefaults) []extcap.Arg {
	args := extcap.DialogArgs(d)
	if more, ok := extcap.MoreInterfacesArg(d); ok {
		args = append(args, more)
	}
	return args
}

// reloadInterfaces answers the dialog's Reload button on the remote
// interface: the values of a fresh inventory, within reloadTimeout. When
// the VM cannot be reached in time the cached list comes back instead,
// its default entry saying so (an error would make Wireshark drop the
// answer and keep a list with no explanation).
func reloadInterfaces(o extcap.Options, env hostenv.Env, log *slog.Logger, vm vmctl.VM, nic string, stdout io.Writer) error {
	d := dialogDefaultsFor(env, vm, nic)
	var why string
	opt, err := dialOptions(o, env, log)
	if err == nil && !vm.Capturable() {
		err = fmt.Errorf("VM %s cannot be captured: %s", vm.Name, cmp.Or(vm.Skip, vm.Note, "it has no SSH endpoint"))
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
		defer cancel()
		if opt.Timeout == 0 || opt.Timeout > reloadTimeout {
			opt.Timeout = reloadTimeout
		}
		var inv probe.Inventory
		if inv, err = capture.RefreshInventory(ctx, vm, opt, env, log); err == nil {
			d.RemoteInterfaces = interfaceValues(inv)
		}
	}
	if err != nil {
		log.Warn("reload: inventory not refreshed", "vm", vm.ID, "err", err)
		why = "not reloaded: " + oneline.Clip(oneline.Err(err), 200)
	}
	values := extcap.RemoteInterfaceValues(d)
	if why != "" {
		for i := range values {
			if values[i].Default {
				values[i].Display = cmp.Or(values[i].Display, values[i].Value) + " (" + why + ")"
			}
		}
	}
	return extcap.WriteValues(stdout, extcap.ArgRemoteInterface, values)
}

// toolbarControls make Wireshark's GUI pass vmdump its toolbar pipes (it
// passes them only to an extcap that declares a control): a log button,
// where vmdump notes what it captures and how each interface ended.
func toolbarControls() []extcap.ToolbarControl {
	return []extcap.ToolbarControl{{Number: 0, Type: "button", Role: "logger", Display: "Log", Tooltip: "Show vmdump's log of this capture"}}
}

// openToolbar opens the toolbar pipes when Wireshark passed them; without
// them (tshark) or when they fail, messages go nowhere.
func openToolbar(a extcap.Args, log *slog.Logger) *extcap.Control {
	ctrl, err := extcap.OpenControl(a.ControlOut, a.ControlIn)
	if err != nil {
		log.Warn("toolbar pipes not opened", "err", err)
		ctrl, _ = extcap.OpenControl("", "")
	}
	return ctrl
}

// toolbarLog adds a line to the toolbar's log, and to vmdump's own log:
// Wireshark drops the toolbar's lines when it rebuilds the toolbar (a local
// interface came or went), and tshark has no toolbar at all.
func toolbarLog(ctrl *extcap.Control, log *slog.Logger, msg string) {
	log.Info("toolbar", "line", msg)
	_ = ctrl.Send(0, extcap.CtrlAdd, []byte(msg+"\n"))
}

// errorsToToolbar is stderr that also shows what is written to it (fail's
// one line) as an error message in Wireshark's GUI, which shows stderr
// only once vmdump has exited.
func errorsToToolbar(ctrl *extcap.Control, stderr io.Writer) io.Writer {
	return toolbarStderr{w: stderr, ctrl: ctrl}
}

type toolbarStderr struct {
	w    io.Writer
	ctrl *extcap.Control
}

func (t toolbarStderr) Write(p []byte) (int, error) {
	if msg := strings.TrimSpace(strings.TrimPrefix(string(p), "vmdump: ")); msg != "" {
		_ = t.ctrl.ErrorMessage(msg)
	}
	return t.w.Write(p)
}

// reloadTimeout bounds the dialog's Reload: Wireshark's dialog waits for
// vmdump with no timeout of its own, so a dead VM must not hang it.
var reloadTimeout = 6 * time.Second

// toolbarNotifier is capture.Notifier over Wireshark's toolbar: the
// status bar, error messages and the toolbar's log (every line of which
// goes to vmdump's log too).
type toolbarNotifier struct {
	ctrl *extcap.Control
	log  *slog.Logger
}

func (t toolbarNotifier) Status(msg string) { _ = t.ctrl.StatusBar(msg) }
func (t toolbarNotifier) Error(msg string)  { _ = t.ctrl.ErrorMessage(msg) }
func (t toolbarNotifier) Log(msg string)    { toolbarLog(t.ctrl, t.log, msg) }

// interfaceList is what --extcap-interfaces lists: capture.Targets as
// Wireshark interfaces.
func interfaceList(env hostenv.Env, vms []vmctl.VM) []extcap.Interface {
	targets := capture.Targets(env, vms)
	out := make([]extcap.Interface, len(targets))
	for i, t := range targets {
		out[i] = extcap.Interface{Value: t.ID, Display: t.Display}
	}
	return out
}
