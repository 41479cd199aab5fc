package manager

import (
	"path/filepath"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findMinikube lists minikube's machines: <MiniPath>/machines/<m>/config.json
// in libmachine format (provider_libmachine.go). MiniPath is $MINIKUBE_HOME,
// with ".minikube" appended unless it already ends so, or ~/.minikube
// (kubernetes/minikube pkg/minikube/localpath/localpath.go MiniPath). The
// machine of a single-node cluster is named after the profile, extra nodes
// <profile>-m02... The key is machines/<m>/id_rsa (cmd/minikube/cmd/ssh-key.go).
//
// VM drivers: Driver.IPAddress:22, except qemu2 with builtin/user
// networking, which forwards localhost:SSHPort (pkg/drivers/qemu/qemu.go
// GetSSHHostname), and virtualbox, 127.0.0.1:SSHPort like docker-machine.
// The docker and podman drivers ("kic") publish 22/tcp on a port only the
// container engine knows (pkg/drivers/kic/oci ForwardedPort): those machines
// are listed without an endpoint.
func FindMinikube(env hostenv.Env) []vmctl.VM {
	home := mkHome(env)
	if home == "" {
		return nil
	}
	return libmachineEach(env, filepath.Join(home, "machines"), "minikube machines dir", mkVM)
}

// mkHome is MiniPath. An old layout where $MINIKUBE_HOME itself holds
// machines/ is accepted too.
func mkHome(env hostenv.Env) string {
	if d := env.EnvDir("MINIKUBE_HOME"); d != "" {
		if filepath.Base(d) == ".minikube" {
			return d
		}
		joined := filepath.Join(d, ".minikube")
		if !env.IsDir(joined) && env.IsDir(filepath.Join(d, "machines")) {
			return d
		}
		return joined
	}
	return env.HomePath(".minikube")
}

// mkPIDFiles are the drivers that keep their VM process id in
// machines/<m>/<file>; each deletes the file when it finds the process gone
// (pkg/drivers/{qemu,vfkit,krunkit}, docker-machine-driver-hyperkit).
var mkPIDFiles = map[string]string{
	"qemu2":    "qemu.pid",
	"qemu":     "qemu.pid",
	"vfkit":    "vfkit.pid",
	"krunkit":  "krunkit.pid",
	"hyperkit": "hyperkit.pid",
}

func mkVM(env hostenv.Env, machineDir, name string) vmctl.VM {
	vm := vmctl.VM{
		Manager:   "minikube",
		Name:      name,
		State:     vmctl.Unknown,
		User:      "docker",
		Interface: "eth0",
		Source:    filepath.Join(machineDir, "config.json"),
	}
	h, problem := libmachineRead(env, machineDir)
	if problem != "" {
		vm.User = ""
		vm.Skip = problem
		return vm
	}
	d := h.Driver
	if d.SSHUser != "" {
		vm.User = d.SSHUser
	}
	vm.KeyFiles = libmachineKeys(h, machineDir)
	switch h.DriverName {
	case "docker", "podman":
		vm.OS = "Debian (kicbase container)"
		vm.Loopback = true
		vm.Note = h.DriverName + " driver: SSH port is only known to " + mkEngineName(h.DriverName) + " (not on disk)"
		return vm
	case "none":
		vm.User, vm.KeyFiles, vm.Interface = "", nil, ""
		vm.Skip = `driver "none" runs Kubernetes directly on this host; there is no VM`
		return vm
	case "ssh":
		vm.Host, vm.Port = d.IPAddress, d.SSHPort
		if d.SSHUser == "" {
			vm.User = "root" // the ssh driver's --ssh-user default
		}
	case "virtualbox":
		vm.Host, vm.Port = "127.0.0.1", d.SSHPort
	case "qemu2", "qemu":
		if d.Network == "builtin" || d.Network == "user" {
			vm.Host, vm.Port = "127.0.0.1", d.SSHPort
		} else {
			vm.Host, vm.Port = d.IPAddress, d.SSHPort
		}
	default:
		vm.Host, vm.Port = d.IPAddress, 22
	}
	if vm.Port == 0 {
		vm.Port = 22
	}
	if h.DriverName != "ssh" {
		vm.OS = "Buildroot (minikube ISO)"
	}
	vm.Loopback = vmctl.IsLoopbackHost(vm.Host)
	if pidFile, ok := mkPIDFiles[h.DriverName]; ok {
		vm.State = vmctl.Stopped
		if alive, _ := env.PIDFileAlive(filepath.Join(machineDir, pidFile)); alive {
			vm.State = vmctl.Running
		}
	}
	if vm.Host == "" {
		vm.Skip = "config.json has no IPAddress (driver " + vmctl.QuoteForMessage(h.DriverName) + "; was the machine ever started?)"
	}
	return vm
}

func mkEngineName(driver string) string {
	if driver == "podman" {
		return "Podman"
	}
	return "Docker"
}
