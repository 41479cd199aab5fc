package probe

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The fixtures in testdata/inventory are real outputs of inventoryCommand on
// one machine (Debian 12, iproute2 6.1.0, busybox 1.35.0, Docker 20.10 with
// two running containers, vmdtest-cli and vmdtest-srv, and a lab veth vmdh1
// whose peer is in another namespace), recorded four ways; see the README
// there. Whatever the source of the interfaces, the same facts must come out.

// fixtureFacts are what every recording of that machine says.
var fixtureFacts = struct {
	nics       map[string]NIC // by name, without Containers
	containers map[string]string
}{
	nics: map[string]NIC{
		"lo":          {Name: "lo", Index: 1, Kind: "loopback", ARPType: 772},
		"eth0":        {Name: "eth0", Index: 4, State: "up", ARPType: 1, MAC: "02:fc:00:00:00:01"},
		"docker0":     {Name: "docker0", Index: 5, Kind: "bridge", State: "up", ARPType: 1, MAC: "02:42:dd:22:79:68"},
		"vmdh1":       {Name: "vmdh1", Index: 744, PeerIndex: 2, Kind: "veth", State: "up", ARPType: 1},
		"vethf428d20": {Name: "vethf428d20", Index: 746, PeerIndex: 745, Kind: "veth", State: "up", Master: "docker0", ARPType: 1},
		"veth0a79e59": {Name: "veth0a79e59", Index: 748, PeerIndex: 747, Kind: "veth", State: "up", Master: "docker0", ARPType: 1},
	},
	// veth → the container behind it
	containers: map[string]string{"vethf428d20": "vmdtest-srv", "veth0a79e59": "vmdtest-cli"},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "inventory", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseInventoryRecordedOutputs(t *testing.T) {
	for _, tc := range []struct {
		file      string
		ip        string
		ipVersion string
		// Only sysfs knows that eth0 has a device behind it; ip's
		// JSON and text call it virtual.
		eth0Kind string
	}{
		{"debian12-iproute2-sysfs-docker.txt", "/usr/sbin/ip", "iproute2 6.1.0", "device"},
		{"busybox-ash-sysfs-docker.txt", "ip", "busybox 1.35.0", "device"},
		{"debian12-iproute2-json-nosysfs-docker.txt", "/usr/sbin/ip", "iproute2 6.1.0", "virtual"},
		{"busybox-ip-nosysfs-docker.txt", "ip", "busybox 1.35.0", "virtual"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			inv, err := ParseInventory(readFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if inv.Partial || len(inv.Notes) != 0 {
				t.Errorf("partial %v, notes %q", inv.Partial, inv.Notes)
			}
			if inv.UID != 0 || !inv.Privileged || inv.OSID != "debian" || inv.Hostname != "vm" || !strings.HasPrefix(inv.Kernel, "Linux ") {
				t.Errorf("system facts: uid %d privileged %v os %q host %q kernel %q", inv.UID, inv.Privileged, inv.OSID, inv.Hostname, inv.Kernel)
			}
			wantTools := Tools{Tcpdump: "/usr/bin/tcpdump", TcpdumpVersion: "4.99.3", LibpcapVersion: "1.10.3", ImmediateMode: true,
				IP: tc.ip, IPVersion: tc.ipVersion, PackageManagers: []string{"apt-get"}}
			if !reflect.DeepEqual(inv.Tools, wantTools) {
				t.Errorf("tools\n got %+v\nwant %+v", inv.Tools, wantTools)
			}
			if want := []Engine{{Name: "docker", Path: "/usr/local/bin/docker", Containers: 2}}; !reflect.DeepEqual(inv.Engines, want) {
				t.Errorf("engines %+v, want %+v", inv.Engines, want)
			}
			for name, want := range fixtureFacts.nics {
				got, ok := inv.NIC(name)
				if !ok {
					t.Errorf("no NIC %s in %v", name, inv.NICNames())
					continue
				}
				if name == "eth0" {
					want.Kind = tc.eth0Kind
				}
				if name == "lo" {
					// sysfs and iproute2 say "unknown"; busybox's flags say up.
					if got.State != "unknown" && got.State != "up" {
						t.Errorf("lo state %q", got.State)
					}
					got.State = ""
				}
				if want.MAC == "" {
					got.MAC = ""
				}
				ctrs := got.Containers
				got.Containers = nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("NIC %s\n got %+v\nwant %+v", name, got, want)
				}
				wantCtr, isCtr := fixtureFacts.containers[name]
				switch {
				case !isCtr && len(ctrs) != 0:
					t.Errorf("NIC %s has containers %+v", name, ctrs)
				case isCtr && (len(ctrs) != 1 || ctrs[0].Name != wantCtr || ctrs[0].Engine != "docker" || len(ctrs[0].ID) != 64 || !strings.HasPrefix(ctrs[0].Image, "sha256:")):
					t.Errorf("NIC %s containers %+v, want %s", name, ctrs, wantCtr)
				}
			}
			if len(inv.NICs) != 8 {
				t.Errorf("%d NICs %v, want 8", len(inv.NICs), inv.NICNames())
			}
		})
	}
}

