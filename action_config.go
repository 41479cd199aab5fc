package main

import (
	"io"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/install"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// containerValues are the inventory's containers as dialog values: the
// value is what capture.ContainerByChoice takes back.
func containerValues(inv probe.Inventory) []extcap.Value {
	vs := make([]extcap.Value, 0, len(inv.Containers))
	for _, c := range inv.Containers {
		vs = append(vs, extcap.Value{Value: capture.ContainerChoice(inv, c), Display: capture.DescribeContainer(c)})
	}
	return vs
}

// interfaceValues are the inventory's NICs as dialog values.
func interfaceValues(inv probe.Inventory) []extcap.Value {
	vs := make([]extcap.Value, 0, len(inv.NICs))
	for _, n := range inv.NICs {
		vs = append(vs, extcap.Value{Value: n.Name, Display: n.Describe()})
	}
	return vs
}

// dialogDefaultsFor is dialogDefaults with the cached inventory's NICs,
// the NIC a capture would choose from it as the default, and for a NIC's
// interface that NIC. A container's interface captures inside the
// container: its remote interface is one there, chosen from the container
// unless named. The VM's own interface offers its containers in the
// Container selector.
func dialogDefaultsFor(env hostenv.Env, r capture.Resolved) dialog.Defaults {
	vm, nic := r.VM, r.NIC
	d := dialogDefaults(vm)
	if r.Container != nil {
		d.RemoteInterface = ""
		d.RemoteInterfaceHint = "chosen from the container (its interface, or any)"
		return d
	}
	if inv, ok := probe.LoadInventory(env, vm.ID); ok {
		if r.NIC == "" {
			d.Containers = containerValues(inv)
		}
		d.RemoteInterfaces = interfaceValues(inv)
		if chosen := capture.CachedDefaultNIC(vm, inv); chosen != "" {
			d.RemoteInterface = chosen // what a capture without the option takes
		}
	}
	if nic != "" {
		d.RemoteInterface = nic
	}
	return d
}

// dialogArgsFor is the whole options dialog: dialog.Args plus, with an
// inventory, the "More interfaces" multicheck.
func dialogArgsFor(d dialog.Defaults) []extcap.Arg {
	args := dialog.Args(d)
	if more, ok := dialog.MoreInterfacesArg(d); ok {
		args = append(args, more)
	}
	return args
}

// The remote interface has no default unless the config file names one:
// Wireshark passes a declared default back as if the user had chosen it,
// and then the capture could not choose the NIC from the VM itself
// (capture.DefaultNIC). dialogDefaultsFor sets the choice once a cached
// inventory makes it known.
func dialogDefaults(vm vmctl.VM) dialog.Defaults {
	d := dialog.Defaults{User: vm.User, Port: vm.Port, NoSSH: len(vm.Exec) > 0}
	if vm.Manager == "config" && vm.Interface != "" {
		d.RemoteInterface = vm.Interface
	} else {
		d.RemoteInterfaceHint = "chosen from the VM"
		if vm.Interface != "" {
			d.RemoteInterfaceHint += " (" + vm.Interface + " when it has one)"
		}
	}
	return d
}

// configAction answers --extcap-config: vmdump's options dialog for one
// interface, with what the cached inventory knows of the VM's NICs.
func configAction(a extcap.Args, env hostenv.Env, stdout, stderr io.Writer) int {
	return exitStatus(stderr, writeConfig(stdout, env, install.SelfPath(), a.Interface))
}
