package manager

import (
	"encoding/json"
	"path/filepath"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findMultipass lists Multipass instances, reached through `multipass exec
// <instance> --` (the "multipass" exec preset): Multipass's SSH key and
// instance IPs belong to its root daemon, its CLI is the way in. The
// instance database multipassd-vm-instances.json is root-only too
// (canonical/multipass src/daemon/daemon.cpp, packaging/macos/uninstall.sh:
// /var/root/Library/Application Support/multipassd; the snap's
// /var/snap/multipass/common/data/multipassd; C:\ProgramData\Multipass\data):
// when it is readable (vmdump run as root) every instance is listed with
// its state; otherwise one entry stands for the instance Multipass itself
// defaults to, "primary", and its note says how to name others.
func FindMultipass(env hostenv.Env) []vmctl.VM {
	var candidates []string
	switch env.GOOS {
	case "darwin":
		candidates = []string{
			env.RootPath("/var/root/Library/Application Support/multipassd"),
			env.RootPath("/Library/Application Support/com.canonical.multipass"),
		}
	case "windows":
		if d := env.EnvDir("ProgramData"); d != "" {
			candidates = []string{filepath.Join(d, "Multipass")}
		}
	default:
		candidates = []string{env.RootPath("/var/snap/multipass/common/data/multipassd")}
	}
	for _, c := range candidates {
		if !env.Exists(c) {
			continue
		}
		if vms := multipassInstances(env, c); vms != nil {
			return vms
		}
		argv, _, _ := ExecPreset("multipass", multipassDefaultInstance, "", "")
		return []vmctl.VM{{
			Manager: "multipass",
			Name:    multipassDefaultInstance,
			State:   vmctl.Unknown,
			Source:  c,
			Exec:    argv,
			Note:    "instance list is root-only: assumed Multipass's default instance; for another, add [[vm]] transport = \"multipass\" to config.toml",
		}}
	}
	return nil
}

// multipassDefaultInstance is the instance `multipass shell` uses without a
// name.
const multipassDefaultInstance = "primary"

// multipassRecord is the part of an instance record vmdump reads
// (src/utils/vm_specs.cpp).
type multipassRecord struct {
	State   *int `json:"state"`
	Deleted bool `json:"deleted"`
}

// multipassInstances reads the daemon's instance database under dir (or
// dir/data on Windows); nil when there is none vmdump may read.
func multipassInstances(env hostenv.Env, dir string) []vmctl.VM {
	for _, p := range []string{filepath.Join(dir, "multipassd-vm-instances.json"), filepath.Join(dir, "data", "multipassd-vm-instances.json")} {
		data, err := env.ReadFile(p, hostenv.MaxSmall)
		if err != nil {
			continue
		}
		var db map[string]multipassRecord
		if err := json.Unmarshal(data, &db); err != nil {
			env.Logger().Warn("Multipass instance database is not readable JSON", "file", p, "err", err)
			return nil
		}
		vms := []vmctl.VM{}
		for name, r := range db {
			if r.Deleted {
				continue
			}
			argv, _, err := ExecPreset("multipass", name, "", "")
			vm := vmctl.VM{Manager: "multipass", Name: name, State: multipassState(r.State), Source: p, Exec: argv}
			if err != nil {
				vm = vmctl.Reject(vm, err.Error())
			}
			vms = append(vms, vm)
		}
		return vms
	}
	return nil
}

// multipassState maps the daemon's enum (include/multipass/virtual_machine.h:
// off=0, stopped=1, ..., running=4).
func multipassState(s *int) vmctl.State {
	switch {
	case s == nil:
		return vmctl.Unknown
	case *s == 4:
		return vmctl.Running
	case *s == 0 || *s == 1:
		return vmctl.Stopped
	}
	return vmctl.Unknown
}
