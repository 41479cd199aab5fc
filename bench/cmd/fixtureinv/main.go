// Command fixtureinv writes cached inventories (probe.SaveInventory, fetched
// now) into a fixture home for P7 (BENCHMARKS.md): what vmdump lists, and
// what Wireshark then runs it for, once the VMs of the home have been
// captured from once.
//
//	fixtureinv -home DIR -spread 60        the running VMs of DIR share 60 NIC and container interfaces
//	fixtureinv -home DIR -containers 300   every running VM of DIR runs 300 containers
//
// With -spread, each running VM gets lo, eth0 and docker0 and a share of
// the rest as Docker containers (at most 24 per VM, so that vmdump lists
// each one; their veths are then left out of the listing), so that the
// listing has exactly that many interfaces besides the VMs' own. With
// -containers, each running VM gets that many containers. The containers
// are Docker's, on docker0 with a veth each, named and labelled as
// docker compose names them ("shop-web-1", compose "shop/web").
//
// The VMs are found as vmdump finds them, under the environment the
// fixture home is used with (bench/fixture.Env: HOME=DIR, so the cache is
// DIR/.cache/vmdump). It prints one line per VM written: id and the
// number of containers.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/vmdump/vmdump/bench/fixture"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// maxListed is capture's maxListedContainers: above it a VM's containers
// are not listed one by one.
const maxListed = 24

// baseNICs is how many NICs of a VM's inventory are listed besides its
// containers (lo, eth0, docker0).
const baseNICs = 3

func main() {
	home := flag.String("home", "", "the fixture home (required)")
	spread := flag.Int("spread", 0, "NIC and container interfaces in total across the running VMs")
	containers := flag.Int("containers", 0, "containers of every running VM")
	flag.Parse()
	if *home == "" || (*spread > 0) == (*containers > 0) {
		fmt.Fprintln(os.Stderr, "fixtureinv: want -home and one of -spread, -containers")
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*home, *spread, *containers); err != nil {
		fmt.Fprintln(os.Stderr, "fixtureinv:", err)
		os.Exit(1)
	}
}

func run(home string, spread, containers int) error {
	vars := map[string]string{}
	for _, kv := range fixture.Env(os.Environ(), home) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	env := hostenv.Env{
		Home: home, GOOS: runtime.GOOS, ProcessAlive: hostenv.HostProcessAlive,
		Getenv: func(k string) string { return vars[k] },
	}
	var running []vmctl.VM
	for _, vm := range discover.Discover(env) {
		// As capture.Targets: only these get their NICs and containers listed.
		if vm.Capturable() && vm.State != vmctl.Stopped {
			running = append(running, vm)
		}
	}
	if len(running) == 0 {
		return errors.New("no running VM in " + home)
	}
	counts := make([]int, len(running))
	if containers > 0 {
		for i := range counts {
			counts[i] = containers
		}
	} else {
		rest := spread - baseNICs*len(running)
		if rest < 0 || rest > maxListed*len(running) {
			return fmt.Errorf("%d running VMs cannot have %d interfaces between them (%d to %d)",
				len(running), spread, baseNICs*len(running), (baseNICs+maxListed)*len(running))
		}
		for i := range counts {
			counts[i] = rest / len(running)
			if i < rest%len(running) {
				counts[i]++
			}
		}
	}
	now := time.Now().UTC()
	for i, vm := range running {
		if err := probe.SaveInventory(env, vm.ID, inventory(vm, i, counts[i], now)); err != nil {
			return fmt.Errorf("%s: %w", vm.ID, err)
		}
		fmt.Printf("%s\t%d\n", vm.ID, counts[i])
	}
	return nil
}

