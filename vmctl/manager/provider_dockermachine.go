package manager

import (
	"path/filepath"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findDockerMachine lists docker-machine's machines:
// $MACHINE_STORAGE_PATH or ~/.docker/machine (docker/machine
// commands/mcndirs/utils.go GetBaseDir), machines/<name>/config.json
// (libmachine/persist/filestore.go; format in provider_libmachine.go).
//
// The SSH endpoint is per driver: the virtualbox driver's GetSSHHostname is
// 127.0.0.1 with a random NAT-forwarded SSHPort and user "docker"
// (drivers/virtualbox/virtualbox.go); other drivers use IPAddress, port 22
// and user "root" by default (libmachine/drivers/base.go DefaultSSHUser,
// DefaultSSHPort). Nothing about running state is stored.
func FindDockerMachine(env hostenv.Env) []vmctl.VM {
	store := env.DirOr("MACHINE_STORAGE_PATH", ".docker", "machine")
	if store == "" {
		return nil
	}
	return libmachineEach(env, filepath.Join(store, "machines"), "docker-machine store", dmVM)
}

// dmVM builds the VM of one machine directory.
func dmVM(env hostenv.Env, machineDir, name string) vmctl.VM {
	vm := vmctl.VM{
		Manager: "docker-machine",
		Name:    name,
		State:   vmctl.Unknown,
		Source:  filepath.Join(machineDir, "config.json"),
	}
	h, problem := libmachineRead(env, machineDir)
	if problem != "" {
		vm.Skip = problem
		return vm
	}
	d := h.Driver
	vm.KeyFiles = libmachineKeys(h, machineDir)
	switch h.DriverName {
	case "virtualbox":
		vm.Host, vm.Port, vm.User = "127.0.0.1", d.SSHPort, d.SSHUser
		if vm.User == "" {
			vm.User = "docker"
		}
		vm.Loopback = true
		vm.Interface = "eth1"
		vm.OS = "boot2docker (Tiny Core Linux)"
		if vm.Port == 0 {
			vm.Skip = "config.json has no SSHPort (the VirtualBox port forward is made at create time)"
		}
	case "none":
		vm.KeyFiles = nil
		vm.Skip = `driver "none" has no SSH (the machine is only a Docker URL)`
	default:
		vm.Host, vm.Port, vm.User = d.IPAddress, d.SSHPort, d.SSHUser
		if vm.Port == 0 {
			vm.Port = 22
		}
		if vm.User == "" {
			vm.User = "root"
		}
		vm.Loopback = vmctl.IsLoopbackHost(vm.Host)
		vm.Interface = "eth0"
		if vm.Host == "" {
			vm.Skip = "config.json has no IPAddress (driver " + vmctl.QuoteForMessage(h.DriverName) + "; was the machine ever started?)"
		}
	}
	return vm
}
