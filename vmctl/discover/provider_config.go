package discover

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/manager"
)

// findConfigVMs lists the [[vm]] tables of vmdump's config.toml (format:
// config.go). A config.toml that does not parse shows up as one skipped
// entry named "config.toml", so that `vmdump list` says why the user's VMs
// are missing instead of listing nothing.
func findConfigVMs(env hostenv.Env) []vmctl.VM {
	cfg, err := LoadConfig(env)
	if err != nil {
		env.Logger().Warn("config.toml is not usable", "err", err)
		return []vmctl.VM{{
			Manager: "config",
			Name:    "config.toml",
			State:   vmctl.Unknown,
			Source:  env.ConfigFile(),
			Skip:    err.Error(),
		}}
	}
	var vms []vmctl.VM
	names := map[string]bool{}
	for i, c := range cfg.VMs {
		vm := cfgVM(env, i, c)
		if vm.Skip == "" && names[vm.Name] {
			vm = vmctl.Reject(vm, "another [[vm]] already uses the name "+vmctl.QuoteForMessage(vm.Name)+"; names must be unique")
			vm.Name = vm.Name + " (" + strconv.Itoa(i+1) + ")"
		}
		names[vm.Name] = true
		vms = append(vms, vm)
	}
	return vms
}

// cfgVM turns [[vm]] number i into a VM, validating every value.
func cfgVM(env hostenv.Env, i int, c ConfigVM) vmctl.VM {
	vm := vmctl.VM{
		Manager: "config",
		Name:    c.Name,
		Host:    c.Host,
		Port:    c.Port,
		User:    c.User,
		State:   vmctl.Unknown,
		Source:  env.ConfigFile(),
	}
	if strings.TrimSpace(vm.Name) == "" {
		vm.Name = cmp.Or(c.Host, c.Instance)
	}
	if strings.TrimSpace(vm.Name) == "" {
		vm.Name = "vm " + strconv.Itoa(i+1)
	}
	where := "[[vm]] #" + strconv.Itoa(i+1) + ": "
	if p := vmctl.NameProblem(vm.Name); p != "" {
		vm.Name = vmctl.SafeName(vm.Name)
		return vmctl.Reject(vm, where+"name "+p)
	}
	if c.ConfigExec.set() {
		return cfgExecVM(vm, where, c)
	}
	if c.Host == "" {
		return vmctl.Reject(vm, where+"host is missing")
	}
	if p := vmctl.HostProblem(c.Host); p != "" {
		return vmctl.Reject(vm, where+"host "+p)
	}
	if c.User != "" {
		if p := vmctl.UserProblem(c.User); p != "" {
			return vmctl.Reject(vm, where+"user "+p)
		}
	}
	switch {
	case c.Port == 0:
		vm.Port = 22
	case c.Port < 0 || c.Port > 65535:
		return vmctl.Reject(vm, where+"port "+strconv.Itoa(c.Port)+" is not a TCP port")
	}
	if c.Interface != "" {
		if p := vmctl.IfaceProblem(c.Interface); p != "" {
			return vmctl.Reject(vm, where+"interface "+p)
		}
		vm.Interface = c.Interface
	}
	if c.ProxyJump != "" {
		if p := vmctl.ProxyJumpProblem(c.ProxyJump); p != "" {
			return vmctl.Reject(vm, where+"proxy_jump "+p)
		}
		vm.ProxyJump = c.ProxyJump
	}
	if c.Key != "" {
		if p := vmctl.PathProblem(c.Key); p != "" {
			return vmctl.Reject(vm, where+"key "+p)
		}
		key := env.ExpandHome(c.Key)
		if key == "" {
			return vmctl.Reject(vm, where+"key "+vmctl.QuoteForMessage(c.Key)+" needs a home directory, and none is known")
		}
		if !hostenv.IsAbs(key) {
			// Relative to the config file, not to Wireshark's working dir.
			key = filepath.Join(env.ConfigDir(), key)
		}
		vm.KeyFiles = []string{key}
	}
	switch c.HostKey {
	case "pin":
		vm.Loopback = true
	case "known_hosts":
		vm.Loopback = false
	case "":
		vm.Loopback = vmctl.IsLoopbackHost(c.Host)
	default:
		return vmctl.Reject(vm, where+"host_key "+vmctl.QuoteForMessage(c.HostKey)+` is neither "known_hosts" nor "pin"`)
	}
	return vm
}

