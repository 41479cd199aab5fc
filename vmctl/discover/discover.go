package discover

import (
	"fmt"
	"runtime/debug"
	"sort"
	"strconv"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/manager"
)

// Providers are the VM managers Discover asks, in this order. The order
// matters twice: the listing is sorted by it, and when one VM is reached two
// ways (Colima's instance and the `Host colima` its Include adds to
// ~/.ssh/config) the entry of the earlier provider is kept. So the managers
// that own VMs come first, Colima and Rancher Desktop before plain Lima
// (they may share a Lima directory), and the providers that only refer to
// VMs (vmdump's config, Docker contexts, ~/.ssh/config) come last.
var Providers = []Provider{
	{Manager: "boot2docker", Short: "b2d", Find: manager.FindBoot2Docker},
	{Manager: "docker-machine", Short: "dm", Find: manager.FindDockerMachine},
	{Manager: "colima", Short: "colima", Find: manager.FindColima},
	{Manager: "rancher-desktop", Short: "rd", Find: manager.FindRancherDesktop},
	{Manager: "lima", Short: "lima", Find: manager.FindLima},
	{Manager: "podman", Short: "podman", Find: manager.FindPodman},
	{Manager: "minikube", Short: "mk", Find: manager.FindMinikube},
	{Manager: "vagrant", Short: "vagrant", Find: manager.FindVagrant},
	{Manager: "orbstack", Short: "orb", Find: manager.FindOrbStack},
	{Manager: "multipass", Short: "mp", Find: manager.FindMultipass},
	{Manager: "docker-desktop", Short: "dd", Find: manager.FindDockerDesktop},
	{Manager: "config", Short: "cfg", Find: findConfigVMs},
	{Manager: "docker-context", Short: "ctx", Find: manager.FindDockerContexts},
	{Manager: "ssh", Short: "ssh", Find: findSSHConfigHostsIfOn},
}

// Discover lists every VM the providers find by reading files. It never
// fails: a provider that panics is logged and skipped, broken VMs come back
// with Skip set. The result is deduplicated, has IDs assigned and is sorted
// by provider order, then name.
func Discover(env hostenv.Env) []vmctl.VM {
	return discoverWith(env, Providers)
}

// Lookup finds a VM by its ID.
func Lookup(vms []vmctl.VM, id string) (vmctl.VM, bool) {
	for _, vm := range vms {
		if vm.ID == id {
			return vm, true
		}
	}
	return vmctl.VM{}, false
}

func discoverWith(env hostenv.Env, providers []Provider) []vmctl.VM {
	type found struct {
		vm    vmctl.VM
		order int
		short string
	}
	var all []found
	for i, p := range providers {
		vms := discRunProvider(env, p)
		sort.SliceStable(vms, func(a, b int) bool { return vms[a].Name < vms[b].Name })
		for _, vm := range vms {
			if vm.Manager == "" {
				vm.Manager = p.Manager
			}
			vm.ID = ""
			if vm.State == "" {
				vm.State = vmctl.Unknown
			}
			all = append(all, found{vmctl.CheckVM(vm), i, p.Short})
		}
	}

	dd := discNewDedup(env)
	var kept []found
	for _, f := range all {
		if by := dd.duplicateOf(f.vm); by != "" {
			env.Logger().Debug("same VM found twice; keeping the first",
				"manager", f.vm.Manager, "name", f.vm.Name, "kept", by)
			continue
		}
		kept = append(kept, f)
	}
	sort.SliceStable(kept, func(a, b int) bool {
		if kept[a].order != kept[b].order {
			return kept[a].order < kept[b].order
		}
		return kept[a].vm.Name < kept[b].vm.Name
	})

	vms := make([]vmctl.VM, len(kept))
	shorts := make([]string, len(kept))
	for i, f := range kept {
		vms[i], shorts[i] = f.vm, f.short
	}
	vms = applyConfigTransports(env, vms) // config.toml's [[vm_transport]]
	discAssignIDs(vms, shorts)
	return vms
}

// discRunProvider runs one provider; a panic (a parser bug on some file we
// never imagined) costs that provider's VMs, not the listing.
func discRunProvider(env hostenv.Env, p Provider) (vms []vmctl.VM) {
	defer func() {
		if r := recover(); r != nil {
			env.Logger().Error("VM discovery failed for one manager; its VMs are not listed",
				"manager", p.Manager, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			vms = nil
		}
	}()
	if p.Find == nil {
		return nil
	}
	return p.Find(env)
}

// discDedup recognises one VM reached two ways.
//
//   - same manager and name: one VM, whatever the files say;
//   - same Source file under different managers: Colima and Lima share a
//     Lima directory when $LIMA_HOME is set;
//   - same loopback host:port and user under different managers: a port
//     forward on this machine leads to one VM, e.g. Colima's instance and
//     the ~/.ssh/config alias Colima writes for it.
//
// Within one manager only the first rule applies: two Lima instances whose
// stale ssh.config files name the same port are still two VMs.
type discDedup struct {
	env     hostenv.Env
	seen    map[string]string // key -> manager that claimed it
	aliases map[string]manager.DiscSSHTarget
	loaded  bool
}

func discNewDedup(env hostenv.Env) *discDedup {
	return &discDedup{env: env, seen: map[string]string{}}
}

// duplicateOf returns the manager of the VM this one duplicates, or "".
func (d *discDedup) duplicateOf(vm vmctl.VM) string {
	nameKey := "name\x00" + vm.Manager + "\x00" + vm.Name
	if _, ok := d.seen[nameKey]; ok {
		return vm.Manager
	}
	var crossKeys []string
	if vm.Source != "" && vm.Manager != "config" && vm.Manager != "ssh" {
		crossKeys = append(crossKeys, "src\x00"+vm.Source)
	}
	if ep := d.loopbackEndpoint(vm); ep != "" {
		crossKeys = append(crossKeys, "ep\x00"+ep)
	}
	for _, k := range crossKeys {
		if m, ok := d.seen[k]; ok && m != vm.Manager {
			return m
		}
	}
	d.seen[nameKey] = vm.Manager
	for _, k := range crossKeys {
		if _, ok := d.seen[k]; !ok {
			d.seen[k] = vm.Manager
		}
	}
	return ""
}

// loopbackEndpoint is "lo:port:user" for a VM reached through a port on
// this machine, resolving ~/.ssh/config aliases; "" otherwise.
func (d *discDedup) loopbackEndpoint(vm vmctl.VM) string {
	if vm.Host == "" || vm.Skip != "" {
		return ""
	}
	host, port, user := vm.Host, vm.Port, vm.User
	if vm.SSHAlias {
		if !d.loaded {
			d.aliases, d.loaded = manager.SshcfgAliasTargets(d.env), true
		}
		t, ok := d.aliases[vm.Host]
		if !ok {
			return ""
		}
		host = t.HostName
		if port == 0 {
			port = t.Port
		}
		if user == "" {
			user = t.User
		}
	}
	if !vmctl.IsLoopbackHost(host) {
		return ""
	}
	if port == 0 {
		port = 22
	}
	return "lo:" + strconv.Itoa(port) + ":" + user
}

// findSSHConfigHostsIfOn lists ~/.ssh/config's hosts only when config.toml
// turns them on (ssh_config_hosts = true): most are not Docker VMs.
func findSSHConfigHostsIfOn(env hostenv.Env) []vmctl.VM {
	if cfg, err := LoadConfig(env); err != nil || !cfg.SSHConfigHosts {
		return nil
	}
	return manager.FindSSHConfigHosts(env)
}
