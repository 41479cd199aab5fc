package capture

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"

	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// nicIDSep joins a VM's interface id and a NIC into the NIC's interface id:
// "vmdump_lima_default__docker0". VM ids never contain it (discovery
// collapses separators), so the VM part is unambiguous.
const nicIDSep = "__"

// nicEntry is one NIC of a VM as a Wireshark interface.
type nicEntry struct {
	id  string
	nic probe.NIC
}

// nicEntries gives each NIC of inv its Wireshark interface id: the VM's id,
// "__", and the NIC's name lower-cased with every run of other characters
// than [a-z0-9] turned into "_" (Wireshark turns them into "_" in
// preference names anyway). Two names that come out the same (br-x and
// br_x) are told apart by a hash of the real name.
func nicEntries(vmID string, inv probe.Inventory) []nicEntry {
	out := make([]nicEntry, 0, len(inv.NICs))
	used := map[string]bool{}
	for _, n := range inv.NICs {
		id := vmID + nicIDSep + sanitizeNIC(n.Name)
		if used[id] {
			h := fnv.New32a()
			h.Write([]byte(n.Name))
			id = fmt.Sprintf("%s_%08x", id, h.Sum32())
		}
		if used[id] {
			continue // a repeated name: the inventory never has one
		}
		used[id] = true
		out = append(out, nicEntry{id: id, nic: n})
	}
	return out
}

func sanitizeNIC(name string) string {
	if s := discover.IDPart(name); s != "" {
		return s
	}
	return "nic"
}

// interfaceList is what --extcap-interfaces lists: one Wireshark interface
// per VM vmdump could try to capture from or that the user should at least
// see (a VM with a note), and after each running VM one interface per NIC of
// its cached inventory, e.g. "default: docker0 (bridge)". It reads local
// files only: Wireshark runs it at every start, with no timeout.
func Targets(env hostenv.Env, vms []vmctl.VM) []Target {
	var out []Target
	cfg, _ := discover.LoadConfig(env) // a broken file is Discover's to report
	listNICs, listContainers := cfg.Lists()
	ids := map[string]bool{}
	for _, vm := range vms {
		if vm.Skip == "" {
			ids[vm.ID] = true
		}
	}
	for _, vm := range vms {
		if vm.Skip != "" {
			continue
		}
		if !vm.Capturable() || vm.State == vmctl.Stopped {
			out = append(out, Target{ID: vm.ID, Display: DisplayName(vm)})
			continue // its NICs and containers are of no use until it runs again
		}
		inv, ok := probe.LoadInventory(env, vm.ID)
		if !ok {
			out = append(out, Target{ID: vm.ID, Display: DisplayName(vm)})
			continue
		}
		display := DisplayName(vm)
		if note := containersNote(inv, listContainers); note != "" {
			display += " - " + note
		}
		out = append(out, Target{ID: vm.ID, Display: display})
		// Every container of the inventory stands for its veth: listed
		// itself, or (too many to list) in the VM's Container selector.
		listed := map[string]bool{}
		var containers []Target
		for _, e := range containerEntries(vm.ID, inv) {
			listed[e.c.ID] = true
			if listContainers && listsContainers(inv) && !ids[e.id] {
				containers = append(containers, Target{ID: e.id, Display: vm.Name + ": container " + DescribeContainer(e.c)})
			}
		}
		for _, e := range nicEntries(vm.ID, inv) {
			if !listNICs || ids[e.id] || hiddenVeth(e.nic, listed) {
				continue // never shadow a VM's own interface; a listed container stands for its veth
			}
			out = append(out, Target{ID: e.id, Display: vm.Name + ": " + e.nic.Describe()})
		}
		out = append(out, containers...)
	}
	return out
}

// Resolved is what a Wireshark interface stands for: a VM, and in it a NIC
// or a container (neither: the VM's own interface).
type Resolved struct {
	VM        vmctl.VM
	NIC       string              // a NIC's interface: the NIC's real name
	Container *probe.ContainerRef // a container's interface: how to find it again
}

// Resolve maps a Wireshark interface to its VM and, for a NIC's or a
// container's interface, what in the VM it names. Those are resolved
// through the cached inventory they were listed from; a container is kept
// by engine and name, so that its capture follows it across restarts.
func Resolve(env hostenv.Env, vms []vmctl.VM, id string) (Resolved, bool) {
	if vm, ok := discover.Lookup(vms, id); ok {
		return Resolved{VM: vm}, true
	}
	for _, vm := range vms {
		if !strings.HasPrefix(id, vm.ID+nicIDSep) {
			continue
		}
		inv, ok := probe.LoadInventory(env, vm.ID)
		if !ok {
			continue
		}
		if strings.HasPrefix(id, vm.ID+containerIDSep) {
			for _, e := range containerEntries(vm.ID, inv) {
				if e.id == id {
					ref := e.c.Ref()
					return Resolved{VM: vm, Container: &ref}, true
				}
			}
		}
		for _, e := range nicEntries(vm.ID, inv) {
			if e.id == id {
				return Resolved{VM: vm, NIC: e.nic.Name}, true
			}
		}
	}
	return Resolved{}, false
}

