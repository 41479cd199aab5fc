package probe

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/internal/vmtest/sshtest"
)

func TestInventoryScriptHasNoSingleQuote(t *testing.T) {
	if strings.Contains(inventoryScript, "'") {
		t.Fatal("the inventory script must not contain a single quote (it travels as one single-quoted word)")
	}
}

// TestInventoryScriptRunsUnderEachShell runs the probe + inventory command
// as sshd would, with sh replaced by dash, bash and busybox ash, and with a
// minimal PATH, and checks the result against this machine's sysfs. Other
// tests may add or remove interfaces meanwhile (labs), so sysfs is read
// before and after: what both saw must be there, nothing else.
func TestInventoryScriptRunsUnderEachShell(t *testing.T) {
	if _, err := os.Stat("/sys/class/net"); err != nil {
		t.Skip("no /sys/class/net here")
	}
	for _, sh := range vmtest.AvailableShells(t) {
		t.Run(strings.Join(sh, "-"), func(t *testing.T) {
			cmd := strings.Replace(inventoryCommand(), "exec sh -c ", "exec "+strings.Join(sh, " ")+" -c ", 1)
			c := exec.Command("/bin/sh", "-c", cmd)
			c.Env = append(os.Environ(), "PATH=/bin")
			before := sysfsIndexes()
			out, err := c.Output()
			after := sysfsIndexes()
			if err != nil {
				t.Fatalf("%v: %v", sh, err)
			}
			inv, err := ParseInventory(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if inv.Partial {
				t.Errorf("partial inventory:\n%s", out)
			}
			got := map[string]int{}
			for _, n := range inv.NICs {
				got[n.Name] = n.Index
				if before[n.Name] != n.Index && after[n.Name] != n.Index {
					t.Errorf("NIC %s (index %d) is in neither sysfs snapshot", n.Name, n.Index)
				}
			}
			for name, idx := range before {
				if after[name] == idx && got[name] != idx {
					t.Errorf("NIC %s: index %d, want %d (sysfs)", name, got[name], idx)
				}
			}
			if lo, _ := inv.NIC("lo"); lo.Kind != "loopback" {
				t.Errorf("lo is %+v", lo)
			}
			if inv.UID != os.Getuid() || inv.Privileged != (os.Getuid() == 0 || inv.SudoNoPassword) {
				t.Errorf("uid %d privileged %v", inv.UID, inv.Privileged)
			}
			if _, err := exec.LookPath("tcpdump"); err == nil && (inv.Tools.Tcpdump == "" || inv.Tools.TcpdumpVersion == "") {
				t.Errorf("tcpdump not found or without version: %+v", inv.Tools)
			}
			if inv.Tools.IP == "" || inv.Tools.IPVersion == "" {
				t.Errorf("ip not found: %+v", inv.Tools)
			}
			checkAddrsAndRoute(t, inv)
		})
	}
}

// TestProbeInventoryOverSSH: one session gives the probe and the
// inventory, and they agree.
func TestProbeInventoryOverSSH(t *testing.T) {
	vmtest.NeedTcpdump(t)
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	c := sshtest.Conn(t, s)
	before := sysfsIndexes()
	p, inv, err := RunInventory(context.Background(), c)
	after := sysfsIndexes()
	if err != nil {
		t.Fatal(err)
	}
	if p.UID != inv.UID || p.Tcpdump != inv.Tools.Tcpdump || p.OSID != inv.OSID || p.Hostname != inv.Hostname || p.Label != "VM vm" {
		t.Errorf("probe %+v and inventory %+v disagree", p, inv)
	}
	if p.ClientAddr == "" || p.ClientPort == "" || p.ServerAddr == "" || p.ServerPort == "" {
		t.Errorf("the probe part lost SSH_CONNECTION: %+v", p)
	}
	if inv.FetchedAt.IsZero() || inv.Partial {
		t.Errorf("time %v, partial %v", inv.FetchedAt, inv.Partial)
	}
	// The two lists are read moments apart; other tests' labs may come
	// and go in between: what sysfs had all along must be in both.
	for _, name := range p.Interfaces {
		if _, ok := inv.NIC(name); !ok && before[name] != 0 && before[name] == after[name] {
			t.Errorf("inventory lacks %s", name)
		}
	}
}

// TestProbeInventoryCancelled: a context that is already over gives an
// error, never a made-up inventory.
func TestProbeInventoryCancelled(t *testing.T) {
	s := vmtest.StartSSHD(t, vmtest.SSHDOptions{})
	c := sshtest.Conn(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := RunInventory(ctx, c); err == nil {
		t.Fatal("no error from a cancelled probe")
	}
}

// checkAddrsAndRoute compares the inventory's addresses and default route
// with what Go learns from the kernel: lo's addresses and those of the
// default route's NIC (which other tests' labs leave alone) must be the
// same, and the default route must be one that /proc/net/route (or, without
// an IPv4 one, ipv6_route) lists.
func checkAddrsAndRoute(t *testing.T, inv Inventory) {
	t.Helper()
	routes := procDefaultRoutes(false)
	if len(routes) == 0 {
		routes = procDefaultRoutes(true)
	}
	switch {
	case len(routes) == 0 && inv.DefaultRoute != "":
		t.Errorf("default route %q, but the kernel has none", inv.DefaultRoute)
	case len(routes) > 0 && !slices.Contains(routes, inv.DefaultRoute):
		t.Errorf("default route %q, want one of %q", inv.DefaultRoute, routes)
	}
	for _, name := range []string{"lo", inv.DefaultRoute} {
		if name == "" {
			continue
		}
		n, _ := inv.NIC(name)
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		goAddrs, _ := ifi.Addrs()
		var want []string
		for _, a := range goAddrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				want = append(want, p.String())
			}
		}
		got := slices.Clone(n.Addrs)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s addrs %q, want %q (Go's net)", name, got, want)
		}
	}
}

// procDefaultRoutes lists the devices of the default routes that are up
// and not rejecting in /proc/net/route (v6 false: Destination and Mask
// 00000000) or /proc/net/ipv6_route (v6 true: ::/0).
func procDefaultRoutes(v6 bool) []string {
	file, dev, flags := "/proc/net/route", 0, 3
	if v6 {
		file, dev, flags = "/proc/net/ipv6_route", 9, 8
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) < 10:
			continue
		case !v6 && (f[1] != "00000000" || f[7] != "00000000"):
			continue
		case v6 && (f[0] != strings.Repeat("0", 32) || f[1] != "00"):
			continue
		}
		if fl, err := strconv.ParseUint(f[flags], 16, 32); err == nil && fl&1 != 0 && fl&0x200 == 0 {
			out = append(out, f[dev])
		}
	}
	return out
}

// sysfsIndexes maps this machine's interfaces to their ifindex.
func sysfsIndexes() map[string]int {
	out := map[string]int{}
	entries, _ := os.ReadDir("/sys/class/net")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/sys/class/net", e.Name(), "ifindex"))
		if err != nil {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			out[e.Name()] = n
		}
	}
	return out
}
