package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/install"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// helpURL is what Wireshark's Help button in the options dialog opens.
const helpURL = "https://github.com/vmdump/vmdump#readme"

// toolbarTitle names vmdump's toolbar in Wireshark's View → Interface
// Toolbars menu (the display of the extcap sentence).
const toolbarTitle = "vmdump"

// runExtcap answers one call from Wireshark. Probes (interfaces, config,
// dlts) only read local files: Wireshark runs them at every start with no
// timeout. A non-zero exit makes Wireshark throw the whole answer away, so
// probes exit 0 whenever they produced something useful.
func runExtcap(argv []string, stdout, stderr io.Writer) int {
	var o extcap.Options
	a, err := extcap.ParseArgs(argv, &o)
	if err != nil {
		fmt.Fprintln(stderr, "vmdump:", err)
		return 1
	}
	log, closeLog := openLog(o)
	defer closeLog()
	log.Debug("called by Wireshark", "args", a, "options", o)
	env := hostenv.HostEnv(log)

	switch a.Mode() {
	case extcap.ModeInterfaces:
		// Of several vmdump copies Wireshark can see, only the one it runs
		// first lists the VMs; the others would list each VM twice.
		self := install.SelfPath()
		if primary, _ := install.PrimaryCopy(install.LocalEnv(), self, a.ExtcapVersion); primary {
			return exitStatus(stderr, writeInterfaceList(stdout, env, self))
		}
		return exitStatus(stderr, extcap.WriteInterfaces(stdout, version(), helpURL, toolbarTitle, nil, toolbarControls()))
	case extcap.ModeDLTs:
		return exitStatus(stderr, extcap.WriteDLTs(stdout, extcap.EthernetDLT))
	case extcap.ModeConfig:
		vm, nic, _ := capture.Resolve(env, discover.Discover(env), a.Interface)
		return exitStatus(stderr, extcap.WriteConfig(stdout, dialogArgsFor(dialogDefaultsFor(env, vm, nic))))
	case extcap.ModeReload:
		// The Reload button of the remote interface: a fresh inventory.
		vm, nic, _ := capture.Resolve(env, discover.Discover(env), a.Interface)
		return exitStatus(stderr, reloadInterfaces(o, env, log, vm, nic, stdout))
	case extcap.ModeFilterCheck:
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		problem, known := extcap.CheckFilter(ctx, a.CaptureFilter)
		if !known {
			return 1 // Wireshark shows "unable to check" (yellow)
		}
		if problem != "" {
			fmt.Fprintln(stdout, problem)
		}
		return 0
	case extcap.ModeCapture:
		return captureAction(a, o, env, log, stderr)
	case extcap.ModeCleanup:
		// Wireshark 4.6 calls this after it killed a capture (on Windows
		// at every stop): it waits for it, so it must end at once, and
		// there is nothing to clean — the VM ends tcpdump when the
		// channel closes and an exec transport's children die with
		// vmdump.
		return 0
	}
	fmt.Fprintln(stderr, "vmdump: nothing to do; run `vmdump help`")
	return 1
}

// exitStatus turns a probe's write error into its exit status.
func exitStatus(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintln(stderr, "vmdump:", err)
		return 1
	}
	return 0
}

//
// The remote interface has no default unless the config file names one:
// Wireshark passes a declared default back as if the user had chosen it,
// and then the capture could not choose the NIC from the VM itself
// (capture.DefaultNIC). dialogDefaultsFor sets the choice once a cached
// inventory makes it known.
func dialogDefaults(vm vmctl.VM) extcap.DialogDefaults {
	d := extcap.DialogDefaults{User: vm.User, Port: vm.Port, NoSSH: len(vm.Exec) > 0}
	if vm.Manager == "config" && vm.Interface != "" {
		d.RemoteInterface = vm.Interface
	} else {
		d.RemoteInterfaceHint = "chosen from the VM"
		if vm.Interface != "" {
			d.RemoteInterfaceHint += " (" + vm.Interface + " when it has one)"
		}
	}
	return d
}

// openLog returns the logger the user chose in the dialog's Debug group. Logs
// never go to stderr: Wireshark shows stderr as an error.
func openLog(o extcap.Options) (*slog.Logger, func()) {
	file := o.LogFile
	if file == "" {
		return slog.New(slog.DiscardHandler), func() {}
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return slog.New(slog.DiscardHandler), func() {}
	}
	lv, _ := o.LogLevelValue() // an invalid level is Validate's to report
	h := slog.NewTextHandler(f, &slog.HandlerOptions{Level: lv})
	return slog.New(h).With("pid", os.Getpid()), func() { f.Close() }
}