// unknownInterfaceError is the capture's error for an id resolveInterface
// does not know.
func UnknownInterfaceError(id string) error {
	if strings.Contains(id, nicIDSep) {
		return fmt.Errorf("interface %q is no longer in vmdump's list of the VM's interfaces: refresh Wireshark's interfaces (Capture > Refresh Interfaces) and pick it again", id)
	}
	return fmt.Errorf("no VM named %q: run `vmdump list` to see the VMs vmdump finds", id)
}

// NICNames are the VM interfaces the user named for one capture: those of
// the remote interface option, or else the NIC of a NIC's interface, then
// those of "More interfaces", duplicates dropped. choose: the user named
// none of the first kind, so the capture chooses one from the VM
// (Options.ChooseNIC). Wireshark leaves an option out when it equals the
// dialog's default, which is exactly that choice.
func NICNames(remote, more []string, nic string) (names []string, choose bool) {
	if len(remote) == 0 && nic != "" {
		remote = []string{nic}
	}
	for _, n := range append(remote, more...) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, len(remote) == 0
}

// DefaultNIC is the NIC a capture of vm takes when the user named none,
// and why, in words for the status line: the config file's interface when
// it names one, else probe.DefaultNIC's choice from what the VM says (the
// manager's usual NIC when the VM has it, the NIC of vmdump's SSH session,
// of the default route, the first one up).
func DefaultNIC(vm vmctl.VM, p probe.Probe, inv probe.Inventory) (name, why string) {
	if vm.Manager == "config" && vm.Interface != "" {
		return vm.Interface, vm.Interface + ": the config file's interface"
	}
	return probe.DefaultNIC(p, inv, vm.Interface)
}

// CachedDefaultNIC is DefaultNIC from a cached inventory of vm alone, for
// the dialog's default: the choice a capture makes from the same facts
// (the inventory keeps the address its session arrived on). "" when no
// NIC fits.
func CachedDefaultNIC(vm vmctl.VM, inv probe.Inventory) string {
	name, _ := DefaultNIC(vm, probe.Probe{ServerAddr: inv.SessionAddr}, inv)
	return name
}

// captureSpecs copies base once per interface.
func captureSpecs(base remotecap.CaptureSpec, names []string) []remotecap.CaptureSpec {
	specs := make([]remotecap.CaptureSpec, len(names))
	for i, n := range names {
		specs[i] = base
		specs[i].Interface = n
	}
	return specs
}

// pcapngNICs describe the captured interfaces: Wireshark shows Name as
// frame.interface_name ("default:docker0"), Description in the capture
// file's properties, with what the inventory knows of the NIC and note, if
// any (a reconnect after a gap).
func pcapngNICs(vm vmctl.VM, inv probe.Inventory, specs []remotecap.CaptureSpec, os, note string) []pcapng.NIC {
	nics := make([]pcapng.NIC, len(specs))
	for i, s := range specs {
		what := s.Interface
		if n, ok := inv.NIC(s.Interface); ok {
			what = n.Describe()
		}
		if note != "" {
			what += " (" + note + ")"
		}
		nics[i] = pcapng.NIC{
			Name:        vm.Name + ":" + s.Interface,
			Description: DisplayName(vm) + " " + what,
			Filter:      s.Filter,
			OS:          os,
		}
	}
	return nics
}

// rememberInventory saves a fresh inventory for Wireshark's next listing;
// a failure only costs the cache, so it is only logged.
func RememberInventory(env hostenv.Env, log *slog.Logger, vmID string, inv probe.Inventory) {
	if err := probe.SaveInventory(env, vmID, inv); err != nil {
		log.Warn("inventory not cached", "vm", vmID, "err", err)
		return
	}
	for _, n := range inv.Notes {
		log.Info("inventory note", "vm", vmID, "note", n)
	}
}

// refreshInventory connects to vm, takes its inventory in one round trip
// and caches it (the dialog's Reload; also for `vmdump list --check`).
func RefreshInventory(ctx context.Context, vm vmctl.VM, opt sshconn.DialOptions, env hostenv.Env, log *slog.Logger) (probe.Inventory, error) {
	conn, err := sshconn.Dial(ctx, vm, opt)
	if err != nil {
		return probe.Inventory{}, err
	}
	defer conn.Close()
	_, inv, err := probe.RunInventory(ctx, conn)
	if err != nil {
		return probe.Inventory{}, err
	}
	RememberInventory(env, log, vm.ID, inv)
	return inv, nil
}

// displayName says which VM, which manager and whether it runs, e.g.
// "Docker VM default (boot2docker, running)".
func DisplayName(vm vmctl.VM) string {
	s := fmt.Sprintf("Docker VM %s (%s", vm.Name, vm.Manager)
	if vm.State != "" && vm.State != vmctl.Unknown {
		s += ", " + string(vm.State)
	}
	s += ")"
	if vm.Note != "" {
		s += " - " + vm.Note
	}
	return s
}

// NaturalInterface is the VM's NIC as its manager (or the config file)
// names it, eth0 when it names none: what the dialog shows before vmdump
// has seen the VM. A capture chooses from the VM itself (DefaultNIC).
func NaturalInterface(vm vmctl.VM) string {
	if vm.Interface != "" {
		return vm.Interface
	}
	return "eth0"
}

// Target is one Wireshark interface vmdump lists: a VM, or one NIC or one
// container of a running VM's cached inventory.
type Target struct {
	ID      string // the interface name Wireshark shows and passes back
	Display string // e.g. "Docker VM default (boot2docker)", "default: docker0 (bridge)"
}
