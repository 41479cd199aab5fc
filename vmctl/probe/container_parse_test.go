package probe

import (
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParseInventoryContainersRecorded reads a real inventory (Docker
// 20.10, README): a bridge container with compose labels whose project
// holds quotes and "$(x)", a --network host one and a --network none one.
func TestParseInventoryContainersRecorded(t *testing.T) {
	inv, err := ParseInventory(readFixture(t, "docker20-ctrs-bridge-host-none.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Partial || len(inv.Notes) != 0 {
		t.Errorf("partial %v notes %q", inv.Partial, inv.Notes)
	}
	want := []Container{
		{Engine: "docker", Name: "vmdprobe-dev3", ID: "e3ae3c98f025d95be8fc1fa0c6ab8b5c14b17e93367d4fefd54698d9a1cccfbd", Image: "vmdump-probe-scratch:dev",
			Network: "none", PID: 29448, NetNS: "net:[4026532254]"},
		{Engine: "docker", Name: "vmdprobe-dev2", ID: "6bd6ae949cae3db64d648f3721fec4482b1f5cafc547491355c4df912bd37168", Image: "vmdump-probe-scratch:dev",
			Network: "host", PID: 29389, NetNS: "net:[4026531833]", HostNetwork: true},
		{Engine: "docker", Name: "vmdprobe-dev1", ID: "9dec225302d23a4b1c2304d5595d34804905d1d550c166ec43a9e2b87b265476", Image: "vmdump-probe-scratch:dev",
			Compose: `my "proj" $(x)/web`, Network: "default", PID: 29308, NetNS: "net:[4026532181]",
			NICs:        []ContainerNIC{{Name: "eth0", Index: 14, Addrs: []string{"172.17.0.2/16"}, VMPeer: "veth6e7f0ee"}},
			EngineAddrs: []string{"172.17.0.2/16"}},
	}
	if !reflect.DeepEqual(inv.Containers, want) {
		t.Errorf("containers\n got %+v\nwant %+v", inv.Containers, want)
	}
	// NIC.Containers keeps its four fields.
	n, _ := inv.NIC("veth6e7f0ee")
	if len(n.Containers) != 1 || !reflect.DeepEqual(n.Containers[0], Container{Engine: "docker", Name: "vmdprobe-dev1", ID: want[2].ID, Image: want[2].Image}) {
		t.Errorf("veth6e7f0ee containers %+v", n.Containers)
	}
	if inv.Containers[2].Ref() != (ContainerRef{Engine: "docker", Name: "vmdprobe-dev1"}) {
		t.Errorf("ref %+v", inv.Containers[2].Ref())
	}
}

// ctrQ is one inv.ctr line in the template's form (tmplDocker): the pid,
// the quoted fields, then the bare addresses.
func ctrQ(engine, as string, pid int, vals []string, addrs ...string) string {
	var b strings.Builder
	b.WriteString("inv.ctr=" + engine + " " + as + " " + strconv.Itoa(pid))
	for _, v := range vals {
		b.WriteString(" " + strconv.Quote(v))
	}
	for _, a := range addrs {
		b.WriteString(" " + a)
	}
	return b.String()
}

func TestParseInventoryContainerFormats(t *testing.T) {
	eth0 := "inv.nic=name=eth0 index=2 iflink=2 type=1 state=up mac=m master= kind= devtype= device=1 lower="
	veth := "inv.nic=name=veth1 index=10 iflink=9 type=1 state=up mac=aa:bb:cc:dd:ee:01 master=br-1 kind= devtype= device=0 lower="
	addrLo := func(pid int) string {
		return "inv.ctraddr=" + strconv.Itoa(pid) + ` 1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever`
	}
	long := strings.Repeat("n", 255)
	for _, tc := range []struct {
		name  string
		out   string
		want  []Container
		check func(t *testing.T, inv Inventory)
	}{
		{
			// Docker 28: NetworkMode "bridge", a user network with
			// IPv6, compose labels; a second container sharing its
			// namespace (--network container:<id>).
			name: "docker 28: compose on a user network, one sharing its namespace",
			out: inventoryOutput("0", "inv.priv=1", eth0, veth, "inv.nics.end=1",
				"inv.engine=docker /usr/bin/docker", "inv.einfo=docker root [name=apparmor name=seccomp,profile=builtin name=cgroupns]", "inv.eps=docker root 0 ",
				ctrQ("docker", "root", 4100, []string{"/shop-web-1", "aaaa", "nginx:1.27", "shop", "web", "", "", "shop_default"}, "172.18.0.2/16", "fd00:1::2/64"),
				ctrQ("docker", "root", 4200, []string{"/shop-sidecar-1", "bbbb", "envoy", "shop", "sidecar", "", "", "container:aaaa"}, "/0", "/0"),
				"inv.hostns=net:[1]", "inv.ctrns=4100 net:[7]", "inv.ctrns=4200 net:[7]",
				"inv.ctrif=4100 eth0 9 10 1", "inv.ctrif=4100 lo 1 1 772", addrLo(4100),
				`inv.ctraddr=4100 9: eth0    inet 172.18.0.2/16 brd 172.18.255.255 scope global eth0\       valid_lft forever preferred_lft forever`,
				`inv.ctraddr=4100 9: eth0    inet6 fd00:1::2/64 scope global nodad \       valid_lft forever preferred_lft forever`,
				`inv.ctraddr=4100 9: eth0    inet6 fe80::42:acff:fe12:2/64 scope link \       valid_lft forever preferred_lft forever`,
				"inv.ctrif=4200 eth0 9 10 1", "inv.ctrif=4200 lo 1 1 772", addrLo(4200),
				`inv.ctraddr=4200 9: eth0    inet 172.18.0.2/16 brd 172.18.255.255 scope global eth0\       valid_lft forever preferred_lft forever`,
				"inv.end=1"),
			want: []Container{
				{Engine: "docker", Name: "shop-web-1", ID: "aaaa", Image: "nginx:1.27", Compose: "shop/web", Network: "shop_default", PID: 4100, NetNS: "net:[7]",
					NICs:        []ContainerNIC{{Name: "eth0", Index: 9, Addrs: []string{"172.18.0.2/16", "fd00:1::2/64", "fe80::42:acff:fe12:2/64"}, VMPeer: "veth1"}},
					EngineAddrs: []string{"172.18.0.2/16", "fd00:1::2/64"}},
				{Engine: "docker", Name: "shop-sidecar-1", ID: "bbbb", Image: "envoy", Compose: "shop/sidecar", Network: "container:aaaa", PID: 4200, NetNS: "net:[7]",
					NICs: []ContainerNIC{{Name: "eth0", Index: 9, Addrs: []string{"172.18.0.2/16"}, VMPeer: "veth1"}}},
			},
			check: func(t *testing.T, inv Inventory) {
				if n, _ := inv.NIC("veth1"); len(n.Containers) != 2 {
					t.Errorf("veth1 containers %+v", n.Containers)
				}
			},
		},
		{
			// Podman 4.x, rootless, no sudo: Name without "/",
			// ImageName, slirp4netns and pasta; nsHelper ran as the
			// user (MODE U). The container's eth0 iflink happens to
			// name a VM index: it is another namespace's, no peer.
			name: "podman 4 rootless: slirp4netns, pasta, a pod, never a VM peer",
			out: inventoryOutput("1000", "inv.priv=0", eth0, veth, "inv.nics.end=1",
				"inv.proc=conmon", "inv.proc=slirp4netns",
				"inv.engine=podman /usr/bin/podman", "inv.eps=podman user 0 ",
				ctrQ("podman", "user", 5100, []string{"db", "cccc", "docker.io/library/postgres:16", "", "", "", "", "slirp4netns"}),
				ctrQ("podman", "user", 5200, []string{"api", "dddd", "quay.io/x/api:2", "", "", "team", "api-pod", "pasta"}),
				"inv.hostns=net:[1]", "inv.ctrns=5100 net:[21]", "inv.ctrns=5200 net:[22]",
				"inv.ctrif=5100 tap0 2 2 1", "inv.ctrif=5100 lo 1 1 772", addrLo(5100),
				`inv.ctraddr=5100 2: tap0    inet 10.0.2.100/24 brd 10.0.2.255 scope global tap0\       valid_lft forever preferred_lft forever`,
				"inv.ctrif=5200 eth0 9 10 1",
				`inv.ctraddr=5200 9: eth0    inet 192.168.1.50/24 brd 192.168.1.255 scope global eth0\       valid_lft forever preferred_lft forever`,
				"inv.end=1"),
			want: []Container{
				{Engine: "podman", Name: "db", ID: "cccc", Image: "docker.io/library/postgres:16", Rootless: true, Network: "slirp4netns", PID: 5100, NetNS: "net:[21]",
					NICs: []ContainerNIC{{Name: "tap0", Index: 2, Addrs: []string{"10.0.2.100/24"}}}},
				{Engine: "podman", Name: "api", ID: "dddd", Image: "quay.io/x/api:2", Rootless: true, Pod: "team/api-pod", Network: "pasta", PID: 5200, NetNS: "net:[22]",
					NICs: []ContainerNIC{{Name: "eth0", Index: 9, Addrs: []string{"192.168.1.50/24"}}}},
			},
			check: func(t *testing.T, inv Inventory) {
				if n, _ := inv.NIC("veth1"); len(n.Containers) != 0 {
					t.Errorf("a rootless container on veth1: %+v", n.Containers)
				}
				if len(inv.Notes) != 1 || !strings.HasPrefix(inv.Notes[0], "rootless Podman: its 2 running containers have their network outside the VM's namespace") ||
					strings.Contains(inv.Notes[0], "cannot") {
					t.Errorf("notes %q", inv.Notes)
				}
			},
		},
		{
			// nerdctl (containerd): its template prints no network
			// mode and no addresses; k8s.io pod labels.
			name: "nerdctl: pod labels, no network mode, addresses from nsenter",
			out: inventoryOutput("0", "inv.priv=1", eth0, veth, "inv.nics.end=1",
				"inv.engine=nerdctl /usr/local/bin/nerdctl", "inv.eps=nerdctl root 0 ",
				ctrQ("nerdctl", "root", 6100, []string{"k8s-coredns", "eeee", "registry.k8s.io/coredns/coredns:v1.11.1", "", "", "kube-system", "coredns-5d78c9869d-abcde", ""}),
				"inv.hostns=net:[1]", "inv.ctrns=6100 net:[31]", "inv.ctrif=6100 eth0 9 10 1",
				`inv.ctraddr=6100 9: eth0    inet 10.4.0.7/24 brd 10.4.0.255 scope global eth0\       valid_lft forever preferred_lft forever`,
				"inv.end=1"),
			want: []Container{
				{Engine: "nerdctl", Name: "k8s-coredns", ID: "eeee", Image: "registry.k8s.io/coredns/coredns:v1.11.1", Pod: "kube-system/coredns-5d78c9869d-abcde", PID: 6100, NetNS: "net:[31]",
					NICs: []ContainerNIC{{Name: "eth0", Index: 9, Addrs: []string{"10.4.0.7/24"}, VMPeer: "veth1"}}},
			},
		},
		{
			// A Docker-group user with sudo: docker listed as root
			// and as the user gives each container twice; once kept.
			// No nsenter: the one interface gets the engine's address.
			name: "listed twice, once kept; without ip inside, the engine's addresses",
			out: inventoryOutput("1000", "inv.priv=1", eth0, veth, "inv.nics.end=1",
				"inv.engine=docker /usr/bin/docker", "inv.einfo=docker root [name=seccomp,profile=default]", "inv.eps=docker root 0 ",
				"inv.einfo=docker user [name=seccomp,profile=default]", "inv.eps=docker user 0 ",
				ctrQ("docker", "root", 4100, []string{"/web", "ffff", "nginx", "", "", "", "", "bridge"}, "172.17.0.2/16", "/0"),
				ctrQ("docker", "user", 4100, []string{"/web", "ffff", "nginx", "", "", "", "", "bridge"}, "172.17.0.2/16", "/0"),
				"inv.hostns=net:[1]", "inv.ctrns=4100 net:[7]", "inv.ctrif=4100 eth0 9 10", "inv.ctrns=4100 net:[7]", "inv.ctrif=4100 eth0 9 10",
				"inv.end=1"),
			want: []Container{
				{Engine: "docker", Name: "web", ID: "ffff", Image: "nginx", Network: "bridge", PID: 4100, NetNS: "net:[7]",
					NICs: []ContainerNIC{{Name: "eth0", Index: 9, Addrs: []string{"172.17.0.2/16"}, VMPeer: "veth1"}}, EngineAddrs: []string{"172.17.0.2/16"}},
			},
		},
		{
			// Free-form values as the template's %q prints them:
			// quotes, $(), a newline, invalid UTF-8, a 255-byte
			// name; a NIC seen only in ip addr; a bad address word.
			name: "hostile values stay one clean field each",
			out: inventoryOutput("0", "inv.priv=1", eth0, "inv.nics.end=1",
				"inv.engine=docker /usr/bin/docker", "inv.eps=docker root 0 ",
				`inv.ctr=docker root 7100 "/`+long+`" "1234" "img\"; rm -rf /" "a b \"c\" $(id) `+"`x`"+`" "line1\nline2" "\xff\xfens" "pod\x00name" "bridge" 10.1.1.1/8 x;y 999.1.1.1/8 ::/0`,
				"inv.hostns=net:[1]", "inv.ctrns=7100 net:[9]",
				`inv.ctraddr=7100 5: net1    inet 10.9.9.9/24 scope global net1`,
				`inv.ctraddr=7100 1: lo    inet 127.0.0.1/8 scope host lo`,
				"inv.end=1"),
			want: []Container{
				{Engine: "docker", Name: long, ID: "1234", Image: `img"; rm -rf /`, Compose: "a b \"c\" $(id) `x`/line1line2", Pod: "ns/podname", Network: "bridge", PID: 7100, NetNS: "net:[9]",
					NICs: []ContainerNIC{{Name: "net1", Index: 5, Addrs: []string{"10.9.9.9/24"}}}, EngineAddrs: []string{"10.1.1.1/8"}},
			},
		},
		{
			// No sudo: the Docker group user lists the root engine's
			// containers but reaches no namespace of theirs.
			name: "no rights: no namespace, host network from the engine",
			out: inventoryOutput("1000", "inv.priv=0", eth0, "inv.nics.end=1",
				"inv.engine=docker /usr/bin/docker", "inv.einfo=docker user [name=seccomp,profile=default]", "inv.eps=docker user 0 ",
				ctrQ("docker", "user", 4300, []string{"/agent", "a1", "agent", "", "", "", "", "host"}),
				ctrQ("docker", "user", 4400, []string{"/web", "a2", "nginx", "", "", "", "", "bridge"}, "172.17.0.3/16"),
				"inv.end=1"),
			want: []Container{
				{Engine: "docker", Name: "agent", ID: "a1", Image: "agent", Network: "host", PID: 4300, HostNetwork: true},
				{Engine: "docker", Name: "web", ID: "a2", Image: "nginx", Network: "bridge", PID: 4400, EngineAddrs: []string{"172.17.0.3/16"}},
			},
		},
		{
			// A container without /sys: ip link inside its namespace
			// names its interfaces, loopback by its link type.
			name: "no sysfs in the container: ip link and ip addr inside",
			out: inventoryOutput("0", "inv.priv=1", eth0, veth, "inv.nics.end=1",
				"inv.engine=podman /usr/bin/podman", "inv.eps=podman root 0 ",
				ctrQ("podman", "root", 300, []string{"web", "3333", "quay.io/x/web:1", "", "", "", "", "bridge"}, "10.88.0.5/16"),
				"inv.hostns=net:[1]", "inv.ctrns=300 net:[3]",
				"inv.ctrip=300 1: lo0: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
				"inv.ctrip=300 9: eth0@if10: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 6e:97:72:5a:e6:92 brd ff:ff:ff:ff:ff:ff link-netnsid 0",
				`inv.ctraddr=300 1: lo0    inet 127.0.0.1/8 scope host lo0`,
				`inv.ctraddr=300 9: eth0    inet 10.88.0.5/16 brd 10.88.255.255 scope global eth0`,
				"inv.end=1"),
			want: []Container{
				{Engine: "podman", Name: "web", ID: "3333", Image: "quay.io/x/web:1", Network: "bridge", PID: 300, NetNS: "net:[3]",
					NICs: []ContainerNIC{{Name: "eth0", Index: 9, Addrs: []string{"10.88.0.5/16"}, VMPeer: "veth1"}}, EngineAddrs: []string{"10.88.0.5/16"}},
			},
		},
		{
			// Podman's ps names the pod (by short id, per user); the
			// io.kubernetes labels win; another user's list is not it.
			name: "podman pod names from ps",
			out: inventoryOutput("0", "inv.priv=1", eth0, "inv.nics.end=1",
				"inv.engine=podman /usr/bin/podman", "inv.eps=podman root 0 ",
				"inv.cpod=podman root 0123456789ab shop", "inv.cpod=podman user 0123456789ac other", "inv.cpod=podman root 0123456789ad",
				"inv.cpod=podman root xyz bad", "inv.cpod=podman root 0123456789ae k8s-pod",
				ctrQ("podman", "root", 0, []string{"web", "0123456789ab00", "nginx", "", "", "", "", "bridge"}),
				ctrQ("podman", "root", 0, []string{"db", "0123456789ac00", "pg", "", "", "", "", "bridge"}),
				ctrQ("podman", "root", 0, []string{"kube", "0123456789ae00", "k", "", "", "ns", "name", "bridge"}),
				"inv.end=1"),
			want: []Container{
				{Engine: "podman", Name: "web", ID: "0123456789ab00", Image: "nginx", Pod: "shop", Network: "bridge"},
				{Engine: "podman", Name: "db", ID: "0123456789ac00", Image: "pg", Network: "bridge"},
				{Engine: "podman", Name: "kube", ID: "0123456789ae00", Image: "k", Pod: "ns/name", Network: "bridge"},
			},
		},
		{
			name: "refused lines: unterminated quote, no name, bad pid, unknown engine; old format still read",
			out: inventoryOutput("0", "inv.priv=1", eth0, "inv.nics.end=1",
				"inv.engine=docker /usr/bin/docker", "inv.eps=docker root 0 ",
				`inv.ctr=docker root 1 "/open`,
				`inv.ctr=docker root 2 "" "id2" "img"`,
				`inv.ctr=docker root x "/n" "id3" "img"`,
				`inv.ctr=lxc root 4 "/n" "id4" "img"`,
				`inv.ctr=docker root -5 "/n" "id5" "img"`,
				`inv.ctr=docker root 6 /old id6 img extra words`,
				"inv.end=1"),
			want: []Container{{Engine: "docker", Name: "old", ID: "id6", Image: "img", PID: 6}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := ParseInventory([]byte(tc.out))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(inv.Containers, tc.want) {
				t.Errorf("containers\n got %+v\nwant %+v", inv.Containers, tc.want)
			}
			if tc.check != nil {
				tc.check(t, inv)
			}
		})
	}
}

// TestParseFind reads FindContainer's output: recorded (Docker 20.10,
// README) and made up after it.
func TestParseFind(t *testing.T) {
	ref := ContainerRef{Engine: "docker", Name: "vmdprobe-dev1"}
	c, running, err := parseFind(readFixture(t, "find-docker20-running.txt"), ref)
	if err != nil || !running {
		t.Fatalf("running %v err %v", running, err)
	}
	want := Container{Engine: "docker", Name: "vmdprobe-dev1", ID: "9dec225302d23a4b1c2304d5595d34804905d1d550c166ec43a9e2b87b265476", Image: "vmdump-probe-scratch:dev",
		Compose: `my "proj" $(x)/web`, Network: "default", PID: 29308, NetNS: "net:[4026532181]",
		NICs:        []ContainerNIC{{Name: "eth0", Index: 14, Addrs: []string{"172.17.0.2/16"}, VMPeer: "veth6e7f0ee"}},
		EngineAddrs: []string{"172.17.0.2/16"}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if c, running, err := parseFind(readFixture(t, "find-docker20-nosuch.txt"), ContainerRef{Engine: "docker", Name: "nosuch"}); err != nil || running || c.ID != "" {
		t.Errorf("no such container: %+v running %v err %v", c, running, err)
	}

	head := "inv.v=1\ninv.priv=1\ninv.nic=name=veth1 index=10 iflink=9 type=1 state=up mac=m master=docker0 kind= devtype= device=0 lower=\ninv.nics.end=1\ninv.engine=podman /usr/bin/podman\n"
	for _, tc := range []struct {
		name, out   string
		ref         ContainerRef
		running     bool
		wantID      string
		wantErr     string
		wantRootles bool
	}{
		{name: "stopped: known, not running", ref: ContainerRef{Engine: "podman", Name: "web"},
			out:    head + "inv.fstatus=0\n" + ctrQ("podman", "root", 0, []string{"web", "abcd", "nginx", "", "", "", "", "bridge"}) + "\ninv.end=1\n",
			wantID: "abcd"},
		{name: "rootless, running", ref: ContainerRef{Engine: "podman", Name: "web", Rootless: true}, running: true, wantID: "abcd", wantRootles: true,
			out: head + "inv.fstatus=0\n" + ctrQ("podman", "user", 77, []string{"web", "abcd", "nginx", "", "", "", "", "pasta"}) + "\ninv.hostns=net:[1]\ninv.ctrns=77 net:[5]\ninv.ctrif=77 eth0 9 10 1\ninv.end=1\n"},
		{name: "another container by id prefix is not it", ref: ContainerRef{Engine: "podman", Name: "abc"},
			out: head + "inv.fstatus=0\n" + ctrQ("podman", "root", 5, []string{"web", "abcd", "nginx", "", "", "", "", "bridge"}) + "\ninv.end=1\n"},
		{name: "podman's no such container", ref: ContainerRef{Engine: "podman", Name: "web"},
			out: head + "inv.fstatus=125\ninv.ferr=Error: no such container web\ninv.end=1\n"},
		{name: "engine down is an error", ref: ContainerRef{Engine: "podman", Name: "web"}, wantErr: "podman: Cannot connect to Podman",
			out: head + "inv.fstatus=125\ninv.ferr=Cannot connect to Podman. Please verify your connection\ninv.end=1\n"},
		{name: "engine missing is an error", ref: ContainerRef{Engine: "nerdctl", Name: "web"}, wantErr: "nerdctl: command not found",
			out: "inv.v=1\ninv.priv=0\ninv.nics.end=1\ninv.ferr=nerdctl: command not found\ninv.end=1\n"},
		{name: "exit status alone", ref: ContainerRef{Engine: "podman", Name: "web"}, wantErr: "exit status 124",
			out: head + "inv.fstatus=124\ninv.end=1\n"},
		{name: "cut short", ref: ContainerRef{Engine: "podman", Name: "web"}, wantErr: "cut short",
			out: head + "inv.fstatus=0\n" + ctrQ("podman", "root", 5, []string{"web", "abcd", "nginx", "", "", "", "", "bridge"}) + "\n"},
		{name: "not run", ref: ContainerRef{Engine: "podman", Name: "web"}, wantErr: "did not run", out: "sh: syntax error\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, running, err := parseFind([]byte(tc.out), tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || running != tc.running || c.ID != tc.wantID || c.Rootless != tc.wantRootles {
				t.Fatalf("%+v running %v err %v", c, running, err)
			}
			if tc.wantRootles && (len(c.NICs) != 1 || c.NICs[0].VMPeer != "") {
				t.Errorf("a rootless container got a VM peer: %+v", c.NICs)
			}
		})
	}
}

func TestCheckContainerRef(t *testing.T) {
	for _, ok := range []ContainerRef{{Engine: "docker", Name: "web"}, {Engine: "podman", Name: "k8s_POD_x.y-1"}, {Engine: "nerdctl", Name: "$(id)"}} {
		if err := checkContainerRef(ok); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	for _, bad := range []ContainerRef{
		{Engine: "lxc", Name: "web"}, {Engine: "", Name: "web"}, {Engine: "docker;id", Name: "web"},
		{Engine: "docker", Name: ""}, {Engine: "docker", Name: "-f"}, {Engine: "docker", Name: "a b"}, {Engine: "docker", Name: "a\nb"},
		{Engine: "docker", Name: "a\x00b"}, {Engine: "docker", Name: "\xff"}, {Engine: "docker", Name: strings.Repeat("a", 257)},
	} {
		if err := checkContainerRef(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	// The name is the last word, quoted; the script has no single quote.
	cmd := findCommand(ContainerRef{Engine: "docker", Name: "x'$(id)"})
	if !strings.HasSuffix(cmd, ` sh docker root 'x'\''$(id)'`) {
		t.Errorf("command ends %q", cmd[max(0, len(cmd)-60):])
	}
	if strings.Contains(findScript, "'") || strings.Contains(inventoryScript, "'") {
		t.Error("a script holds a single quote")
	}
}

// checkContainers is what every parsed container must satisfy, whatever
// the VM printed (FuzzParseInventory).
// inv nil: the containers come from FindContainer, which names no NICs.
func checkContainers(t *testing.T, inv *Inventory, ctrs []Container) {
	t.Helper()
	if len(ctrs) > maxInventoryContainers {
		t.Fatalf("%d containers", len(ctrs))
	}
	clean := func(s string) bool {
		return len(s) <= maxInventoryText && utf8.ValidString(s) && !strings.ContainsAny(s, "\n\r\x00") && s == strings.TrimSpace(s)
	}
	for _, c := range ctrs {
		if c.Name == "" || c.ID == "" || c.PID < 0 || !slices.Contains([]string{"docker", "podman", "nerdctl"}, c.Engine) {
			t.Fatalf("bad container %+v", c)
		}
		for _, s := range []string{c.Name, c.ID, c.Image, c.Compose, c.Pod, c.Network, c.NetNS} {
			if !clean(s) {
				t.Fatalf("unclean value %q in %+v", s, c)
			}
		}
		if len(c.NICs) > maxContainerNICs || (c.HostNetwork && (len(c.NICs) > 0 || c.NetNS == "" && c.Network != "host")) || len(c.EngineAddrs) > maxNICAddrs {
			t.Fatalf("bad container %+v", c)
		}
		for _, n := range c.NICs {
			if !validNICName(n.Name) || n.Name == "lo" || len(n.Addrs) > maxNICAddrs {
				t.Fatalf("bad NIC %+v of %+v", n, c)
			}
			if n.VMPeer != "" && (c.Rootless || !validNICName(n.VMPeer)) {
				t.Fatalf("VM peer %q of %+v", n.VMPeer, c)
			}
			if inv != nil && n.VMPeer != "" {
				if _, ok := inv.NIC(n.VMPeer); !ok {
					t.Fatalf("VM peer %q of %+v is no NIC", n.VMPeer, c)
				}
			}
			checkPrefixes(t, n.Addrs)
		}
		checkPrefixes(t, c.EngineAddrs)
	}
}

// checkPrefixes fails unless every address is a prefix in its canonical
// form.
func checkPrefixes(t *testing.T, addrs []string) {
	t.Helper()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a); err != nil || p.String() != a {
			t.Fatalf("bad address %q", a)
		}
	}
}
