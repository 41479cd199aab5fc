package capture

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest/nictest"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// shopInventory is a VM with a compose project, a rootless Podman
// container, a host-network one and the same name in two engines.
func shopInventory() probe.Inventory {
	web := probe.Container{Engine: "docker", Name: "shop-web-1", ID: "aaa1", Image: "docker.io/library/nginx:latest", Compose: "shop/web", Network: "shop_default", PID: 101, NetNS: "net:[4026532201]",
		NICs: []probe.ContainerNIC{{Name: "eth0", Addrs: []string{"172.18.0.2/16", "fe80::42:acff:fe12:2/64"}, VMPeer: "vethab12"}}}
	db := probe.Container{Engine: "docker", Name: "shop-db-1", ID: "bbb2", Image: "postgres:16", Compose: "shop/db", Network: "shop_default", PID: 102, NetNS: "net:[4026532202]",
		NICs: []probe.ContainerNIC{{Name: "eth0", Addrs: []string{"172.18.0.3/16"}, VMPeer: "vethcd34"}}}
	return probe.Inventory{
		FetchedAt: time.Now(),
		NICs: []probe.NIC{
			{Name: "lo", Kind: "loopback", Addrs: []string{"127.0.0.1/8"}},
			{Name: "eth0", Kind: "device", Addrs: []string{"192.168.5.15/24"}},
			{Name: "br-5a5a", Kind: "bridge", Addrs: []string{"172.18.0.1/16"}},
			{Name: "vethab12", Kind: "veth", Master: "br-5a5a", Containers: []probe.Container{{Engine: "docker", Name: web.Name, ID: web.ID, Image: web.Image}}},
			{Name: "vethcd34", Kind: "veth", Master: "br-5a5a", Containers: []probe.Container{{Engine: "docker", Name: db.Name, ID: db.ID, Image: db.Image}}},
			{Name: "vethee99", Kind: "veth", Master: "br-5a5a", Containers: []probe.Container{{Engine: "docker", Name: "gone", ID: "zzz9"}}},
		},
		Containers: []probe.Container{
			web, db,
			{Engine: "docker", Name: "agent", ID: "ccc3", Image: "busybox", Network: "host", HostNetwork: true, PID: 103, NetNS: "net:[4026531840]"},
			{Engine: "podman", Rootless: true, Name: "worker", ID: "ddd4", Image: "localhost/app:1", Network: "slirp4netns", PID: 104, NetNS: "net:[4026532204]",
				NICs: []probe.ContainerNIC{{Name: "tap0", Addrs: []string{"10.0.2.100/24"}}}},
			{Engine: "docker", Name: "cache", ID: "eee5", Image: "redis", PID: 105, NetNS: "net:[4026532205]"},
			{Engine: "podman", Name: "cache", ID: "fff6", Image: "redis", PID: 106, NetNS: "net:[4026532206]"},
		},
	}
}

func TestContainerInterfaceIDs(t *testing.T) {
	inv := shopInventory()
	var got []string
	for _, e := range containerEntries("vmdump_lima_default", inv) {
		got = append(got, e.id)
		rest, ok := strings.CutPrefix(e.id, "vmdump_lima_default"+containerIDSep)
		if !ok || strings.Contains(rest, "__") || strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("id %q is not the VM's id, %q and [a-z0-9_] without __", e.id, containerIDSep)
		}
	}
	want := []string{
		"vmdump_lima_default__c__shop_web_1",
		"vmdump_lima_default__c__shop_db_1",
		"vmdump_lima_default__c__agent",
		"vmdump_lima_default__c__worker",
		"vmdump_lima_default__c__cache_docker", // the same name in two engines
		"vmdump_lima_default__c__cache_podman",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ids\n got %q\nwant %q", got, want)
	}
	// A container's id does not change when it is re-created: it follows
	// the name, not the engine's id or PID.
	inv2 := shopInventory()
	inv2.Containers[0].ID, inv2.Containers[0].PID = "new1", 999
	if e := containerEntries("vmdump_lima_default", inv2); e[0].id != want[0] {
		t.Errorf("re-created container's id %q, want %q", e[0].id, want[0])
	}
	// Names that sanitise alike are told apart by a hash.
	clash := probe.Inventory{Containers: []probe.Container{{Engine: "docker", Name: "a.b", ID: "1"}, {Engine: "docker", Name: "a-b", ID: "2"}, {Engine: "docker", Name: "$(rm -rf /)\n", ID: "3"}}}
	ids := map[string]bool{}
	for _, e := range containerEntries("vm", clash) {
		ids[e.id] = true
	}
	if len(ids) != 3 {
		t.Errorf("clashing names gave ids %v", ids)
	}
	if !ids["vm__c__rm_rf"] {
		t.Errorf("hostile name not sanitised: %v", ids)
	}
}

