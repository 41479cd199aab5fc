package vmctl

import (
	"path/filepath"
	"strconv"
	"strings"
)

// findConfigVMs lists the [[vm]] tables of vmdump's config.toml (format:
// config.go). A config.toml that does not parse shows up as one skipped
// entry named "config.toml", so that `vmdump list` says why the user's VMs
// are missing instead of listing nothing.
func findConfigVMs(env Env) []VM {
	cfg, err := LoadConfig(env)
	if err != nil {
		env.logger().Warn("config.toml is not usable", "err", err)
		return []VM{{
			Manager: "config",
			Name:    "config.toml",
			State:   Unknown,
			Source:  env.ConfigFile(),
			Skip:    err.Error(),
		}}
	}
	var vms []VM
	names := map[string]bool{}
	for i, c := range cfg.VMs {
		vm := cfgVM(env, i, c)
		if vm.Skip == "" && names[vm.Name] {
			vm = discReject(vm, "another [[vm]] already uses the name "+discQuote(vm.Name)+"; names must be unique")
			vm.Name = vm.Name + " (" + strconv.Itoa(i+1) + ")"
		}
		names[vm.Name] = true
		vms = append(vms, vm)
	}
	return vms
}

// cfgVM turns [[vm]] number i into a VM, validating every value.
func cfgVM(env Env, i int, c ConfigVM) VM {
	vm := VM{
		Manager: "config",
		Name:    c.Name,
		Host:    c.Host,
		Port:    c.Port,
		User:    c.User,
		State:   Unknown,
		Source:  env.ConfigFile(),
	}
	if strings.TrimSpace(vm.Name) == "" {
		vm.Name = c.Host
	}
	if strings.TrimSpace(vm.Name) == "" {
		vm.Name = "vm " + strconv.Itoa(i+1)
	}
	where := "[[vm]] #" + strconv.Itoa(i+1) + ": "
	if p := discNameProblem(vm.Name); p != "" {
		vm.Name = discSafeName(vm.Name)
		return discReject(vm, where+"name "+p)
	}
	if c.Host == "" {
		return discReject(vm, where+"host is missing")
	}
	if p := discHostProblem(c.Host); p != "" {
		return discReject(vm, where+"host "+p)
	}
	if c.User != "" {
		if p := discUserProblem(c.User); p != "" {
			return discReject(vm, where+"user "+p)
		}
	}
	switch {
	case c.Port == 0:
		vm.Port = 22
	case c.Port < 0 || c.Port > 65535:
		return discReject(vm, where+"port "+strconv.Itoa(c.Port)+" is not a TCP port")
	}
	if c.Interface != "" {
		if p := discIfaceProblem(c.Interface); p != "" {
			return discReject(vm, where+"interface "+p)
		}
		vm.Interface = c.Interface
	}
	if c.ProxyJump != "" {
		if p := discProxyJumpProblem(c.ProxyJump); p != "" {
			return discReject(vm, where+"proxy_jump "+p)
		}
		vm.ProxyJump = c.ProxyJump
	}
	if c.Key != "" {
		if p := discPathProblem(c.Key); p != "" {
			return discReject(vm, where+"key "+p)
		}
		key := env.expandHome(c.Key)
		if key == "" {
			return discReject(vm, where+"key "+discQuote(c.Key)+" needs a home directory, and none is known")
		}
		if !discIsAbs(key) {
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
		vm.Loopback = discIsLoopbackHost(c.Host)
	default:
		return discReject(vm, where+"host_key "+discQuote(c.HostKey)+` is neither "known_hosts" nor "pin"`)
	}
	return vm
}
