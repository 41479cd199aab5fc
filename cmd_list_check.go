package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// checkTimeout bounds the check of one VM, so a dead VM never hangs
// `vmdump list --check`.
const checkTimeout = 15 * time.Second

// vmCheck is what a check (`vmdump list --check`, `vmdump doctor`) found
// out about one VM.
type vmCheck struct {
	vm               vmctl.VM
	conn, priv, tool string // "ok" (conn), what was found, or what is wrong; "-": not checked
	// privOK: root or passwordless sudo; toolOK: tcpdump, or vmdump's
	// capture agent standing in for it. With conn "ok", the VM can capture.
	privOK, toolOK bool
}

// canCapture says whether a capture from the VM can work: it was reached,
// with the privilege and a capture program.
func (c vmCheck) canCapture() bool { return c.conn == "ok" && c.privOK && c.toolOK }

// reason is the first thing that stops a capture from the VM, in the words
// of `vmdump list --check`; "" when nothing does.
func (c vmCheck) reason() string {
	switch {
	case c.conn != "ok":
		return c.conn
	case !c.privOK:
		return c.priv
	case !c.toolOK:
		return c.tool
	}
	return ""
}

// probeVM connects to one running, capturable VM (SSH, or its exec
// command) and probes it; ctx bounds it. It is the check's seam: tests
// answer without a network.
type probeVM func(ctx context.Context, vm vmctl.VM) (probe.Probe, error)

// checkVMs is `vmdump list --check`: it connects to every capturable VM
// that is not known to be stopped, all at once, and reports whether the
// connection (SSH, or a VM's exec command), root or passwordless sudo, and
// tcpdump work there: the first thing to run when a capture fails.
func checkVMs(ctx context.Context, env hostenv.Env, vms []vmctl.VM, log *slog.Logger) []vmCheck {
	return runChecks(ctx, vms, checkTimeout, sshProbe(env, log, 0))
}

// runChecks probes every capturable VM that is not known to be stopped, all
// at once, each within timeout, and judges what it found. The others are
// reported with why they were not checked.
func runChecks(ctx context.Context, vms []vmctl.VM, timeout time.Duration, probeVM probeVM) []vmCheck {
	checks := make([]vmCheck, len(vms))
	var wg sync.WaitGroup
	for i, vm := range vms {
		checks[i] = vmCheck{vm: vm, conn: "-", priv: "-", tool: "-"}
		switch {
		case !vm.Capturable():
			checks[i].conn = "not capturable: " + cmp.Or(vm.Skip, vm.Note, "no SSH endpoint")
			continue
		case vm.State == vmctl.Stopped:
			checks[i].conn = "not running"
			continue
		}
		wg.Add(1)
		go func(c *vmCheck) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			p, err := probeVM(ctx, c.vm)
			judge(c, p, err)
		}(&checks[i])
	}
	wg.Wait()
	return checks
}

// judge fills in what a probe of c.vm (or its failure) means for captures.
func judge(c *vmCheck, p probe.Probe, err error) {
	if err != nil {
		c.conn = err.Error()
		return
	}
	c.conn = "ok"
	c.privOK = p.UID == 0 || p.SudoNoPassword
	switch {
	case p.UID == 0:
		c.priv = "root"
	case p.SudoNoPassword:
		c.priv = "sudo -n ok"
	default:
		c.priv = "sudo needs a password: allow NOPASSWD for tcpdump, or log in as root"
	}
	agent := remotecap.AgentRuns(p)
	c.toolOK = p.Tcpdump != "" || agent
	switch {
	case p.Tcpdump == "" && agent:
		c.tool = "tcpdump missing: captures use vmdump's capture agent; to use tcpdump: " + remotecap.InstallHint(p) + " (or: vmdump provision " + c.vm.ID + ")"
	case p.Tcpdump == "":
		c.tool = "tcpdump missing: " + remotecap.InstallHint(p) + " (or: vmdump provision " + c.vm.ID + ")"
	case !p.ImmediateMode:
		c.tool = p.Tcpdump + " (no --immediate-mode: packets arrive up to 1 s late)"
	default:
		c.tool = p.Tcpdump
	}
}

// anyCanCapture says whether a capture from one of the checked VMs can work.
func anyCanCapture(checks []vmCheck) bool {
	for _, c := range checks {
		if c.canCapture() {
			return true
		}
	}
	return false
}

// sshProbe is the real probeVM: it dials the VM, each hop within
// dialTimeout (0: sshconn's default), probes it and caches the inventory
// the probe brought back (the dialog's interface list).
func sshProbe(env hostenv.Env, log *slog.Logger, dialTimeout time.Duration) probeVM {
	opt, _ := dialOptions(dialog.Options{}, env, log)
	opt.Timeout = dialTimeout
	return func(ctx context.Context, vm vmctl.VM) (probe.Probe, error) {
		conn, err := sshconn.Dial(ctx, vm, opt)
		if err != nil {
			return probe.Probe{}, err
		}
		defer conn.Close()
		p, inv, err := probe.RunInventory(ctx, conn)
		if err != nil {
			return probe.Probe{}, err
		}
		capture.RememberInventory(env, log, vm.ID, inv)
		return p, nil
	}
}

// errNoCapture is `vmdump list --check`'s error when no VM can capture: it
// exits 1.
var errNoCapture = errors.New("no VM can capture (see the table above)")

// writeChecks prints the table of `vmdump list --check`; it returns
// errNoCapture when no VM can capture.
func writeChecks(w io.Writer, checks []vmCheck) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCONNECTION\tPRIVILEGE\tTCPDUMP")
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.vm.ID, c.conn, c.priv, c.tool)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !anyCanCapture(checks) {
		return errNoCapture
	}
	return nil
}
