package probe

import (
	"strings"
	"time"
)

// Inventory is what one round trip learned about the inside of a VM: its
// OS, vmdump's rights there, the tools it has, every network interface and,
// for container interfaces, the container behind each. vmdump keeps the last
// one per VM on disk (SaveInventory), so that Wireshark can list the VM's
// interfaces without touching the network.
type Inventory struct {
	FetchedAt time.Time `json:"fetched_at"`

	Hostname string `json:"hostname,omitempty"`
	OSID     string `json:"os_id,omitempty"`   // os-release ID ("alpine", "tinycore", ...)
	OSLike   string `json:"os_like,omitempty"` // os-release ID_LIKE
	OSPretty string `json:"os_pretty,omitempty"`
	Kernel   string `json:"kernel,omitempty"` // uname -sr

	UID            int  `json:"uid"` // the login user's uid; -1 when unknown
	SudoNoPassword bool `json:"sudo_no_password,omitempty"`
	// Privileged: root, or passwordless sudo. Needed to capture (usually)
	// and to match containers to their interfaces (always).
	Privileged bool `json:"privileged,omitempty"`

	Tools   Tools    `json:"tools"`
	NICs    []NIC    `json:"nics"`
	Engines []Engine `json:"engines,omitempty"`
	// Containers are the running containers of every engine, the login
	// user's rootless ones included, in the engines' order.
	Containers []Container `json:"containers,omitempty"`
	// DefaultRoute is the NIC of the VM's default route: IPv4's with the
	// lowest metric, else IPv6's. "" when the VM has none, or the
	// inventory predates the field.
	DefaultRoute string `json:"default_route,omitempty"`
	// SessionAddr is the VM's address the inventory's SSH session arrived
	// on ($SSH_CONNECTION), so that a choice made from a cached inventory
	// (DefaultNIC) is the one a capture makes. "" over an exec transport.
	SessionAddr string `json:"session_addr,omitempty"`
	// Notes are one-line facts the user should know, e.g. that a rootless
	// engine's containers have no interface of their own in the VM.
	Notes []string `json:"notes,omitempty"`
	// Partial: the interfaces are complete but the container engines did
	// not answer in time.
	Partial bool `json:"partial,omitempty"`
}

// Tools are the programs vmdump found on the VM's PATH (plus the sbin
// directories).
type Tools struct {
	Tcpdump         string   `json:"tcpdump,omitempty"` // absolute path; "" when missing
	TcpdumpVersion  string   `json:"tcpdump_version,omitempty"`
	LibpcapVersion  string   `json:"libpcap_version,omitempty"`
	ImmediateMode   bool     `json:"immediate_mode,omitempty"`
	IP              string   `json:"ip,omitempty"`         // the ip command ("ip" for a busybox applet)
	IPVersion       string   `json:"ip_version,omitempty"` // "iproute2 6.1.0", "busybox 1.35.0"
	PackageManagers []string `json:"package_managers,omitempty"`
}

// Engine is a container engine's command line tool on the VM.
type Engine struct {
	Name string `json:"name"` // docker, podman or nerdctl
	Path string `json:"path"`
	// Rootless: the login user's engine runs rootless, so its containers'
	// interfaces are not in the VM's namespace.
	Rootless bool `json:"rootless,omitempty"`
	// Containers counts the running containers vmdump saw.
	Containers int `json:"containers"`
	// Error is why listing the containers failed ("" when it worked).
	Error string `json:"error,omitempty"`
}

// NIC is one network interface in the VM's namespace.
type NIC struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
	// PeerIndex is the interface this one is linked to (sysfs iflink) when
	// that is another one: for a veth, its other end's index in the
	// container's namespace. 0 when it is linked to itself or unknown.
	PeerIndex int `json:"peer_index,omitempty"`
	// Kind: loopback, bridge, veth, bond, tun, vlan, wlan, device (a real or
	// virtio NIC), virtual (anything else in software).
	Kind   string `json:"kind,omitempty"`
	State  string `json:"state,omitempty"`  // operstate: up, down, unknown, ...
	Master string `json:"master,omitempty"` // the bridge (or bond) it belongs to
	MAC    string `json:"mac,omitempty"`
	// ARPType is the link layer (sysfs type): 1 Ethernet, 772 loopback, ...
	ARPType int `json:"arp_type,omitempty"`
	// Addrs are its addresses with their prefix length, as ip lists them
	// ("10.0.2.15/24", "fe80::a00:27ff:fe4e:66a1/64"). Empty when it has
	// none, or when the VM has no ip command or the inventory predates the
	// field.
	Addrs []string `json:"addrs,omitempty"`
	// Containers behind a veth: usually one; several when containers share
	// a network namespace (a pod, --network container:x).
	Containers []Container `json:"containers,omitempty"`
}