// Compose projects and their services, with the images they run.
var projects = []struct {
	name     string
	services [][2]string // service, image
}{
	{"shop", [][2]string{{"web", "nginx:1.25-alpine"}, {"api", "ghcr.io/acme/shop-api:2.14.1"}, {"db", "postgres:16"},
		{"cache", "redis:7.2-alpine"}, {"worker", "ghcr.io/acme/shop-worker:2.14.1"}}},
	{"billing", [][2]string{{"api", "registry.example.com/billing/api:1.9"}, {"queue", "rabbitmq:3.13-management"},
		{"db", "mariadb:11.2"}}},
	{"monitoring", [][2]string{{"prometheus", "prom/prometheus:v2.51.0"}, {"grafana", "grafana/grafana:10.4.1"},
		{"node-exporter", "prom/node-exporter:v1.7.0"}, {"cadvisor", "gcr.io/cadvisor/cadvisor:v0.49.1"}}},
	{"search", [][2]string{{"elasticsearch", "docker.elastic.co/elasticsearch/elasticsearch:8.13.0"},
		{"kibana", "docker.elastic.co/kibana/kibana:8.13.0"}}},
	{"auth", [][2]string{{"keycloak", "quay.io/keycloak/keycloak:24.0"}, {"db", "postgres:15-alpine"}}},
}

// inventory is a Debian VM's, with Docker running n containers on docker0.
func inventory(vm vmctl.VM, seed, n int, now time.Time) probe.Inventory {
	inv := probe.Inventory{
		FetchedAt: now,
		Hostname:  strings.ReplaceAll(vm.Name, "/", "-"),
		OSID:      "debian", OSPretty: "Debian GNU/Linux 12 (bookworm)", Kernel: "Linux 6.1.0-18-amd64",
		UID: 1000, SudoNoPassword: true, Privileged: true,
		Tools: probe.Tools{
			Tcpdump: "/usr/bin/tcpdump", TcpdumpVersion: "4.99.3", LibpcapVersion: "1.10.3", ImmediateMode: true,
			IP: "ip", IPVersion: "iproute2 6.1.0", PackageManagers: []string{"apt-get"},
		},
		Engines:      []probe.Engine{{Name: "docker", Path: "/usr/bin/docker", Containers: n}},
		DefaultRoute: "eth0",
		SessionAddr:  "192.168.64.2",
		NICs: []probe.NIC{
			{Name: "lo", Index: 1, Kind: "loopback", State: "unknown", MAC: "00:00:00:00:00:00", ARPType: 772,
				Addrs: []string{"127.0.0.1/8", "::1/128"}},
			{Name: "eth0", Index: 2, Kind: "device", State: "up", MAC: mac(seed, 0), ARPType: 1,
				Addrs: []string{"192.168.64.2/24", "fe80::5054:ff:fe12:3402/64"}},
			{Name: "docker0", Index: 3, Kind: "bridge", State: "up", MAC: mac(seed, 1), ARPType: 1,
				Addrs: []string{"172.17.0.1/16", "fe80::42:acff:fe11:1/64"}},
		},
	}
	replica := map[string]int{}
	for i := 0; i < n; i++ {
		p := projects[i%len(projects)]
		s := p.services[(i/len(projects))%len(p.services)]
		key := p.name + "/" + s[0]
		replica[key]++
		name := fmt.Sprintf("%s-%s-%d", p.name, s[0], replica[key])
		id := hexID(vm.ID, name)
		veth := "veth" + hexID("veth", vm.ID, name)[:7]
		vethIndex := 10 + 2*i
		peerIndex := vethIndex - 1 // the container's eth0, as Docker numbers it
		addr := fmt.Sprintf("172.17.%d.%d", (i+2)/256, (i+2)%256)
		c := probe.Container{
			Engine: "docker", Name: name, ID: id, Image: s[1],
			Compose: key, Network: "bridge",
			PID:   4000 + 37*i,
			NetNS: fmt.Sprintf("net:[%d]", 4026532200+i),
			NICs:  []probe.ContainerNIC{{Name: "eth0", Index: peerIndex, Addrs: []string{addr + "/16"}, VMPeer: veth}},
		}
		inv.Containers = append(inv.Containers, c)
		inv.NICs = append(inv.NICs, probe.NIC{
			Name: veth, Index: vethIndex, PeerIndex: peerIndex, Kind: "veth", State: "up", Master: "docker0",
			MAC: mac(seed, 2+i), ARPType: 1, Addrs: []string{fmt.Sprintf("fe80::%x:%x/64", seed+1, i+2)},
			Containers: []probe.Container{{Engine: c.Engine, Name: c.Name, ID: c.ID, Image: c.Image}},
		})
	}
	return inv
}

func hexID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

func mac(seed, i int) string {
	return fmt.Sprintf("02:42:ac:%02x:%02x:%02x", seed&0xff, (i>>8)&0xff, i&0xff)
}
