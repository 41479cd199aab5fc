package probe

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// DefaultNIC chooses the NIC to capture on when the user named none. It is
// pure: it reads what the probe and the inventory already learned. In this
// order it takes
//
//  1. usual, the NIC the VM's manager sets up for it (eth1, the host-only
//     network, for a VirtualBox docker-machine; "" when the manager has
//     none), if the VM has it — even when vmdump's SSH session arrives on
//     another one (docker-machine reaches its VM through a NAT port
//     forward to eth0);
//  2. the NIC holding the address vmdump's SSH session arrived on
//     (p.ServerAddr, from $SSH_CONNECTION; skipped over an exec transport,
//     which has none, and for a loopback address, which a tunnel inside the
//     VM gives);
//  3. the NIC of the default route (inv.DefaultRoute);
//  4. the first NIC that is up (operstate up, else unknown) and not
//     loopback, a bridge, a bridged or container veth, or Docker's,
//     Podman's or a CNI's plumbing by name; physical-looking ones (a
//     device, or named eth*, en*, wl*, em*, bond*) first, then those with an
//     address, then those that are no port of a bond; then by ifindex.
//
// why is one short phrase for the status line and the log, never empty:
// "ens3: the NIC of the address vmdump's SSH session arrived on
// (192.168.56.10)". name is "" only when no step found a NIC; why then says
// so. When the inventory lists no NICs (an older cache), p.Interfaces
// stands in for it, by name only; when neither knows any, usual is taken
// as it is.
func DefaultNIC(p Probe, inv Inventory, usual string) (name, why string) {
	nics := inv.NICs
	if len(nics) == 0 {
		for _, n := range p.Interfaces {
			if validNICName(n) {
				nic := NIC{Name: n}
				if n == "lo" {
					nic.Kind = "loopback"
				}
				nics = append(nics, nic)
			}
		}
	}
	find := func(name string) (NIC, bool) {
		i := slices.IndexFunc(nics, func(n NIC) bool { return n.Name == name })
		if i < 0 {
			return NIC{}, false
		}
		return nics[i], true
	}

	if usual != "" {
		if len(nics) == 0 {
			return usual, usual + ": the VM's usual NIC (its NICs are unknown)"
		}
		if _, ok := find(usual); ok {
			return usual, usual + ": the VM's usual NIC"
		}
	}
	if n, addr, ok := sessionNIC(p.ServerAddr, nics, find); ok {
		return n, n + ": the NIC of the address vmdump's SSH session arrived on (" + addr + ")"
	}
	if n, ok := find(inv.DefaultRoute); ok && inv.DefaultRoute != "" && n.Kind != "loopback" {
		return n.Name, n.Name + ": the NIC of the default route"
	}
	if len(nics) == 0 {
		return "", "the VM's NICs are unknown"
	}
	if n, ok := firstUpNIC(nics); ok {
		if n.State == "up" {
			return n.Name, n.Name + ": the first NIC that is up"
		}
		return n.Name, n.Name + ": the first NIC not known to be down"
	}
	return "", "no NIC of the VM is up, apart from loopback, bridges and container veths"
}

// sessionNIC is the NIC that holds addr, an address from $SSH_CONNECTION:
// the one its zone names (fe80::1%eth0), else the one listing it among its
// addresses, one that is not down first. It also returns the address as it
// is shown.
func sessionNIC(addr string, nics []NIC, find func(string) (NIC, bool)) (string, string, bool) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "", "", false
	}
	if z := a.Zone(); z != "" {
		if n, ok := find(z); ok && n.Kind != "loopback" {
			return n.Name, a.String(), true
		}
	}
	a = a.WithZone("").Unmap()
	if a.IsLoopback() || a.IsUnspecified() {
		return "", "", false
	}
	found := -1
	for i, n := range nics {
		if n.Kind == "loopback" || !slices.ContainsFunc(n.Addrs, func(s string) bool {
			p, err := netip.ParsePrefix(s)
			return err == nil && p.Addr().Unmap() == a
		}) {
			continue
		}
		if found < 0 || (nics[found].State == "down" && n.State != "down") {
			found = i
		}
	}
	if found < 0 {
		return "", "", false
	}
	return nics[found].Name, a.String(), true
}

// firstUpNIC is step 4 of DefaultNIC.
func firstUpNIC(nics []NIC) (NIC, bool) {
	var cands []int
	for i, n := range nics {
		if captureCandidate(n) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return NIC{}, false
	}
	b2i := func(b bool) int {
		if b {
			return 0
		}
		return 1
	}
	best := slices.MinFunc(cands, func(i, j int) int {
		a, b := nics[i], nics[j]
		if c := cmp.Or(
			cmp.Compare(b2i(a.State == "up"), b2i(b.State == "up")),
			cmp.Compare(b2i(physicalLooking(a)), b2i(physicalLooking(b))),
			cmp.Compare(b2i(hasRoutableAddr(a)), b2i(hasRoutableAddr(b))),
			cmp.Compare(b2i(a.Master == ""), b2i(b.Master == "")),
		); c != 0 {
			return c
		}
		if a.Index > 0 && b.Index > 0 && a.Index != b.Index {
			return cmp.Compare(a.Index, b.Index)
		}
		return cmp.Compare(i, j)
	})
	return nics[best], true
}

// plumbingPrefixes name the interfaces container engines, libvirt, LXD and
// CNI plugins make for themselves: bridges, veths and overlay tunnels that
// carry containers' traffic, never the VM's own.
var plumbingPrefixes = []string{"docker", "br-", "veth", "virbr", "cni", "flannel", "cali", "vxlan", "weave",
	"podman", "lxcbr", "lxdbr", "kube-", "cilium", "nerdctl"}

// captureCandidate: a NIC step 4 of DefaultNIC may take.
func captureCandidate(n NIC) bool {
	switch {
	case n.State == "down" || n.State == "notpresent" || n.State == "lowerlayerdown":
		return false
	case n.Kind == "loopback" || n.Kind == "bridge" || n.Name == "lo":
		return false
	case len(n.Containers) > 0:
		return false
	case n.Kind == "veth" && n.Master != "":
		return false // a container's end on a bridge
	}
	for _, p := range plumbingPrefixes {
		if strings.HasPrefix(n.Name, p) {
			return false
		}
	}
	// A veth without a bridge is kept: a VM that is itself a container
	// (or a network namespace, as vmdump's lab) has one as its uplink.
	return true
}

// physicalLooking: a NIC with a device behind it, or named the way the
// kernel and udev name real and virtio NICs (eth0, enp0s3, ens160, wlan0,
// wlp2s0, em1, bond0).
func physicalLooking(n NIC) bool {
	switch n.Kind {
	case "device", "wlan", "bond":
		return true
	}
	for _, p := range []string{"eth", "en", "wl", "em", "bond"} {
		if strings.HasPrefix(n.Name, p) {
			return true
		}
	}
	return false
}

// hasRoutableAddr: the NIC has an address other than a link-local one.
func hasRoutableAddr(n NIC) bool {
	for _, s := range n.Addrs {
		if p, err := netip.ParsePrefix(s); err == nil && !p.Addr().IsLinkLocalUnicast() && !p.Addr().IsLoopback() {
			return true
		}
	}
	return false
}
