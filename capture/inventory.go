package capture

import (
	"context"
	"time"

	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// A capture takes the VM's inventory (its NICs and containers: what the
// pcapng interface blocks say, and Wireshark's next interface list) beside
// the capture's start instead of before it. In a VM with Docker the
// inventory takes ~200 ms (docker ps and inspect), the probe the capture
// needs ~25 ms: tcpdump starts that much sooner, and its first packets are
// not held back when a recent inventory already names the interfaces.
const (
	// describeFromCacheFor is how old a cached inventory may be and still
	// name the interfaces without waiting for the fresh one. A veth's name
	// is random per container endpoint, so a name the cache knows is still
	// that container's; only a rename since would show the old name.
	describeFromCacheFor = 10 * time.Minute
	// inventoryWait bounds the wait for the fresh inventory when the NIC
	// to capture must be chosen from it (chooseNIC).
	inventoryWait = 5 * time.Second
)

// sessionInventory is an inventory being taken in the background.
type sessionInventory struct {
	done chan struct{}
	inv  probe.Inventory
	err  error
}

// takeInventory starts taking conn's inventory; the answer is cached for
// Wireshark's next listing whenever it arrives. Closing conn ends it.
func (s *session) takeInventory(ctx context.Context, conn *sshconn.Conn) *sessionInventory {
	si := &sessionInventory{done: make(chan struct{})}
	go func() {
		defer close(si.done)
		_, si.inv, si.err = probe.RunInventory(ctx, conn)
		if si.err != nil {
			s.Log.Warn("inventory not taken", "vm", s.VM.ID, "err", si.err)
			return
		}
		RememberInventory(s.Env, s.Log, s.VM.ID, si.inv)
	}()
	return si
}

// describing is the inventory that names specs' interfaces in their
// interface blocks: a recent cached one that knows all of them, else the
// fresh one if it has arrived, else none (interface names only). It never
// waits: the interface blocks go before the first packets, and no packet
// waits for the inventory (a first capture of a VM names its interfaces
// only; the next one finds the cache).
func (si *sessionInventory) describing(ctx context.Context, env hostenv.Env, vmID string, specs []remotecap.CaptureSpec) probe.Inventory {
	if inv, ok := probe.LoadInventory(env, vmID); ok && time.Since(inv.FetchedAt) < describeFromCacheFor && knowsAll(inv, specs) {
		return inv
	}
	select {
	case <-si.done:
		if si.err == nil {
			return si.inv
		}
	default:
	}
	return probe.Inventory{}
}

// wait is the fresh inventory, waited for at most inventoryWait; empty
// when it failed, took longer or ctx ended.
func (si *sessionInventory) wait(ctx context.Context) probe.Inventory {
	t := time.NewTimer(inventoryWait)
	defer t.Stop()
	select {
	case <-si.done:
		if si.err == nil {
			return si.inv
		}
	case <-t.C:
	case <-ctx.Done():
	}
	return probe.Inventory{}
}

func knowsAll(inv probe.Inventory, specs []remotecap.CaptureSpec) bool {
	for _, s := range specs {
		if _, ok := inv.NIC(s.Interface); !ok {
			return false
		}
	}
	return true
}