func TestContainerTargetsListed(t *testing.T) {
	env := nictest.Env(t)
	vms := nictest.VMs()
	if err := probe.SaveInventory(env, "vmdump_b2d_default", shopInventory()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range Targets(env, vms) {
		if strings.HasPrefix(tg.ID, "vmdump_b2d_default") {
			got = append(got, tg.ID+" | "+tg.Display)
		}
	}
	want := []string{
		"vmdump_b2d_default | Docker VM default (boot2docker, running)",
		"vmdump_b2d_default__lo | default: lo (loopback)",
		"vmdump_b2d_default__eth0 | default: eth0",
		"vmdump_b2d_default__br_5a5a | default: br-5a5a (bridge)",
		// the veths of listed containers are left out; one whose container
		// the inventory does not list stays
		"vmdump_b2d_default__vethee99 | default: vethee99 — container gone",
		"vmdump_b2d_default__c__shop_web_1 | default: container shop-web-1 (nginx, compose shop/web)",
		"vmdump_b2d_default__c__shop_db_1 | default: container shop-db-1 (postgres:16, compose shop/db)",
		"vmdump_b2d_default__c__agent | default: container agent (busybox, host network)",
		"vmdump_b2d_default__c__worker | default: container worker (localhost/app:1, rootless podman)",
		"vmdump_b2d_default__c__cache_docker | default: container cache (redis)",
		"vmdump_b2d_default__c__cache_podman | default: container cache (redis)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("interfaces\n got %q\nwant %q", got, want)
	}
	// Each listed container resolves to its engine and name.
	for _, tg := range Targets(env, vms) {
		r, ok := Resolve(env, vms, tg.ID)
		if !ok {
			t.Errorf("%s not resolved", tg.ID)
			continue
		}
		if isC := strings.Contains(tg.ID, containerIDSep); isC != (r.Container != nil) {
			t.Errorf("%s resolved to container %v", tg.ID, r.Container)
		} else if isC && !strings.Contains(tg.Display, "container "+r.Container.Name+" ") {
			t.Errorf("%s (%s) resolved to %+v", tg.ID, tg.Display, *r.Container)
		}
	}
	r, _ := Resolve(env, vms, "vmdump_b2d_default__c__worker")
	if r.Container == nil || *r.Container != (probe.ContainerRef{Engine: "podman", Rootless: true, Name: "worker"}) || r.NIC != "" {
		t.Errorf("worker resolved to %+v", r)
	}
	if _, ok := Resolve(env, vms, "vmdump_b2d_default__c__nosuch"); ok {
		t.Error("an unknown container resolved")
	}
}

// Above maxListedContainers a VM's containers are not listed one by one
// (Wireshark would run vmdump once per interface at every refresh); the
// VM's interface says how many there are and where to choose them.
func TestContainerTargetsCapped(t *testing.T) {
	env := nictest.Env(t)
	vms := nictest.VMs()
	inv := probe.Inventory{FetchedAt: time.Now(), NICs: []probe.NIC{{Name: "eth0"}}}
	for i := range 300 {
		name := fmt.Sprintf("svc-%03d", i)
		inv.Containers = append(inv.Containers, probe.Container{Engine: "docker", Name: name, ID: fmt.Sprint(i)})
		inv.NICs = append(inv.NICs, probe.NIC{Name: fmt.Sprintf("veth%03d", i), Kind: "veth", Containers: []probe.Container{{Engine: "docker", Name: name, ID: fmt.Sprint(i)}}})
	}
	if err := probe.SaveInventory(env, "vmdump_b2d_default", inv); err != nil {
		t.Fatal(err)
	}
	n, vmDisplay := 0, ""
	for _, tg := range Targets(env, vms) {
		if strings.HasPrefix(tg.ID, "vmdump_b2d_default") {
			n++
			if tg.ID == "vmdump_b2d_default" {
				vmDisplay = tg.Display
			}
			if strings.Contains(tg.ID, containerIDSep) {
				t.Errorf("container listed above the cap: %s", tg.ID)
			}
		}
	}
	if !strings.Contains(vmDisplay, "300 containers: choose one in the interface's options (Container)") {
		t.Errorf("VM display %q does not say where the containers are", vmDisplay)
	}
	if n != 1+1 {
		t.Errorf("%d interfaces for the VM, want the VM and its eth0: the containers' veths stand behind the Container selector", n)
	}
	// Every container is still reachable by the selector's value.
	ref, err := ContainerByChoice(env, vms[0], "svc-299")
	if err != nil || ref.Name != "svc-299" || ref.Engine != "docker" {
		t.Errorf("ContainerByChoice = %+v, %v", ref, err)
	}
	if _, err := ContainerByChoice(env, vms[0], "svc-300"); err == nil || !strings.Contains(err.Error(), "Reload") {
		t.Errorf("unknown choice: %v", err)
	}
}

func TestContainerChoice(t *testing.T) {
	inv := shopInventory()
	var got []string
	for _, c := range inv.Containers {
		got = append(got, ContainerChoice(inv, c))
	}
	want := []string{"shop-web-1", "shop-db-1", "agent", "worker", "docker/cache", "podman/cache"}
	if !slices.Equal(got, want) {
		t.Errorf("choices %q, want %q", got, want)
	}
}

func TestCaptureNames(t *testing.T) {
	inv := shopInventory()
	// The web container was re-created with a new address since the
	// inventory: the fresh view wins.
	fresh := inv.Containers[0]
	fresh.NICs = []probe.ContainerNIC{{Name: "eth0", Addrs: []string{"172.18.0.9/16"}}}
	got := map[string]string{}
	for _, n := range captureNames("lab", inv, fresh) {
		if len(n.Names) != 1 {
			t.Errorf("%s has names %q", n.Addr, n.Names)
		}
		got[n.Addr.String()] = n.Names[0]
	}
	want := map[string]string{
		"172.18.0.9":   "shop-web-1",
		"172.18.0.2":   "shop-web-1", // the inventory's older address: still its last known owner
		"172.18.0.3":   "shop-db-1",
		"10.0.2.100":   "worker",
		"192.168.5.15": "lab",
		"172.18.0.1":   "lab",
	}
	for a, n := range want {
		if got[a] != n {
			t.Errorf("%s named %q, want %q", a, got[a], n)
		}
	}
	for a := range got {
		ip := netip.MustParseAddr(a)
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			t.Errorf("%s named: loopback and link-local addresses are every namespace's", a)
		}
	}
	if len(got) != len(want) {
		t.Errorf("names %v, want %v", got, want)
	}
	// The records are valid pcapng: tshark reads them (pcapng's own tests);
	// here, that they encode.
	var b strings.Builder
	w := pcapng.NewWriter(&b, "test")
	if err := w.Begin("Linux"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteNames(captureNames("lab", inv)); err != nil {
		t.Fatal(err)
	}
}

// What a container's capture takes inside its namespace when the user
// named nothing: its one interface (the same packets as its veth), or
// everything ("any") when it has several or shares its namespace (a pod's
// containers talk over loopback); the user's names win.
func TestContainerSpecs(t *testing.T) {
	one := []probe.ContainerNIC{{Name: "eth0"}}
	two := []probe.ContainerNIC{{Name: "eth0"}, {Name: "eth1"}}
	for _, tc := range []struct {
		name   string
		c      probe.Container
		nics   []string
		choose bool
		want   []string
	}{
		{"bridge", probe.Container{NICs: one}, nil, true, []string{"eth0"}},
		{"rootless tap0", probe.Container{NICs: []probe.ContainerNIC{{Name: "tap0"}}}, nil, true, []string{"tap0"}},
		{"two networks", probe.Container{NICs: two}, nil, true, []string{"any"}},
		{"no interface known", probe.Container{}, nil, true, []string{"any"}},
		{"pod", probe.Container{Pod: "default/web-0", NICs: one}, nil, true, []string{"any"}},
		{"container network", probe.Container{Network: "container:abc", NICs: one}, nil, true, []string{"any"}},
		{"named by the user", probe.Container{NICs: two}, []string{"eth1", "lo"}, false, []string{"eth1", "lo"}},
	} {
		tc.c.PID, tc.c.NetNS = 42, "net:[4026532201]"
		s := &session{Options: Options{NICs: tc.nics, ChooseNIC: tc.choose, PayloadOnly: true}}
		specs, why := s.containerSpecs(context.Background(), tc.c, probe.Probe{}, nil)
		if !slices.Equal(specNames(specs), tc.want) || why == "" {
			t.Errorf("%s: %q (%s), want %q", tc.name, specNames(specs), why, tc.want)
		}
		for _, sp := range specs {
			if sp.Netns.PID != 42 || sp.Netns.Link != "net:[4026532201]" || sp.Filter == "" {
				t.Errorf("%s: spec %+v lacks the container's namespace or the payload filter", tc.name, sp)
			}
		}
	}
}

// list_interfaces in config.toml shortens Wireshark's list (each listed
// interface costs a run of vmdump at every Wireshark start): "containers"
// leaves the NICs to the VM's dialog, "vms" the containers too.
func TestListInterfacesSetting(t *testing.T) {
	env := nictest.Env(t)
	vms := nictest.VMs()
	if err := probe.SaveInventory(env, "vmdump_b2d_default", shopInventory()); err != nil {
		t.Fatal(err)
	}
	list := func(setting string) (nics, containers int, vmDisplay string) {
		cfg := env.ConfigFile()
		if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, []byte(setting+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tg := range Targets(env, vms) {
			switch {
			case tg.ID == "vmdump_b2d_default":
				vmDisplay = tg.Display
			case strings.Contains(tg.ID, containerIDSep):
				containers++
			case strings.HasPrefix(tg.ID, "vmdump_b2d_default__"):
				nics++
			}
		}
		return
	}
	for _, tc := range []struct {
		setting          string
		nics, containers int
		note             bool
	}{
		{``, 4, 6, false},
		{`list_interfaces = "all"`, 4, 6, false},
		{`list_interfaces = "containers"`, 0, 6, false},
		{`list_interfaces = "vms"`, 0, 0, true},
		{`list_interfaces = "bogus"`, 4, 6, false}, // a warning, and the default
	} {
		n, c, d := list(tc.setting)
		if n != tc.nics || c != tc.containers || strings.Contains(d, "6 containers: choose one") != tc.note {
			t.Errorf("%q: %d NICs, %d containers, VM %q; want %d, %d, note %v", tc.setting, n, c, d, tc.nics, tc.containers, tc.note)
		}
	}
}

// A stopped container is asked about every second at first (a restart is
// over within seconds), then every five.
func TestContainerPollBacksOff(t *testing.T) {
	if got := pollAfter(time.Now()); got != containerPoll {
		t.Errorf("just stopped: poll every %v, want %v", got, containerPoll)
	}
	if got := pollAfter(time.Now().Add(-containerPollFastFor - time.Second)); got != containerPollSlow {
		t.Errorf("stopped for long: poll every %v, want %v", got, containerPollSlow)
	}
}
