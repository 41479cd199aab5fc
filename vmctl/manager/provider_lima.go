package manager

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findLima lists Lima instances: the subdirectories of $LIMA_HOME or
// ~/.lima whose names do not start with '_' or '.' and that hold a
// lima.yaml (lima-vm/lima pkg/limatype/dirnames/dirnames.go LimaDir,
// pkg/store/store.go Instances, pkg/store/instance.go Inspect). The SSH
// endpoint comes from <inst>/ssh.config, which the hostagent writes at start
// (pkg/hostagent/hostagent.go, pkg/sshutil/format.go); the state from the
// pid files (pkg/store/instance.go inspectStatusWithPIDFiles).
func FindLima(env hostenv.Env) []vmctl.VM {
	dir := limaHome(env)
	var vms []vmctl.VM
	for _, inst := range limaInstances(env, dir) {
		vm, y := limaReadInstance(env, dir, inst, "lima", inst, "limactl start "+inst)
		vm.Note = y.rootlessNote()
		vms = append(vms, vm)
	}
	return vms
}

// limaHome is $LIMA_HOME or ~/.lima.
func limaHome(env hostenv.Env) string { return env.DirOr("LIMA_HOME", ".lima") }

// limaInstances lists the instance directory names of a Lima dir.
func limaInstances(env hostenv.Env, dir string) []string {
	subs, err := env.Subdirs(dir)
	if err != nil {
		env.Logger().Warn("Lima directory not readable", "dir", dir, "err", err)
		return nil
	}
	var out []string
	for _, name := range subs {
		if strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			continue
		}
		// Lima itself ignores a directory without lima.yaml.
		if !env.Exists(filepath.Join(dir, name, "lima.yaml")) {
			env.Logger().Debug("not a Lima instance (no lima.yaml)", "dir", filepath.Join(dir, name))
			continue
		}
		out = append(out, name)
	}
	return out
}

// limaReadInstance reads one instance directory of a Lima dir. Colima and
// Rancher Desktop instances are Lima instances too, so they come through
// here with their own manager, name and start command.
func limaReadInstance(env hostenv.Env, limaDir, inst, manager, name, startCmd string) (vmctl.VM, limaYAML) {
	instDir := filepath.Join(limaDir, inst)
	sshPath := filepath.Join(instDir, "ssh.config")
	y := limaLoadYAML(env, limaDir, instDir)
	vm := vmctl.VM{
		Manager:   manager,
		Name:      name,
		State:     limaState(env, instDir, y.VMType),
		Interface: "eth0",
		Loopback:  true,
		Source:    sshPath,
	}
	data, err := env.ReadFile(sshPath, hostenv.MaxSmall)
	if errors.Is(err, fs.ErrNotExist) {
		vm.Skip = "never started: ssh.config is missing (it is written at the first `" + startCmd + "`)"
		return vm, y
	}
	if err != nil {
		vm.Skip = hostenv.FileProblem(sshPath, err)
		return vm, y
	}
	s, problem := limaParseSSHConfig(data)
	if problem != "" {
		vm.Skip = "ssh.config " + problem
		return vm, y
	}
	vm.Host, vm.Port, vm.User = s.HostName, s.Port, s.User
	for _, k := range s.IdentityFiles {
		if k = env.ExpandHome(k); k != "" {
			vm.KeyFiles = append(vm.KeyFiles, k)
		}
	}
	if len(vm.KeyFiles) == 0 {
		vm.KeyFiles = []string{filepath.Join(limaDir, "_config", "user")}
	}
	return vm, y
}

// limaLoadYAML merges _config/override.yaml, the instance's lima.yaml and
// _config/default.yaml the way Lima does.
func limaLoadYAML(env hostenv.Env, limaDir, instDir string) limaYAML {
	read := func(path string) limaYAML {
		data, err := env.ReadFile(path, hostenv.MaxSmall)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				env.Logger().Debug("Lima YAML not readable", "file", path, "err", err)
			}
			return limaYAML{}
		}
		return limaScanYAML(data)
	}
	return limaMergeYAML(
		read(filepath.Join(limaDir, "_config", "override.yaml")),
		read(filepath.Join(instDir, "lima.yaml")),
		read(filepath.Join(limaDir, "_config", "default.yaml")),
	)
}

// limaState applies Lima's rule: hostagent (ha.pid) and driver
// (<vmType>.pid) both alive is Running, neither is Stopped. Lima calls the
// mixed case Broken; here it is Unknown. Without a vmType in the YAML the
// driver pid file is any *.pid other than ha.pid.
func limaState(env hostenv.Env, instDir, vmType string) vmctl.State {
	ha, _ := env.PIDFileAlive(filepath.Join(instDir, "ha.pid"))
	var drivers []string
	if vmType != "" && !strings.ContainsAny(vmType, `/\`) {
		drivers = []string{vmType + ".pid"}
	} else {
		names, _ := env.Files(instDir, ".pid")
		for _, n := range names {
			if n != "ha.pid" {
				drivers = append(drivers, n)
			}
		}
	}
	drv := false
	for _, n := range drivers {
		if alive, _ := env.PIDFileAlive(filepath.Join(instDir, n)); alive {
			drv = true
		}
	}
	switch {
	case ha && drv:
		return vmctl.Running
	case !ha && !drv:
		return vmctl.Stopped
	}
	return vmctl.Unknown
}

// limaSSH is what an instance's ssh.config says.
type limaSSH struct {
	HostName      string
	Port          int
	User          string
	IdentityFiles []string
}

// limaParseSSHConfig reads the first concrete Host block of a Lima
// ssh.config (`Host lima-<inst>`; values may be double-quoted). It returns
// a problem ("has no Port") instead of an error value, for the skip reason.
func limaParseSSHConfig(data []byte) (limaSSH, string) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return limaSSH{}, "is empty"
	}
	var host *sshcfgHost
	for _, part := range sshcfgSplit(data) {
		if part.includes != nil {
			continue
		}
		hosts, err := sshcfgSkim(part.text)
		if err != nil {
			return limaSSH{}, "is not an OpenSSH config (" + oneline.Untrusted(err.Error()) + ")"
		}
		for i := range hosts {
			if len(hosts[i].aliases()) > 0 {
				host = &hosts[i]
				break
			}
		}
		if host != nil {
			break
		}
	}
	if host == nil {
		return limaSSH{}, "has no Host block"
	}
	s := limaSSH{HostName: host.first("hostname"), User: host.first("user")}
	portText := host.first("port")
	for _, kv := range host.kv {
		if kv.key == "identityfile" && kv.value != "" {
			s.IdentityFiles = append(s.IdentityFiles, kv.value)
		}
	}
	if portText == "" {
		return limaSSH{}, "has no Port"
	}
	p, err := strconv.Atoi(portText)
	if err != nil || p <= 0 || p > 65535 {
		return limaSSH{}, "has Port " + vmctl.QuoteForMessage(portText) + ", not a TCP port"
	}
	s.Port = p
	if s.HostName == "" {
		s.HostName = "127.0.0.1"
	}
	return s, ""
}
