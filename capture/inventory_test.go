package capture

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest/nictest"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
)

// TestDescribingInventory: the interface blocks are named from a recent
// cached inventory that knows every captured interface; otherwise from
// the fresh one when it has arrived; otherwise (still running, or failed)
// by interface name only. It never waits: no packet waits for the
// inventory.
func TestDescribingInventory(t *testing.T) {
	specs := []remotecap.CaptureSpec{{Interface: "vethab12"}, {Interface: "docker0"}}
	cached := nictest.Inventory
	fresh := nictest.Inventory
	fresh.NICs = append([]probe.NIC(nil), fresh.NICs...)
	fresh.NICs[4].Containers = []probe.Container{{Engine: "docker", Name: "web-renamed", ID: "abc"}}
	container := func(inv probe.Inventory) string {
		if n, ok := inv.NIC("vethab12"); ok && len(n.Containers) > 0 {
			return n.Containers[0].Name
		}
		return ""
	}
	pending := func() *sessionInventory { return &sessionInventory{done: make(chan struct{})} }
	arrived := func(inv probe.Inventory, err error) *sessionInventory {
		si := &sessionInventory{done: make(chan struct{}), inv: inv, err: err}
		close(si.done)
		return si
	}
	for _, c := range []struct {
		name   string
		cache  *probe.Inventory // nil: none
		age    time.Duration
		specs  []remotecap.CaptureSpec
		si     *sessionInventory
		cancel bool
		want   string // the container name of vethab12, "" for none
	}{
		{name: "recent cache knows all: no wait", cache: &cached, age: time.Minute, specs: specs, si: pending(), want: "web"},
		{name: "old cache: the fresh one", cache: &cached, age: time.Hour, specs: specs, si: arrived(fresh, nil), want: "web-renamed"},
		{name: "cache lacks an interface: the fresh one", cache: &cached, age: time.Minute,
			specs: append([]remotecap.CaptureSpec{{Interface: "veth-new"}}, specs...), si: arrived(fresh, nil), want: "web-renamed"},
		{name: "no cache: the fresh one", specs: specs, si: arrived(fresh, nil), want: "web-renamed"},
		{name: "no cache, inventory failed: names only", specs: specs, si: arrived(probe.Inventory{}, errors.New("docker hung")), want: ""},
		{name: "no cache, inventory still running: names only, at once", specs: specs, si: pending(), want: ""},
		{name: "old cache, inventory still running: names only, at once", cache: &cached, age: time.Hour, specs: specs, si: pending(), want: ""},
		{name: "no cache, capture stopped", specs: specs, si: pending(), cancel: true, want: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := nictest.Env(t)
			if c.cache != nil {
				inv := *c.cache
				inv.FetchedAt = time.Now().Add(-c.age)
				if err := probe.SaveInventory(env, "vmdump_cfg_lab", inv); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.cancel {
				cancel()
			}
			done := make(chan probe.Inventory, 1)
			go func() { done <- c.si.describing(ctx, env, "vmdump_cfg_lab", c.specs) }()
			select {
			case inv := <-done:
				if got := container(inv); got != c.want {
					t.Errorf("vethab12 is described as container %q, want %q", got, c.want)
				}
			case <-time.After(inventoryWait / 2):
				t.Fatal("describing waited for the inventory")
			}
		})
	}
}
