package capture

import (
	"net/netip"

	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// captureNames are the name resolution records a capture writes, so that
// Wireshark with name resolution on (and tshark -N n) shows "web" and "db"
// instead of 172.18.0.2 and 172.18.0.3: every container's addresses named
// after the container, the VM's own addresses after the VM. Loopback and
// link-local addresses are left out: every namespace has the same ones, so
// a name for them would be wrong in all but one. extra (a container just
// found again, with its fresh addresses) wins over inv's older view of it.
func captureNames(vmName string, inv probe.Inventory, extra ...probe.Container) []pcapng.Name {
	var out []pcapng.Name
	seen := map[netip.Addr]bool{}
	add := func(prefix, name string) {
		p, err := netip.ParsePrefix(prefix)
		if err != nil {
			a, aerr := netip.ParseAddr(prefix)
			if aerr != nil {
				return
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		a := p.Addr().Unmap()
		if name == "" || !a.IsValid() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() || seen[a] {
			return
		}
		seen[a] = true
		out = append(out, pcapng.Name{Addr: a, Names: []string{name}})
	}
	containers := append(append([]probe.Container(nil), extra...), inv.Containers...)
	for _, c := range containers {
		if c.HostNetwork {
			continue // its addresses are the VM's
		}
		for _, n := range c.NICs {
			for _, a := range n.Addrs {
				add(a, c.Name)
			}
		}
	}
	for _, n := range inv.NICs {
		if n.Kind == "loopback" {
			continue
		}
		for _, a := range n.Addrs {
			add(a, vmName)
		}
	}
	return out
}
