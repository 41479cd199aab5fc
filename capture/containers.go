package capture

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// containerIDSep joins a VM's interface id and a container's name into the
// container's interface id: "vmdump_lima_default__c__web". A NIC's part
// never holds "__" (nicEntries collapses separators), so a container's id
// never equals a NIC's.
const containerIDSep = "__c__"

// maxListedContainers is how many running containers of one VM Wireshark
// lists as interfaces of their own. Wireshark runs vmdump once more per
// listed interface at every start and refresh (--extcap-config), so 300
// containers listed would cost 300 runs each time; above this many the
// VM's own interface says how many there are and its options dialog
// offers them all in a reloadable selector (Container), as Edgeshark does.
const maxListedContainers = 24

// containerEntry is one running container of a VM as a Wireshark interface.
type containerEntry struct {
	id string
	c  probe.Container
}

// containerEntries gives each container of inv its Wireshark interface id:
// the VM's id, "__c__" and the container's name as discover.IDPart makes
// it. The id follows the name, not the container id, so that a capture
// chosen once finds the container again after a restart or a re-creation.
// The same name in two engines (Docker and Podman side by side) gets the
// engine added, any other clash a hash of the full name.
func containerEntries(vmID string, inv probe.Inventory) []containerEntry {
	out := make([]containerEntry, 0, len(inv.Containers))
	base := map[string]int{}
	for _, c := range inv.Containers {
		base[idPartOr(c.Name, "container")]++
	}
	used := map[string]bool{}
	for _, c := range inv.Containers {
		part := idPartOr(c.Name, "container")
		id := vmID + containerIDSep + part
		if base[part] > 1 {
			id += "_" + idPartOr(c.Engine, "engine")
			if c.Rootless {
				id += "_user"
			}
		}
		if used[id] {
			h := fnv.New32a()
			h.Write([]byte(c.Engine + "\x00" + c.Name))
			id = fmt.Sprintf("%s_%08x", id, h.Sum32())
		}
		if used[id] {
			continue // the same container twice: the inventory never has one
		}
		used[id] = true
		out = append(out, containerEntry{id: id, c: c})
	}
	return out
}

func idPartOr(s, fallback string) string {
	if p := discover.IDPart(s); p != "" {
		return p
	}
	return fallback
}

// listsContainers says whether Wireshark's interface list shows inv's
// containers one by one (see maxListedContainers).
func listsContainers(inv probe.Inventory) bool {
	return len(inv.Containers) > 0 && len(inv.Containers) <= maxListedContainers
}

// DescribeContainer says which container, for a person choosing one: its
// name, then what tells it apart: "web (nginx, compose shop/web)",
// "db (postgres:16, pod default/db-0)", "worker (app, rootless podman)",
// "agent (busybox, host network)".
func DescribeContainer(c probe.Container) string {
	var notes []string
	if img := probe.ShortImage(c.Image); img != "" {
		notes = append(notes, img)
	}
	if c.Compose != "" {
		notes = append(notes, "compose "+c.Compose)
	}
	if c.Pod != "" {
		notes = append(notes, "pod "+c.Pod)
	}
	if c.Rootless {
		notes = append(notes, "rootless "+c.Engine)
	}
	if c.HostNetwork {
		notes = append(notes, "host network")
	}
	s := c.Name
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

// containersNote is the VM interface's note when its containers are not
// listed one by one: too many, or the config file lists VMs only.
func containersNote(inv probe.Inventory, listed bool) string {
	if len(inv.Containers) == 0 || listed && len(inv.Containers) <= maxListedContainers {
		return ""
	}
	return strconv.Itoa(len(inv.Containers)) + " containers: choose one in the interface's options (Container)"
}

// hiddenVeth says whether a NIC is left out of the listing because the
// containers behind it are capture targets themselves (listed, or in the
// VM's Container selector): capturing the container is capturing its
// veth, the user looks for the container's name, and every listed
// interface costs a run of vmdump at each Wireshark start.
func hiddenVeth(n probe.NIC, listed map[string]bool) bool {
	if len(n.Containers) == 0 {
		return false
	}
	for _, c := range n.Containers {
		if !listed[c.ID] {
			return false
		}
	}
	return true
}

// ContainerChoice is c's value in the Container selector: its name, or
// "<engine>/<name>" ("rootless-podman/web") when another engine of the VM
// has a container of that name. Engines allow no "/" in names.
func ContainerChoice(inv probe.Inventory, c probe.Container) string {
	for _, o := range inv.Containers {
		if o.Name == c.Name && (o.Engine != c.Engine || o.Rootless != c.Rootless) {
			return engineWord(c) + "/" + c.Name
		}
	}
	return c.Name
}

func engineWord(c probe.Container) string {
	if c.Rootless {
		return "rootless-" + c.Engine
	}
	return c.Engine
}

// ContainerByChoice maps the Container selector's value back to the
// container, through the cached inventory the selector was filled from.
func ContainerByChoice(env hostenv.Env, vm vmctl.VM, choice string) (probe.ContainerRef, error) {
	inv, _ := probe.LoadInventory(env, vm.ID)
	for _, c := range inv.Containers {
		if ContainerChoice(inv, c) == choice || engineWord(c)+"/"+c.Name == choice {
			return c.Ref(), nil
		}
	}
	return probe.ContainerRef{}, fmt.Errorf("no container %q in vmdump's list of VM %s: press Reload beside Container in the interface's options and choose again", sshconn.ClipValue(choice), vm.Name)
}