func (c ConfigExec) set() bool {
	return len(c.Exec) > 0 || c.Transport != "" || c.Instance != "" || c.Image != "" || c.ExecQuote
}

// cfgExecVM finishes a [[vm]] reached through a local command: the SSH
// settings make no sense there and are refused rather than ignored.
func cfgExecVM(vm vmctl.VM, where string, c ConfigVM) vmctl.VM {
	vm.Port = 0
	for _, kv := range [][2]string{{"host", c.Host}, {"user", c.User}, {"key", c.Key}, {"proxy_jump", c.ProxyJump}, {"host_key", c.HostKey}} {
		if kv[1] != "" {
			return vmctl.Reject(vm, where+kv[0]+" is an SSH setting; a VM with exec or transport has none")
		}
	}
	if c.Port != 0 {
		return vmctl.Reject(vm, where+"port is an SSH setting; a VM with exec or transport has none")
	}
	if c.Interface != "" {
		if p := vmctl.IfaceProblem(c.Interface); p != "" {
			return vmctl.Reject(vm, where+"interface "+p)
		}
		vm.Interface = c.Interface
	}
	argv, quote, err := c.ConfigExec.argv(vm.Name)
	if err != nil {
		return vmctl.Reject(vm, where+err.Error())
	}
	vm.Exec, vm.ExecQuote = argv, quote
	return vm
}

// argv is the Exec prefix c describes for the VM called vmName.
func (c ConfigExec) argv(vmName string) ([]string, bool, error) {
	switch {
	case len(c.Exec) > 0 && c.Transport != "":
		return nil, false, fmt.Errorf("give either exec or transport, not both")
	case len(c.Exec) > 0:
		if c.Instance != "" || c.Image != "" {
			return nil, false, fmt.Errorf("instance and image go with transport, not with exec")
		}
		if strings.TrimSpace(c.Exec[0]) == "" {
			return nil, false, fmt.Errorf("exec has an empty program name")
		}
		for _, a := range c.Exec {
			if strings.ContainsAny(a, "\x00\n\r") {
				return nil, false, fmt.Errorf("exec argument %s contains a NUL or line break", vmctl.QuoteForMessage(a))
			}
		}
		return append([]string(nil), c.Exec...), c.ExecQuote, nil
	case c.Transport != "":
		if c.ExecQuote {
			return nil, false, fmt.Errorf("exec_quote goes with exec; a transport knows its own quoting")
		}
		return manager.ExecPreset(c.Transport, vmName, c.Instance, c.Image)
	}
	return nil, false, fmt.Errorf("exec or transport is missing")
}

// applyConfigTransports switches the VMs that config.toml's
// [[vm_transport]] tables name (manager + name) to their exec transport.
// An entry that names no listed VM is logged; one with bad values makes
// its VM skipped with the reason, so that `vmdump list` shows it.
func applyConfigTransports(env hostenv.Env, vms []vmctl.VM) []vmctl.VM {
	cfg, err := LoadConfig(env)
	if err != nil || len(cfg.Transports) == 0 {
		return vms // a broken file is already listed by findConfigVMs
	}
	for i, t := range cfg.Transports {
		where := "config.toml [[vm_transport]] #" + strconv.Itoa(i+1) + ": "
		found := false
		for j := range vms {
			vm := &vms[j]
			if vm.Manager != t.Manager || vm.Name != t.Name {
				continue
			}
			found = true
			if vm.Skip != "" {
				continue
			}
			argv, quote, err := t.ConfigExec.argv(vm.Name)
			if err != nil {
				*vm = vmctl.Reject(*vm, where+err.Error())
				continue
			}
			vm.Exec, vm.ExecQuote = argv, quote
		}
		if !found {
			env.Logger().Warn("[[vm_transport]] in config.toml names no VM vmdump found; see `vmdump list`",
				"entry", i+1, "manager", t.Manager, "name", t.Name)
		}
	}
	return vms
}
