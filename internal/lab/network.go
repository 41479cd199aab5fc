package lab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// dockerVethName makes a name like the ones moby's bridge driver gives the
// VM side of a container's veth: "veth" + 7 hex digits.
func dockerVethName() string {
	var b [4]byte
	rand.Read(b[:])
	return "veth" + hex.EncodeToString(b[:])[:7]
}

// buildNetwork wires the namespaces claim made: host ↔ VM link, the VM's
// docker0 bridge and the two containers on it.
func (l *Lab) buildNetwork() error {
	// IPv6 off first, before any link comes up: no router solicitations,
	// MLD or DAD packets in the lab's captures. "all" covers the links that
	// exist (lo, eth1), "default" those made later.
	if err := parallel(len(l.namespaces), func(i int) error {
		_, err := run("ip", "netns", "exec", l.namespaces[i], "sysctl", "-q", "-w",
			"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		return err
	}); err != nil {
		return err
	}
	hostIPv6 := filepath.Join("/proc/sys/net/ipv6/conf", l.HostVeth, "disable_ipv6")
	if err := os.WriteFile(hostIPv6, []byte("1\n"), 0o644); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("turn IPv6 off on %s: %w", l.HostVeth, err)
	}
	// While the link is down (SetLinkDown) the connected route is gone;
	// this route then stops packets for the VM instead of sending them out
	// the default route (where a sandbox's proxy may even accept them), so
	// link loss is silence, as with a real VM.
	if _, err := run("ip", "route", "add", "unreachable", l.linkNet(), "metric", fallbackMetric); err != nil {
		return err
	}
	l.fallback = l.linkNet()
	if err := ipBatch("",
		fmt.Sprintf("addr add %s/30 dev %s", l.HostAddr, l.HostVeth),
		fmt.Sprintf("link set %s up", l.HostVeth),
	); err != nil {
		return err
	}
	vm := []string{
		"link set lo up",
		fmt.Sprintf("addr add %s/30 dev eth1", l.VMAddr),
		"link set eth1 up",
		fmt.Sprintf("route add default via %s", l.HostAddr),
		"link add docker0 type bridge",
		fmt.Sprintf("addr add %s/24 dev docker0", l.BridgeAddr),
		"link set docker0 up",
	}
	for _, c := range l.containers {
		vm = append(vm,
			fmt.Sprintf("link add %s type veth peer name eth0 netns %s", c.veth, c.ns),
			fmt.Sprintf("link set %s master docker0", c.veth),
			fmt.Sprintf("link set %s up", c.veth),
		)
	}
	if err := ipBatch(l.Namespace, vm...); err != nil {
		return err
	}
	return parallel(len(l.containers), func(i int) error {
		c := l.containers[i]
		return ipBatch(c.ns,
			"link set lo up",
			fmt.Sprintf("addr add %s/24 dev eth0", c.addr),
			"link set eth0 up",
			fmt.Sprintf("route add default via %s", l.BridgeAddr),
		)
	})
}

// fallbackMetric marks the lab's unreachable routes; it only has to lose
// against the connected route (metric 0).
const fallbackMetric = "4242"

// linkNet is the /30 of the host ↔ VM link.
func (l *Lab) linkNet() string {
	return fmt.Sprintf("10.231.%d.0/30", l.Index)
}

// parallel runs f(0…n-1) at once and returns the first error: independent
// setup commands need not wait for each other.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
