package manager

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"

	"github.com/BurntSushi/toml"
)

// findBoot2Docker lists the boot2docker-cli VM. Its directory is
// $BOOT2DOCKER_DIR or ~/.boot2docker, its optional profile
// $BOOT2DOCKER_PROFILE or <dir>/profile, TOML decoded into
// driver.MachineConfig with the field names as keys (boot2docker/
// boot2docker-cli config.go cfgDir, cfgFilename, config; driver/config.go).
// Defaults: VM "boot2docker-vm", SSHPort 2022 (a VirtualBox NAT forward to
// 127.0.0.1), user "docker", key ~/.ssh/id_boot2docker. The CLI is
// installed when boot2docker.iso or the profile exists. The running state
// lives only in VirtualBox: Unknown.
func FindBoot2Docker(env hostenv.Env) []vmctl.VM {
	dir := env.DirOr("BOOT2DOCKER_DIR", ".boot2docker")
	if dir == "" {
		return nil
	}
	profile := env.EnvDir("BOOT2DOCKER_PROFILE")
	if profile == "" {
		profile = filepath.Join(dir, "profile")
	}
	iso := filepath.Join(dir, "boot2docker.iso")
	if !env.Exists(iso) && !env.Exists(profile) {
		return nil
	}
	vm := vmctl.VM{
		Manager:   "boot2docker",
		Name:      "boot2docker-vm",
		Host:      "127.0.0.1",
		Port:      2022,
		User:      "docker",
		Loopback:  true,
		State:     vmctl.Unknown,
		Interface: "eth1",
		OS:        "boot2docker (Tiny Core Linux)",
		Source:    iso,
	}
	if key := env.HomePath(".ssh", "id_boot2docker"); key != "" {
		vm.KeyFiles = []string{key}
	}
	data, err := env.ReadFile(profile, hostenv.MaxSmall)
	if errors.Is(err, fs.ErrNotExist) {
		return []vmctl.VM{vm}
	}
	vm.Source = profile
	if err != nil {
		vm.Skip = "profile " + hostenv.FileProblem(profile, err)
		return []vmctl.VM{vm}
	}
	var p b2dProfile
	if _, err := toml.Decode(string(data), &p); err != nil {
		vm.Skip = "profile is not valid TOML (" + oneline.Untrusted(hostenv.TOMLProblem(data, err)) + ")"
		return []vmctl.VM{vm}
	}
	if p.VM != "" {
		vm.Name = p.VM
	}
	if p.SSHPort != 0 {
		vm.Port = p.SSHPort
	}
	if p.SSHUser != "" {
		vm.User = p.SSHUser
	}
	if p.SSHKey != "" {
		if k := env.ExpandHome(strings.TrimSpace(p.SSHKey)); k != "" {
			vm.KeyFiles = []string{k}
		}
	}
	return []vmctl.VM{vm}
}

// b2dProfile is the part of driver.MachineConfig discovery reads.
type b2dProfile struct {
	VM      string
	SSHKey  string
	SSHPort int
	SSHUser string
}
