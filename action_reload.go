package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// reloadTimeout bounds the dialog's Reload: Wireshark's dialog waits for
// vmdump with no timeout of its own, so a dead VM must not hang it.
var reloadTimeout = 6 * time.Second

// reloadInterfaces answers the dialog's Reload button on the remote
// interface or the Container selector (option names which): the values of
// a fresh inventory, within reloadTimeout. When the VM cannot be reached in
// time the cached list comes back instead, its default entry saying so (an
// error would make Wireshark drop the answer and keep a list with no
// explanation).
func reloadInterfaces(o dialog.Options, env hostenv.Env, log *slog.Logger, r capture.Resolved, option string, stdout io.Writer) error {
	vm := r.VM
	d := dialogDefaultsFor(env, r)
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
			d.Containers = containerValues(inv)
		}
	}
	if err != nil {
		log.Warn("reload: inventory not refreshed", "vm", vm.ID, "err", err)
		why = "not reloaded: " + oneline.Clip(oneline.Err(err), 200)
	}
	arg, values := dialog.ArgRemoteInterface, dialog.RemoteInterfaceValues(d)
	if option == dialog.OptionContainer {
		arg, values = dialog.ArgContainer, dialog.ContainerValues(d)
	}
	if why != "" {
		for i := range values {
			if values[i].Default {
				values[i].Display = cmp.Or(values[i].Display, values[i].Value) + " (" + why + ")"
			}
		}
	}
	return extcap.WriteValues(stdout, arg, values)
}

// reloadAction answers the Reload button of the remote interface
// (--extcap-config --extcap-reload-option): a fresh inventory.
func reloadAction(a extcap.Args, o dialog.Options, env hostenv.Env, log *slog.Logger, stdout, stderr io.Writer) int {
	r, _ := capture.Resolve(env, discover.Discover(env), a.Interface)
	return exitStatus(stderr, reloadInterfaces(o, env, log, r, a.ReloadOption, stdout))
}
