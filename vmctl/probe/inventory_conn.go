package probe

import (
	"context"
	"fmt"
	"time"

	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// inventoryOutputMax bounds the inventory's output (sysfs lines are ~150
// bytes per interface; the JSON fallback ~1 KiB).
const inventoryOutputMax = 4 << 20

// ProbeInventory runs the probe and the inventory in one SSH session (one
// round trip) and returns both; inventory's FetchedAt is now. Without a
// deadline in ctx it allows 30 s. When ctx ends after the VM listed its
// interfaces but before its container engines answered, the inventory is
// returned Partial and the probe is still good; ending earlier is an error.
func RunInventory(ctx context.Context, c *sshconn.Conn) (Probe, Inventory, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return Probe{}, Inventory{}, fmt.Errorf("probing %s: %w", c.Label(), err)
	}
	run, err := c.RunCommand(ctx, inventoryCommand(), inventoryOutputMax)
	if err != nil && run.Stdout == nil {
		return Probe{}, Inventory{}, err
	}
	p, perr := ParseProbe(run.Stdout)
	if perr != nil {
		if err != nil {
			return Probe{}, Inventory{}, err
		}
		return Probe{}, Inventory{}, probeFailed(c, perr, run)
	}
	inv, ierr := ParseInventory(run.Stdout)
	if ierr != nil {
		if err != nil {
			return Probe{}, Inventory{}, err
		}
		return Probe{}, Inventory{}, probeFailed(c, ierr, run)
	}
	inv.FetchedAt = time.Now().UTC()
	inv.SessionAddr = p.ServerAddr
	p.Label, p.VMID = c.Label(), c.VM().ID
	c.Log().Debug("inventory", "vm", c.VM().ID, "uid", p.UID, "os", p.OSID, "nics", len(inv.NICs),
		"engines", len(inv.Engines), "partial", inv.Partial, "notes", inv.Notes)
	return p, inv, nil
}
