package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// checkTimeout bounds the check of one VM, so a dead VM never hangs
// `vmdump list --check`.
const checkTimeout = 15 * time.Second

// vmCheck is what `vmdump list --check` found out about one VM.
type vmCheck struct {
	vm               vmctl.VM
	conn, priv, tool string // "ok" or what is wrong
}

// checkVMs connects to every capturable VM that is not known to be stopped,
// all at once, and reports whether the connection (SSH, or a VM's exec
// command), root or passwordless sudo, and tcpdump work there: the first thing to run when a capture fails.
func checkVMs(ctx context.Context, env discover.Env, vms []vmctl.VM, log *slog.Logger) []vmCheck {
	opt, _ := dialOptions(extcap.Options{}, env, log)
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
			ctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			conn, err := sshconn.Dial(ctx, c.vm, opt)
			if err != nil {
				c.conn = err.Error()
				return
			}
			defer conn.Close()
			p, inv, err := probe.RunInventory(ctx, conn)
			if err != nil {
				c.conn = err.Error()
				return
			}
			rememberInventory(env, log, c.vm.ID, inv)
			c.conn = "ok"
			switch {
			case p.UID == 0:
				c.priv = "root"
			case p.SudoNoPassword:
				c.priv = "sudo -n ok"
			default:
				c.priv = "sudo needs a password: allow NOPASSWD for tcpdump, or log in as root"
			}
			switch {
			case p.Tcpdump == "" && remotecap.AgentRuns(p):
				c.tool = "tcpdump missing: captures use vmdump's capture agent; to use tcpdump: " + remotecap.InstallHint(p) + " (or: vmdump provision " + c.vm.ID + ")"
			case p.Tcpdump == "":
				c.tool = "tcpdump missing: " + remotecap.InstallHint(p) + " (or: vmdump provision " + c.vm.ID + ")"
			case !p.ImmediateMode:
				c.tool = p.Tcpdump + " (no --immediate-mode: packets arrive up to 1 s late)"
			default:
				c.tool = p.Tcpdump
			}
		}(&checks[i])
	}
	wg.Wait()
	return checks
}

func writeChecks(w io.Writer, checks []vmCheck) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCONNECTION\tPRIVILEGE\tTCPDUMP")
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.vm.ID, c.conn, c.priv, c.tool)
	}
	return tw.Flush()
}
