package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// provisionCmd is `vmdump provision <vm> [--dry-run]`.
type provisionCmd struct {
	DryRun bool `long:"dry-run" description:"say which command would install tcpdump, run nothing"`
}

// provisionProbeTimeout bounds the dial and probe before the install (the
// install itself has vmctl.ProvisionTimeout).
const provisionProbeTimeout = 30 * time.Second

// cmdProvision installs tcpdump on one VM with its package manager: the
// fix vmdump names when a capture or `vmdump list --check` finds no
// tcpdump. It dials like a capture does, so the same SSH settings apply.
func cmdProvision(args []string, dryRun bool, stdout, stderr io.Writer, log *slog.Logger) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "vmdump: provision needs one VM: its id (vmdump list), manager/name or name")
		return 2
	}
	env := hostenv.HostEnv(log)
	vm, err := findVM(discover.Discover(env), args[0])
	if err != nil {
		fmt.Fprintf(stderr, "vmdump: %v\n", err)
		return 2
	}
	switch {
	case !vm.Capturable():
		return exitStatus(stderr, fmt.Errorf("VM %s (%s) cannot be reached: %s", vm.Name, vm.Manager, cmp.Or(vm.Skip, vm.Note, "it has no SSH endpoint")))
	case vm.State == vmctl.Stopped:
		return exitStatus(stderr, fmt.Errorf("VM %s (%s) is not running: start it first", vm.Name, vm.Manager))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt, err := dialOptions(dialog.Options{}, env, log)
	if err != nil {
		return exitStatus(stderr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, provisionProbeTimeout)
	defer cancel()
	conn, err := sshconn.Dial(pctx, vm, opt)
	if err != nil {
		return exitStatus(stderr, err)
	}
	defer conn.Close()
	p, err := probe.Run(pctx, conn)
	if err != nil {
		return exitStatus(stderr, err)
	}
	if dryRun {
		return provisionDryRun(p, vm, stdout, stderr)
	}
	res, err := remotecap.Provision(ctx, conn, p, remotecap.PrivAuto)
	writeProvisionRun(stdout, res, err != nil)
	if err != nil {
		return exitStatus(stderr, err)
	}
	fmt.Fprintln(stdout, res.String())
	return 0
}

func provisionDryRun(p probe.Probe, vm vmctl.VM, stdout, stderr io.Writer) int {
	if p.Tcpdump != "" {
		fmt.Fprintf(stdout, "tcpdump is already installed on VM %s: %s; nothing to do\n", vm.Name, p.Tcpdump)
		return 0
	}
	cmd, err := remotecap.ProvisionPlan(p, remotecap.PrivAuto)
	if err != nil {
		return exitStatus(stderr, err)
	}
	fmt.Fprintf(stdout, "would run on VM %s: %s\n", vm.Name, cmd)
	return 0
}

// writeProvisionRun says which commands ran and, when the install failed,
// the end of their output: what the user needs to see why.
func writeProvisionRun(w io.Writer, res remotecap.ProvisionResult, failed bool) {
	for _, c := range res.Ran {
		fmt.Fprintf(w, "ran on %s: %s\n", res.VM, c)
	}
	if !failed || res.Output == "" {
		return
	}
	lines := strings.Split(res.Output, "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	fmt.Fprintf(w, "its last output (exit %d):\n", res.Exit)
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
}

// findVM resolves what a person typed for a VM: its id (vmdump list), then
// manager/name, then a name only one VM has.
func findVM(vms []vmctl.VM, arg string) (vmctl.VM, error) {
	if vm, ok := discover.Lookup(vms, arg); ok {
		return vm, nil
	}
	manager, name, slash := strings.Cut(arg, "/")
	var named []vmctl.VM
	for _, vm := range vms {
		if slash && vm.Manager == manager && vm.Name == name || !slash && vm.Name == arg {
			named = append(named, vm)
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
		return vmctl.VM{}, fmt.Errorf("no VM %q: give its id from `vmdump list`, manager/name or name", arg)
	}
	ids := make([]string, len(named))
	for i, vm := range named {
		ids[i] = vm.ID
	}
	return vmctl.VM{}, fmt.Errorf("%d VMs are named %q: give one id of %s", len(named), arg, strings.Join(ids, ", "))
}
