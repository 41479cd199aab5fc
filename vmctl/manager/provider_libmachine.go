package manager

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// libmachineHost is the part of a libmachine machines/<name>/config.json
// discovery reads (docker/machine libmachine/host/host.go Host,
// libmachine/drivers/base.go BaseDriver; ConfigVersion 3). minikube stores
// its machines in the same format, with extra driver fields such as the
// qemu2 driver's Network (kubernetes/minikube pkg/drivers/qemu/qemu.go).
type libmachineHost struct {
	ConfigVersion int
	DriverName    string
	Name          string
	Driver        libmachineDriver
}

type libmachineDriver struct {
	IPAddress   string
	MachineName string
	SSHUser     string
	SSHPort     int
	SSHKeyPath  string
	StorePath   string
	Network     string
}

// libmachineParse decodes a config.json. Its error describes the content
// (for the skip reason), not the file.
func libmachineParse(data []byte) (libmachineHost, error) {
	var h libmachineHost
	if err := json.Unmarshal(data, &h); err != nil {
		return libmachineHost{}, err
	}
	if h.DriverName == "" {
		return libmachineHost{}, errors.New("has no DriverName")
	}
	return h, nil
}

// libmachineRead reads <machinesDir>/<name>/config.json; on failure it
// returns a skip reason.
func libmachineRead(env hostenv.Env, machineDir string) (libmachineHost, string) {
	path := filepath.Join(machineDir, "config.json")
	data, err := env.ReadFile(path, hostenv.MaxSmall)
	if errors.Is(err, fs.ErrNotExist) {
		return libmachineHost{}, "config.json is missing (machine half created or half deleted?)"
	}
	if err != nil {
		return libmachineHost{}, hostenv.FileProblem(path, err)
	}
	h, err := libmachineParse(data)
	if err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		if len(data) == 0 || errors.As(err, &se) || errors.As(err, &te) {
			return libmachineHost{}, hostenv.JSONProblem(path, data, err)
		}
		return libmachineHost{}, "config.json " + err.Error()
	}
	return h, ""
}

// libmachineKeys is the driver's SSHKeyPath (absolute, written at create
// time) followed by <store>/machines/<name>/id_rsa (BaseDriver.GetSSHKeyPath's
// default, in the store we are actually reading, which differs from the
// recorded path when the store was moved).
func libmachineKeys(h libmachineHost, machineDir string) []string {
	def := filepath.Join(machineDir, "id_rsa")
	if h.Driver.SSHKeyPath == "" || h.Driver.SSHKeyPath == def {
		return []string{def}
	}
	return []string{h.Driver.SSHKeyPath, def}
}

// libmachineEach is vm of each machine directory under machines, the
// layout libmachine gives docker-machine and minikube alike
// (<machines>/<name>/config.json). An unreadable machines directory
// (what names it) lists nothing and is logged.
func libmachineEach(env hostenv.Env, machines, what string, vm func(env hostenv.Env, machineDir, name string) vmctl.VM) []vmctl.VM {
	names, err := env.Subdirs(machines)
	if err != nil {
		env.Logger().Warn(what+" not readable", "dir", machines, "err", err)
		return nil
	}
	var vms []vmctl.VM
	for _, name := range names {
		vms = append(vms, vm(env, filepath.Join(machines, name), name))
	}
	return vms
}