// Container is a running container. In NIC.Containers only the first four
// fields are set (the container behind a veth); Inventory.Containers has
// everything the inventory learned, for capturing the container itself.
type Container struct {
	Engine string `json:"engine"` // docker, podman or nerdctl
	Name   string `json:"name"`
	ID     string `json:"id"`
	Image  string `json:"image,omitempty"`

	// Rootless: the login user's rootless engine runs it, so engine
	// commands about it run as that user, never under sudo.
	Rootless bool `json:"rootless,omitempty"`
	// Compose is "project/service" from the com.docker.compose labels
	// (docker compose, podman-compose); "" without them.
	Compose string `json:"compose,omitempty"`
	// Pod is the pod it belongs to: "namespace/name" from the
	// io.kubernetes.pod labels (minikube, k3s, nerdctl's k8s.io), else
	// Podman's pod name (from the inventory's podman ps; FindContainer,
	// whose one inspect knows the pod only by id, leaves it out).
	Pod string `json:"pod,omitempty"`
	// Network is its network mode as the engine says it: "bridge",
	// "host", "none", "container:<id>", "slirp4netns", "pasta", or the
	// name of a user-defined network.
	Network string `json:"network,omitempty"`
	// PID is a process in its network namespace (its init); 0 unknown.
	PID int `json:"pid,omitempty"`
	// NetNS is the /proc/<PID>/ns/net link, "net:[4026532198]": which
	// namespace PID was in when the inventory ran.
	NetNS string `json:"netns,omitempty"`
	// HostNetwork: it shares the VM's network namespace (--network host):
	// its NetNS is the VM's, or, when its namespace was out of reach, a
	// root engine says its network is "host".
	HostNetwork bool `json:"host_network,omitempty"`
	// NICs are its interfaces inside its namespace, loopback left out;
	// none for a HostNetwork container (its interfaces are the VM's,
	// Inventory.NICs) or when its namespace could not be read.
	NICs []ContainerNIC `json:"nics,omitempty"`
	// EngineAddrs are the addresses the engine says it gave it
	// (NetworkSettings.Networks; Docker and Podman): what is known when
	// its namespace cannot be entered (no nsenter, or no rights).
	EngineAddrs []string `json:"engine_addrs,omitempty"`
}

// ContainerNIC is one interface inside a container's network namespace.
type ContainerNIC struct {
	Name  string   `json:"name"`
	Index int      `json:"index,omitempty"`
	Addrs []string `json:"addrs,omitempty"` // "172.17.0.2/16", as ip lists them
	// VMPeer is the VM's end of its veth ("veth1a2b3c4"), "" when it has
	// none in the VM's namespace (rootless, macvlan, tap).
	VMPeer string `json:"vm_peer,omitempty"`
}

// ContainerRef names a container for the engine that runs it: what a
// capture target keeps, since the id and PID change when it restarts.
type ContainerRef struct {
	Engine   string `json:"engine"` // docker, podman or nerdctl
	Rootless bool   `json:"rootless,omitempty"`
	Name     string `json:"name"`
}

// Ref is how to find c again after a restart.
func (c Container) Ref() ContainerRef {
	return ContainerRef{Engine: c.Engine, Rootless: c.Rootless, Name: c.Name}
}

// NIC returns the interface called name.
func (inv Inventory) NIC(name string) (NIC, bool) {
	for _, n := range inv.NICs {
		if n.Name == name {
			return n, true
		}
	}
	return NIC{}, false
}

// Describe says what the interface is, for a person choosing one:
// "docker0 (bridge)", "veth1a2b3c4 — container web (nginx)",
// "eth2 (down)".
func (n NIC) Describe() string {
	var b strings.Builder
	b.WriteString(n.Name)
	if len(n.Containers) > 0 {
		b.WriteString(" — container")
		if len(n.Containers) > 1 {
			b.WriteString("s")
		}
		for i, c := range n.Containers {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(" " + c.Name)
			if img := shortImage(c.Image); img != "" {
				b.WriteString(" (" + img + ")")
			}
		}
		if n.State == "down" {
			b.WriteString(", down")
		}
		return b.String()
	}
	var notes []string
	switch n.Kind {
	case "loopback", "bridge", "bond", "tun", "vlan", "wlan":
		notes = append(notes, n.Kind)
	case "veth":
		if n.Master != "" {
			notes = append(notes, "veth on "+n.Master)
		} else {
			notes = append(notes, "veth")
		}
	}
	if n.Master != "" && n.Kind != "veth" {
		notes = append(notes, "on "+n.Master)
	}
	if n.State == "down" {
		notes = append(notes, "down")
	}
	if len(notes) > 0 {
		b.WriteString(" (" + strings.Join(notes, ", ") + ")")
	}
	return b.String()
}

// shortImage drops what makes an image name long without saying more:
// the default registry, "library/", ":latest", a digest, and turns an
// image id into its 12-digit short form.
func shortImage(img string) string {
	if rest, ok := strings.CutPrefix(img, "sha256:"); ok {
		return rest[:min(len(rest), 12)]
	}
	if i := strings.Index(img, "@sha256:"); i >= 0 {
		img = img[:i]
	}
	for _, p := range []string{"docker.io/library/", "docker.io/", "library/"} {
		if rest, ok := strings.CutPrefix(img, p); ok {
			img = rest
			break
		}
	}
	return strings.TrimSuffix(img, ":latest")
}

// NICNames lists the inventory's NIC names in its order.
func (inv Inventory) NICNames() []string {
	var out []string
	for _, n := range inv.NICs {
		out = append(out, n.Name)
	}
	return out
}