// The lab VM (internal/lab) over SSH: a non-root user with passwordless
// sudo and busybox ash as login shell, which also runs the script with
// busybox's own applets; the VM's namespace sees the host's Docker engine,
// which then ran no container.
func TestParseInventoryRecordedLabVM(t *testing.T) {
	inv, err := ParseInventory(readFixture(t, "lab-busybox-ash-sudo-nonroot.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if inv.UID != 1002 || !inv.SudoNoPassword || !inv.Privileged || inv.Partial || len(inv.Notes) != 0 {
		t.Errorf("uid %d sudo %v privileged %v partial %v notes %q", inv.UID, inv.SudoNoPassword, inv.Privileged, inv.Partial, inv.Notes)
	}
	if inv.Tools.IP != "ip" || inv.Tools.IPVersion != "busybox 1.35.0" {
		t.Errorf("tools %+v", inv.Tools)
	}
	want := []NIC{
		{Name: "docker0", Index: 3, Kind: "bridge", State: "unknown", MAC: "9e:e5:a2:a0:44:66", ARPType: 1},
		{Name: "eth1", Index: 2, PeerIndex: 913, Kind: "veth", State: "up", MAC: "76:6f:2a:50:c5:47", ARPType: 1},
		{Name: "lo", Index: 1, Kind: "loopback", State: "unknown", MAC: "00:00:00:00:00:00", ARPType: 772},
		{Name: "veth12ea65b", Index: 5, PeerIndex: 2, Kind: "veth", State: "up", Master: "docker0", MAC: "b2:8b:74:85:ba:82", ARPType: 1},
		{Name: "veth396b9ae", Index: 4, PeerIndex: 2, Kind: "veth", State: "up", Master: "docker0", MAC: "9e:e5:a2:a0:44:66", ARPType: 1},
	}
	if !reflect.DeepEqual(inv.NICs, want) {
		t.Errorf("NICs\n got %+v\nwant %+v", inv.NICs, want)
	}
	// sudo docker listed (no containers); the user alone may not.
	if want := []Engine{{Name: "docker", Path: "/usr/local/bin/docker"}}; !reflect.DeepEqual(inv.Engines, want) {
		t.Errorf("engines %+v", inv.Engines)
	}
}

// The same machine recorded again with the script that also prints
// addresses and default routes (README: the *-addrs.txt files), by
// iproute2 and busybox, from sysfs and from ip's text. Docker ran no
// container then; SSH_CONNECTION named eth0's address.
func TestParseInventoryRecordedAddrs(t *testing.T) {
	want := map[string][]string{
		"lo":      {"127.0.0.1/8", "::1/128"},
		"eth0":    {"192.0.2.2/24", "fd00::2/64", "fe80::fc:ff:fe00:1/64"},
		"docker0": {"172.17.0.1/16", "fe80::42:90ff:fe75:1fac/64"},
		"vmdh1":   {"10.231.1.1/30"},
		"ifb0":    nil,
	}
	for _, file := range []string{"debian12-iproute2-sysfs-addrs.txt", "busybox-ash-sysfs-addrs.txt", "busybox-ip-nosysfs-addrs.txt"} {
		t.Run(file, func(t *testing.T) {
			inv, err := ParseInventory(readFixture(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if inv.DefaultRoute != "eth0" || inv.Partial {
				t.Errorf("default route %q, partial %v", inv.DefaultRoute, inv.Partial)
			}
			for name, addrs := range want {
				n, ok := inv.NIC(name)
				if !ok || !slices.Equal(n.Addrs, addrs) {
					t.Errorf("%s (found %v): addrs %q, want %q", name, ok, n.Addrs, addrs)
				}
			}
		})
	}
	// The older recordings have neither.
	inv, err := ParseInventory(readFixture(t, "debian12-iproute2-sysfs-docker.txt"))
	if err != nil || inv.DefaultRoute != "" || slices.ContainsFunc(inv.NICs, func(n NIC) bool { return n.Addrs != nil }) {
		t.Errorf("old recording: %v, route %q, NICs %+v", err, inv.DefaultRoute, inv.NICs)
	}
}

// inventoryOutput wraps inventory lines into a whole probe + inventory output.
func inventoryOutput(uid string, lines ...string) string {
	return "vmdump-probe=1\nuid=" + uid + "\nend=1\ninv.v=1\n" + strings.Join(lines, "\n") + "\n"
}

func TestParseInventoryCases(t *testing.T) {
	veth := "inv.nic=name=veth1 index=10 iflink=9 type=1 state=up mac=aa:bb:cc:dd:ee:01 master=docker0 kind= devtype= device=0 lower="
	veth2 := "inv.nic=name=veth2 index=12 iflink=11 type=1 state=up mac=aa:bb:cc:dd:ee:02 master=docker0 kind= devtype= device=0 lower="
	bridge := "inv.nic=name=docker0 index=3 iflink=3 type=1 state=up mac=aa:bb:cc:dd:ee:00 master= kind=bridge devtype=bridge device=0 lower=1"
	for _, tc := range []struct {
		name    string
		out     string
		wantErr string
		check   func(t *testing.T, inv Inventory)
	}{
		{
			name: "two containers sharing one namespace are both on its veth",
			out: inventoryOutput("0", "inv.priv=1", bridge, veth, "inv.nics.end=1",
				"inv.engine=docker /usr/bin/docker", "inv.eps=docker root 0 ",
				"inv.ctr=docker root 100 /app 1111 nginx:latest", "inv.ctr=docker root 101 /sidecar 2222 docker.io/library/envoy",
				"inv.hostns=net:[1]", "inv.ctrns=100 net:[7]", "inv.ctrns=101 net:[7]",
				"inv.ctrif=100 eth0 9 10", "inv.ctrif=101 eth0 9 10", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				n, _ := inv.NIC("veth1")
				if len(n.Containers) != 2 || n.Containers[0].Name != "app" || n.Containers[1].Name != "sidecar" {
					t.Fatalf("containers %+v", n.Containers)
				}
				if d := n.Describe(); d != "veth1 — containers app (nginx), sidecar (envoy)" {
					t.Errorf("describe %q", d)
				}
			},
		},
		{
			name: "host-network container matches nothing even if an index fits",
			out: inventoryOutput("0", "inv.priv=1", bridge, veth, "inv.nics.end=1",
				"inv.engine=docker /usr/bin/docker", "inv.eps=docker root 0 ",
				"inv.ctr=docker root 100 /hostnet 1111 busybox",
				"inv.hostns=net:[1]", "inv.ctrns=100 net:[1]", "inv.ctrif=100 veth1 10 9", "inv.ctrif=100 fake 9 10", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				for _, n := range inv.NICs {
					if len(n.Containers) != 0 {
						t.Errorf("%s got %+v", n.Name, n.Containers)
					}
				}
			},
		},
		{
			name: "an index that points back elsewhere is not a pair",
			out: inventoryOutput("0", "inv.priv=1", veth, veth2, "inv.nics.end=1",
				"inv.engine=docker /usr/bin/docker", "inv.eps=docker root 0 ",
				"inv.ctr=docker root 100 /a 1111 x", "inv.ctrns=100 net:[5]", "inv.hostns=net:[1]",
				// its eth0 (index 11) claims veth1 (10), but veth1's peer is 9
				"inv.ctrif=100 eth0 11 10", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				for _, n := range inv.NICs {
					if len(n.Containers) != 0 {
						t.Errorf("%s got %+v", n.Name, n.Containers)
					}
				}
			},
		},
		{
			name: "container without sysfs: ip inside its namespace",
			out: inventoryOutput("0", "inv.priv=1", bridge, veth, "inv.nics.end=1",
				"inv.engine=podman /usr/bin/podman", "inv.eps=podman root 0 ",
				"inv.ctr=podman root 300 web 3333 quay.io/x/web:1",
				"inv.ctrip=300 1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
				"inv.ctrip=300 9: eth0@if10: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 6e:97:72:5a:e6:92 brd ff:ff:ff:ff:ff:ff link-netnsid 0",
				"inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				n, _ := inv.NIC("veth1")
				if len(n.Containers) != 1 || !reflect.DeepEqual(n.Containers[0], Container{Engine: "podman", Name: "web", ID: "3333", Image: "quay.io/x/web:1"}) {
					t.Fatalf("containers %+v", n.Containers)
				}
			},
		},
		{
			name: "rootless docker as the user",
			out: inventoryOutput("501", "inv.priv=1", "inv.nic=name=eth0 index=2 iflink=2 type=1 state=up mac=x master= kind= devtype= device=1 lower=", "inv.nics.end=1",
				"inv.sock=/run/user/501/docker.sock", "inv.proc=rootlesskit",
				"inv.engine=docker /usr/bin/docker",
				"inv.einfo=docker root Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
				"inv.eps=docker root 1 Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
				"inv.einfo=docker user [name=seccomp,profile=default name=rootless name=cgroupns]",
				"inv.eps=docker user 0 ", "inv.ctr=docker user 4242 /web 5555 nginx", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				if len(inv.Engines) != 1 || !inv.Engines[0].Rootless || inv.Engines[0].Containers != 1 || inv.Engines[0].Error != "" {
					t.Fatalf("engines %+v", inv.Engines)
				}
				if len(inv.Notes) != 1 || !strings.HasPrefix(inv.Notes[0], "rootless Docker: its running container has its network outside the VM's namespace") {
					t.Fatalf("notes %q", inv.Notes)
				}
				if n, _ := inv.NIC("eth0"); len(n.Containers) != 0 {
					t.Errorf("rootless container matched: %+v", n)
				}
			},
		},
		{
			name: "rootless podman, no sudo",
			out: inventoryOutput("1000", "inv.priv=0", "inv.nic=name=eth0 index=2 iflink=2 type=1 state=up mac=x master= kind= devtype= device=1 lower=", "inv.nics.end=1",
				"inv.proc=conmon", "inv.proc=pasta",
				"inv.engine=podman /usr/bin/podman", "inv.eps=podman user 0 ",
				"inv.ctr=podman user 77 db 6666 docker.io/library/postgres:16", "inv.ctr=podman user 78 web 7777 docker.io/library/nginx", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				if len(inv.Engines) != 1 || !inv.Engines[0].Rootless || inv.Engines[0].Containers != 2 {
					t.Fatalf("engines %+v", inv.Engines)
				}
				if len(inv.Notes) != 1 || !strings.Contains(inv.Notes[0], "rootless Podman: its 2 running containers") {
					t.Fatalf("notes %q", inv.Notes)
				}
			},
		},
		{
			name: "lima's rootless containerd, found only by its process",
			out: inventoryOutput("501", "inv.priv=1", "inv.nic=name=eth0 index=2 iflink=2 type=1 state=up mac=x master= kind= devtype= device=1 lower=", "inv.nics.end=1",
				"inv.sock=/run/user/501/containerd-rootless", "inv.proc=containerd", "inv.proc=rootlesskit", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				if len(inv.Notes) != 1 || !strings.Contains(inv.Notes[0], "rootless container engine runs (rootlesskit)") {
					t.Fatalf("notes %q", inv.Notes)
				}
			},
		},
		{
			name: "docker group user without sudo: containers known, not matched",
			out: inventoryOutput("1000", "inv.priv=0", bridge, veth, "inv.nics.end=1",
				"inv.engine=docker /usr/bin/docker", "inv.einfo=docker user [name=seccomp,profile=default]",
				"inv.eps=docker user 0 ", "inv.ctr=docker user 100 /web 1111 nginx", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				if inv.Engines[0].Rootless || inv.Engines[0].Containers != 1 {
					t.Fatalf("engines %+v", inv.Engines)
				}
				if len(inv.Notes) != 1 || !strings.Contains(inv.Notes[0], "needs root or passwordless sudo") {
					t.Fatalf("notes %q", inv.Notes)
				}
			},
		},
		{
			name: "engine that cannot list",
			out: inventoryOutput("0", "inv.priv=1", "inv.nics.end=1", "inv.engine=docker /usr/bin/docker",
				"inv.eps=docker root 1 Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				if len(inv.Engines) != 1 || !strings.HasPrefix(inv.Engines[0].Error, "Cannot connect") {
					t.Fatalf("engines %+v", inv.Engines)
				}
			},
		},
		{
			name: "engines cut short: partial",
			out:  inventoryOutput("0", "inv.priv=1", bridge, "inv.nics.end=1", "inv.engine=docker /usr/bin/docker"),
			check: func(t *testing.T, inv Inventory) {
				if !inv.Partial || len(inv.NICs) != 1 || len(inv.Notes) != 1 || !strings.Contains(inv.Notes[0], "did not answer in time") {
					t.Fatalf("%+v", inv)
				}
			},
		},
		{
			name: "ip text: @NONE, @ifN, a same-namespace peer by name, vlan on a lower device",
			out: inventoryOutput("0", "inv.priv=1",
				"inv.iplink=1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
				"inv.iplink=2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff",
				"inv.iplink=3: tunl0@NONE: <NOARP> mtu 1480 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/ipip 0.0.0.0 brd 0.0.0.0",
				"inv.iplink=4: vA@vB: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/ether 1a:2b:3c:4d:5e:6f brd ff:ff:ff:ff:ff:ff",
				"inv.iplink=5: vB@vA: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/ether 1a:2b:3c:4d:5e:70 brd ff:ff:ff:ff:ff:ff",
				"inv.iplink=not an interface line",
				"inv.nics.end=1", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				want := []NIC{
					{Name: "lo", Index: 1, Kind: "loopback", State: "unknown", MAC: "00:00:00:00:00:00", ARPType: 772},
					{Name: "eth0", Index: 2, Kind: "virtual", State: "up", MAC: "52:54:00:12:34:56", ARPType: 1},
					{Name: "tunl0", Index: 3, Kind: "virtual", State: "down", MAC: "0.0.0.0", ARPType: 768},
					{Name: "vA", Index: 4, PeerIndex: 5, Kind: "veth", State: "down", MAC: "1a:2b:3c:4d:5e:6f", ARPType: 1},
					{Name: "vB", Index: 5, PeerIndex: 4, Kind: "veth", State: "down", MAC: "1a:2b:3c:4d:5e:70", ARPType: 1},
				}
				if !reflect.DeepEqual(inv.NICs, want) {
					t.Errorf("got  %+v\nwant %+v", inv.NICs, want)
				}
			},
		},
		{
			name: "iproute2 json: same-namespace peer by name, master, kinds",
			out: inventoryOutput("0", "inv.priv=1",
				`inv.ipjson=[{"ifindex":1,"ifname":"lo","operstate":"UNKNOWN","link_type":"loopback","address":"00:00:00:00:00:00"},`+
					`{"ifindex":7,"link":"p2","ifname":"p1","master":"br0","operstate":"UP","link_type":"ether","address":"aa:aa:aa:aa:aa:01","linkinfo":{"info_kind":"veth"}},`+
					`{"ifindex":8,"link":"p1","ifname":"p2","operstate":"UP","link_type":"ether","address":"aa:aa:aa:aa:aa:02","linkinfo":{"info_kind":"veth"}},`+
					`{"ifindex":9,"link":null,"ifname":"br0","operstate":"UP","link_type":"ether","address":"aa:aa:aa:aa:aa:03","linkinfo":{"info_kind":"bridge"}},`+
					`{"ifindex":10,"ifname":"bad name","operstate":"UP"}]`,
				"inv.nics.end=1", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				want := []NIC{
					{Name: "lo", Index: 1, Kind: "loopback", State: "unknown", MAC: "00:00:00:00:00:00", ARPType: 772},
					{Name: "p1", Index: 7, PeerIndex: 8, Kind: "veth", State: "up", Master: "br0", MAC: "aa:aa:aa:aa:aa:01", ARPType: 1},
					{Name: "p2", Index: 8, PeerIndex: 7, Kind: "veth", State: "up", MAC: "aa:aa:aa:aa:aa:02", ARPType: 1},
					{Name: "br0", Index: 9, Kind: "bridge", State: "up", MAC: "aa:aa:aa:aa:aa:03", ARPType: 1},
				}
				if !reflect.DeepEqual(inv.NICs, want) {
					t.Errorf("got  %+v\nwant %+v", inv.NICs, want)
				}
			},
		},
		{
			name: "sysfs kinds: vlan on a lower device, tun, wlan, bond",
			out: inventoryOutput("0", "inv.priv=1",
				"inv.nic=name=eth0.10 index=20 iflink=2 type=1 state=up mac=m master= kind= devtype=vlan device=0 lower=1",
				"inv.nic=name=macv0 index=21 iflink=2 type=1 state=up mac=m master= kind= devtype= device=0 lower=1",
				"inv.nic=name=tun0 index=22 iflink=22 type=65534 state=unknown mac= master= kind=tun devtype= device=0 lower=",
				"inv.nic=name=wlan0 index=23 iflink=23 type=1 state=down mac=m master= kind= devtype=wlan device=1 lower=",
				"inv.nic=name=bond0 index=24 iflink=24 type=1 state=up mac=m master= kind=bond devtype=bond device=0 lower=1",
				"inv.nic=name=../x index=25 iflink=25 type=1 state=up mac=m master= kind= devtype= device=0 lower=",
				"inv.nic=name=eth0.10 index=99 iflink=99 type=1 state=up mac=m master= kind= devtype= device=0 lower=",
				"inv.nics.end=1", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				var got []string
				for _, n := range inv.NICs {
					got = append(got, n.Name+":"+n.Kind)
				}
				want := []string{"eth0.10:vlan", "macv0:virtual", "tun0:tun", "wlan0:wlan", "bond0:bond"}
				if !slices.Equal(got, want) {
					t.Errorf("kinds %v, want %v", got, want)
				}
			},
		},
		{
			name: "addresses: ip's multi-line output, a point-to-point peer, refused values",
			out: inventoryOutput("0", "inv.priv=1",
				"inv.nic=name=eth0 index=2 iflink=2 type=1 state=up mac=m master= kind= devtype= device=1 lower=",
				"inv.nic=name=tun0 index=3 iflink=3 type=65534 state=unknown mac= master= kind=tun devtype= device=0 lower=",
				"inv.addr=2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue qlen 1000",
				"inv.addr=    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff",
				"inv.addr=    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0",
				"inv.addr=       valid_lft forever preferred_lft forever",
				"inv.addr=    inet6 fe80::42:acff:fe11:2/64 scope link ",
				"inv.addr=    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0", // twice: once
				"inv.addr=    inet 10.0.0.300/8 scope global eth0",                     // no address
				"inv.addr=    inet fe80::9/64 scope global eth0",                       // not IPv4
				"inv.addr=    inet6 fe80::9%eth0/64 scope link",                        // a zone
				"inv.addr=    inet6 ::ffff:10.1.1.1/128 scope global",                  // mapped
				"inv.addr=3: tun0    inet 10.8.0.1 peer 10.8.0.2/32 scope global tun0\\       valid_lft forever",
				"inv.addr=9: ghost    inet 10.9.9.9/24 scope global ghost\\       valid_lft forever",
				"inv.addr=10: bad/name    inet 10.7.7.7/24 scope global\\       valid_lft forever",
				"inv.addr=    inet 10.6.6.6/24 scope global", // after a refused header: nobody's
				"inv.nics.end=1", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				eth0, _ := inv.NIC("eth0")
				tun0, _ := inv.NIC("tun0")
				if want := []string{"172.17.0.2/16", "fe80::42:acff:fe11:2/64"}; !slices.Equal(eth0.Addrs, want) {
					t.Errorf("eth0 addrs %q, want %q", eth0.Addrs, want)
				}
				if want := []string{"10.8.0.1/32"}; !slices.Equal(tun0.Addrs, want) {
					t.Errorf("tun0 addrs %q, want %q", tun0.Addrs, want)
				}
				if len(inv.NICs) != 2 {
					t.Errorf("NICs %v", inv.NICNames())
				}
			},
		},
		{
			name: "default routes: the lowest metric, up and not rejecting, of a NIC found; IPv6 only without IPv4",
			out: inventoryOutput("0", "inv.priv=1",
				"inv.nic=name=lo index=1 iflink=1 type=772 state=unknown mac= master= kind= devtype= device=0 lower=",
				"inv.nic=name=eth0 index=2 iflink=2 type=1 state=up mac=m master= kind= devtype= device=1 lower=",
				"inv.nic=name=wlan0 index=3 iflink=3 type=1 state=up mac=m master= kind= devtype=wlan device=1 lower=",
				"inv.nic=name=wg0 index=4 iflink=4 type=65534 state=unknown mac= master= kind= devtype= device=0 lower=",
				"inv.route=wlan0 600 0003",
				"inv.route=eth0 100 0003",
				"inv.route=wg0 50 0001 extra", // not three fields
				"inv.route=wg0 10 0002",       // not up
				"inv.route=wg0 5 0201",        // reject
				"inv.route=ghost 1 0003",      // no such NIC
				"inv.route=lo 2 0001",
				"inv.route=wg0 x 0001",
				"inv.route6=wg0 00000001 00000001",
				"inv.nics.end=1", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				if inv.DefaultRoute != "eth0" {
					t.Errorf("default route %q, want eth0", inv.DefaultRoute)
				}
			},
		},
		{
			name: "default route over IPv6 only: hex metrics",
			out: inventoryOutput("0", "inv.priv=1",
				"inv.nic=name=eth0 index=2 iflink=2 type=1 state=up mac=m master= kind= devtype= device=1 lower=",
				"inv.nic=name=eth1 index=3 iflink=3 type=1 state=up mac=m master= kind= devtype= device=1 lower=",
				"inv.route6=lo ffffffff 00200200",
				"inv.route6=eth0 00000400 00450003",
				"inv.route6=eth1 000000ff 00450003",
				"inv.nics.end=1", "inv.end=1"),
			check: func(t *testing.T, inv Inventory) {
				if inv.DefaultRoute != "eth1" {
					t.Errorf("default route %q, want eth1", inv.DefaultRoute)
				}
			},
		},
		{name: "no inventory after the probe", out: "vmdump-probe=1\nuid=0\nend=1\n", wantErr: "did not run vmdump's inventory"},
		{name: "cut inside the interfaces", out: inventoryOutput("0", bridge), wantErr: "cut short"},
		{name: "probe cut short", out: "vmdump-probe=1\nuid=0\n", wantErr: "cut short"},
		{name: "inventory of an earlier run does not count", out: inventoryOutput("0", "inv.nics.end=1", "inv.end=1") + "vmdump-probe=1\nuid=0\nend=1\n", wantErr: "did not run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := ParseInventory([]byte(tc.out))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, inv)
		})
	}
}

func TestNICDescribe(t *testing.T) {
	for _, tc := range []struct {
		nic  NIC
		want string
	}{
		{NIC{Name: "docker0", Kind: "bridge", State: "up"}, "docker0 (bridge)"},
		{NIC{Name: "br-1a2b3c4d5e6f", Kind: "bridge", State: "down"}, "br-1a2b3c4d5e6f (bridge, down)"},
		{NIC{Name: "lo", Kind: "loopback", State: "unknown"}, "lo (loopback)"},
		{NIC{Name: "eth0", Kind: "device", State: "up"}, "eth0"},
		{NIC{Name: "veth9", Kind: "veth", Master: "docker0"}, "veth9 (veth on docker0)"},
		{NIC{Name: "eth1", Kind: "device", Master: "bond0"}, "eth1 (on bond0)"},
		{NIC{Name: "vethab12", Kind: "veth", Master: "docker0", Containers: []Container{{Name: "web", Image: "docker.io/library/nginx:latest"}}}, "vethab12 — container web (nginx)"},
		{NIC{Name: "vethcd34", Kind: "veth", State: "down", Containers: []Container{{Name: "db", Image: "sha256:8544706cccafe5904fb96ff4bbc3ff8a2858e35c"}}}, "vethcd34 — container db (8544706cccaf), down"},
		{NIC{Name: "veth1", Containers: []Container{{Name: "x", Image: "ghcr.io/o/x@sha256:abcd"}}}, "veth1 — container x (ghcr.io/o/x)"},
	} {
		if got := tc.nic.Describe(); got != tc.want {
			t.Errorf("Describe(%+v) = %q, want %q", tc.nic, got, tc.want)
		}
	}
}

func FuzzParseInventory(f *testing.F) {
	for _, dir := range []string{"inventory", "defaultnic"} {
		entries, _ := os.ReadDir(filepath.Join("testdata", dir))
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".txt") {
				b, err := os.ReadFile(filepath.Join("testdata", dir, e.Name()))
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
			}
		}
	}
	f.Add([]byte(inventoryOutput("0", "inv.nic=name=a index=1 iflink=1", "inv.addr=1: a    inet 10.0.0.1/8 x", "inv.addr=    inet6 ::1",
		"inv.addr=2: b@: <UP>", "inv.route=a 0 0003", "inv.route6=a ffffffff 1", "inv.nics.end=1")))
	f.Add([]byte(inventoryOutput("0", "inv.nic=name=a index=1 iflink=2", "inv.nics.end=1", "inv.ctr=docker root 5 /x y z", "inv.ctrif=5 e 2 1", "inv.end=1")))
	f.Add([]byte(inventoryOutput("0", "inv.iplink=1: a@if1: <UP> x\\ link/ether", "inv.ipjson=[{}]", "inv.nics.end=1")))
	f.Add([]byte(inventoryOutput("0", "inv.priv=1", "inv.nic=name=v index=10 iflink=9", "inv.nics.end=1",
		`inv.ctr=docker root 5 "/a\"b" "id" "img\xff" "p q" "s\n" "ns" "" "bridge" 10.0.0.1/8 ::/0 x`, `inv.ctr=podman user 6 "b" "id2" "" "" "" "" "" "pasta"`,
		"inv.hostns=net:[1]", "inv.ctrns=5 net:[2]", "inv.ctrns=6 net:[1]", "inv.ctrif=5 eth0 9 10 1", "inv.ctrif=5 lo 1 1 772",
		`inv.ctraddr=5 9: eth0    inet 10.0.0.2/8 scope global eth0\       valid_lft forever`, `inv.ctraddr=5 1: lo    inet 127.0.0.1/8 scope host lo`,
		"inv.ctrip=6 3: e@if4: <UP> mtu 1\\    link/ether x", "inv.end=1")))
	f.Add([]byte(inventoryOutput("0", "inv.nics.end=1", "inv.cpod=podman root 0123456789ab p\xff", `inv.ctr=podman root 0 "b" "0123456789ab0" "" "" "" "" "" "host"`, "inv.end=1")))
	f.Add([]byte("inv.v=1\ninv.priv=1\ninv.nics.end=1\ninv.fstatus=1\ninv.ferr=Error: No such container: x\ninv.end=1\n"))
	f.Add([]byte(inventoryOutput("0", "inv.nics.end=1", `inv.ctr=nerdctl root 7 "`+strings.Repeat("\\xff", 300)+`" "i" "" "" "" "" "" ""`, "inv.end=1")))
	f.Fuzz(func(t *testing.T, out []byte) {
		inv, err := ParseInventory(out)
		if err != nil {
			return
		}
		if !strings.Contains(string(out), "inv.nics.end=1") {
			t.Fatal("accepted output without the end of the interfaces")
		}
		seen := map[string]bool{}
		for _, n := range inv.NICs {
			if !validNICName(n.Name) || seen[n.Name] || n.Index <= 0 || n.PeerIndex < 0 {
				t.Fatalf("bad NIC %+v", n)
			}
			seen[n.Name] = true
			if n.Master != "" && !validNICName(n.Master) {
				t.Fatalf("bad master %+v", n)
			}
			if strings.ContainsAny(n.Describe(), "\n\r\x00") {
				t.Fatalf("description %q", n.Describe())
			}
			if len(n.Addrs) > maxNICAddrs {
				t.Fatalf("%d addresses on %s", len(n.Addrs), n.Name)
			}
			for _, a := range n.Addrs {
				if p, err := netip.ParsePrefix(a); err != nil || p.String() != a {
					t.Fatalf("bad address %q on %s", a, n.Name)
				}
			}
			for _, c := range n.Containers {
				if c.Name == "" || c.ID == "" || len(c.Name) > maxInventoryText || strings.ContainsAny(c.Name+c.Image, "\n\r\x00") {
					t.Fatalf("bad container %+v", c)
				}
			}
		}
		if len(inv.NICs) > maxInventoryNICs {
			t.Fatalf("%d NICs", len(inv.NICs))
		}
		if r := inv.DefaultRoute; r != "" {
			if n, ok := inv.NIC(r); !ok || n.Kind == "loopback" {
				t.Fatalf("default route %q is no NIC of %v", r, inv.NICNames())
			}
		}
		checkContainers(t, &inv, inv.Containers)
		for _, ref := range []ContainerRef{{Engine: "docker", Name: "a\"b"}, {Engine: "podman", Name: "b", Rootless: true}} {
			if c, running, err := parseFind(out, ref); err == nil && c.ID != "" {
				if c.Name != ref.Name || c.Rootless != ref.Rootless || running != (c.PID > 0) {
					t.Fatalf("FindContainer(%+v) gave %+v, running %v", ref, c, running)
				}
				checkContainers(t, nil, []Container{c})
			}
		}
		p, _ := ParseProbe(out)
		for _, usual := range []string{"", "eth1"} {
			name, why := DefaultNIC(p, inv, usual)
			if _, ok := inv.NIC(name); name != "" && !ok && name != usual && !slices.Contains(p.Interfaces, name) {
				t.Fatalf("DefaultNIC chose %q, not a NIC of %v", name, inv.NICNames())
			}
			if why == "" || strings.ContainsAny(why, "\n\r\x00") {
				t.Fatalf("DefaultNIC why %q", why)
			}
		}
	})
}
