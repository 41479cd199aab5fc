package manager

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findPodman lists Podman machines: <config home>/containers/podman/machine/
// <provider>/<name>.json, where the config home is $XDG_CONFIG_HOME or
// ~/.config on Unix and %USERPROFILE%\.config on Windows
// (containers/podman pkg/machine/env/dir.go ConfDirPrefix,
// containers/storage pkg/homedir). Podman 5 nests the SSH settings in
// "SSH": {IdentityPath, Port, RemoteUsername} (pkg/machine/vmconfigs/
// config.go MachineConfig); Podman 4 embedded the same struct, so the keys
// are top-level (v4.9.0 pkg/machine/qemu/machine.go MachineVM). The SSH
// port is a gvproxy forward on localhost (pkg/machine/ssh.go). The state is
// not on disk in a form worth trusting (v5 asks the hypervisor): Unknown.
func FindPodman(env hostenv.Env) []vmctl.VM {
	base := pmConfigDir(env)
	if base == "" {
		return nil
	}
	providers, err := env.Subdirs(base)
	if err != nil {
		env.Logger().Warn("Podman machine dir not readable", "dir", base, "err", err)
		return nil
	}
	pmSortProviders(env.GOOS, providers)
	var vms []vmctl.VM
	names := map[string]bool{}
	for _, prov := range providers {
		files, err := env.Files(filepath.Join(base, prov), ".json")
		if err != nil {
			env.Logger().Warn("Podman machine dir not readable", "dir", filepath.Join(base, prov), "err", err)
			continue
		}
		for _, f := range files {
			vm := pmVM(env, filepath.Join(base, prov, f), prov)
			// The same name under two providers (after switching
			// CONTAINERS_MACHINE_PROVIDER) is two machines.
			if names[vm.Name] {
				vm.Name += " (" + prov + ")"
			}
			names[vm.Name] = true
			vms = append(vms, vm)
		}
	}
	return vms
}

func pmConfigDir(env hostenv.Env) string {
	if env.GOOS == "windows" {
		return env.HomePath(".config", "containers", "podman", "machine")
	}
	if d := env.EnvDir("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "containers", "podman", "machine")
	}
	return env.HomePath(".config", "containers", "podman", "machine")
}

// pmDefaultKey is pkg/machine/env/dir.go GetSSHIdentityPath("machine").
func pmDefaultKey(env hostenv.Env) string {
	if env.GOOS != "windows" {
		if d := env.EnvDir("XDG_DATA_HOME"); d != "" {
			return filepath.Join(d, "containers", "podman", "machine", "machine")
		}
	}
	return env.HomePath(".local", "share", "containers", "podman", "machine", "machine")
}

// pmSortProviders puts the OS's default provider first (pkg/machine/
// provider: qemu on Linux, applehv on macOS, wsl on Windows), so that its
// machine keeps the plain name when another provider has the same one.
func pmSortProviders(goos string, provs []string) {
	rank := map[string]int{}
	switch goos {
	case "darwin":
		rank = map[string]int{"applehv": 0, "libkrun": 1}
	case "windows":
		rank = map[string]int{"wsl": 0, "hyperv": 1}
	default:
		rank = map[string]int{"qemu": 0}
	}
	sort.SliceStable(provs, func(a, b int) bool {
		ra, oka := rank[provs[a]]
		rb, okb := rank[provs[b]]
		if oka != okb {
			return oka
		}
		if oka && ra != rb {
			return ra < rb
		}
		return provs[a] < provs[b]
	})
}

// pmSSH is the SSH part of a machine file, in either shape.
type pmSSH struct {
	IdentityPath   string
	Port           int
	RemoteUsername string
}

// pmMachine is the part of a machine file discovery reads.
type pmMachine struct {
	Name string
	SSH  *pmSSH
	pmSSH
	HostUser *struct{ Rootful bool }
	Rootful  bool
}

// pmParse decodes a machine file of Podman 4 or 5.
func pmParse(data []byte) (pmMachine, error) {
	var m pmMachine
	if err := json.Unmarshal(data, &m); err != nil {
		return pmMachine{}, err
	}
	if m.SSH != nil {
		m.pmSSH = *m.SSH
	}
	if m.HostUser != nil {
		m.Rootful = m.HostUser.Rootful
	}
	return m, nil
}

func pmVM(env hostenv.Env, path, provider string) vmctl.VM {
	stem := strings.TrimSuffix(filepath.Base(path), ".json")
	vm := vmctl.VM{
		Manager:   "podman",
		Name:      stem,
		State:     vmctl.Unknown,
		Interface: "eth0",
		Source:    path,
	}
	data, err := env.ReadFile(path, hostenv.MaxSmall)
	if err != nil {
		vm.Skip = hostenv.FileProblem(path, err)
		return vm
	}
	m, err := pmParse(data)
	if err != nil {
		vm.Skip = hostenv.JSONProblem(path, data, err)
		return vm
	}
	if m.Name != "" && m.Name != stem {
		env.Logger().Debug("Podman machine file name and Name differ; using the file name", "file", path, "name", m.Name)
	}
	vm.Host, vm.Port, vm.User, vm.Loopback = "127.0.0.1", m.Port, m.RemoteUsername, true
	if vm.User == "" {
		vm.User = "core"
		if provider == "wsl" {
			vm.User = "user"
		}
	}
	key := m.IdentityPath
	if key == "" {
		key = pmDefaultKey(env)
	}
	if key != "" {
		vm.KeyFiles = []string{key}
	}
	vm.OS = "Fedora CoreOS (podman-machine-os)"
	if provider == "wsl" {
		vm.OS = "Fedora (podman-machine-os, WSL)"
	}
	if !m.Rootful {
		vm.Note = "rootless: containers use pasta, so their traffic has no bridge or veth in the VM to capture on"
	}
	if vm.Port <= 0 {
		vm.Skip = filepath.Base(path) + " has no SSH port (SSH.Port, or Port for Podman 4)"
	}
	return vm
}
