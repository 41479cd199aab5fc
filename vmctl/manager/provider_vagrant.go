package manager

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findVagrant lists the machines of Vagrant's global index,
// $VAGRANT_HOME (default ~/.vagrant.d)/data/machine-index/index:
// {"version":1,"machines":{"<uuid>":{"name","provider","state",
// "local_data_path","vagrantfile_path",…}}} (hashicorp/vagrant
// lib/vagrant/machine_index.rb). A machine's files are in
// <local_data_path>/machines/<name>/<provider>/: `id` (the provider's VM
// id), `private_key` when Vagrant replaced the insecure key
// (lib/vagrant/machine.rb ssh_info), else the insecure keys in
// $VAGRANT_HOME (lib/vagrant/environment.rb). The index's "state" is only
// what the last vagrant command saw, so the state is Unknown.
//
// VirtualBox forwards 127.0.0.1:2222 to guest 22 by default, but with
// auto_correct (plugins/kernel_v2/config/vm.rb), so the real port is read
// from the VM's .vbox file (<Forwarding name="ssh" … hostport=…>), found
// through VirtualBox.xml's <MachineEntry uuid="{id}" src=…>. Other providers
// know the address only at run time (`vagrant ssh-config`): listed without
// an endpoint.
func FindVagrant(env hostenv.Env) []vmctl.VM {
	vhome := env.DirOr("VAGRANT_HOME", ".vagrant.d")
	if vhome == "" {
		return nil
	}
	indexPath := filepath.Join(vhome, "data", "machine-index", "index")
	data, err := env.ReadFile(indexPath, hostenv.MaxIndex)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		env.Logger().Warn("Vagrant machine index not readable; Vagrant VMs are not listed", "file", indexPath, "problem", hostenv.FileProblem(indexPath, err))
		return nil
	}
	idx, err := vgParseIndex(data)
	if err != nil {
		env.Logger().Warn("Vagrant machine index not understood; Vagrant VMs are not listed", "file", indexPath, "problem", hostenv.JSONProblem(indexPath, data, err))
		return nil
	}
	uuids := make([]string, 0, len(idx.Machines))
	for u := range idx.Machines {
		uuids = append(uuids, u)
	}
	sort.Strings(uuids)
	reg := &vboxRegistry{env: env}
	var vms []vmctl.VM
	for _, u := range uuids {
		vms = append(vms, vgVM(env, vhome, indexPath, idx.Machines[u], reg))
	}
	return vms
}

type vgIndex struct {
	Version  int
	Machines map[string]vgMachine `json:"machines"`
}

type vgMachine struct {
	Name            string `json:"name"`
	Provider        string `json:"provider"`
	State           string `json:"state"`
	LocalDataPath   string `json:"local_data_path"`
	VagrantfilePath string `json:"vagrantfile_path"`
}

func vgParseIndex(data []byte) (vgIndex, error) {
	var idx vgIndex
	err := json.Unmarshal(data, &idx)
	return idx, err
}

func vgVM(env hostenv.Env, vhome, indexPath string, m vgMachine, reg *vboxRegistry) vmctl.VM {
	name := m.Name
	if m.VagrantfilePath != "" {
		name = filepath.Base(filepath.Clean(m.VagrantfilePath)) + "/" + m.Name
	}
	vm := vmctl.VM{Manager: "vagrant", Name: name, State: vmctl.Unknown, User: "vagrant", Source: indexPath}
	var notes []string
	if m.State != "" {
		notes = append(notes, "state not checked; vagrant last saw it "+oneline.Untrusted(m.State))
	}
	if m.Name == "" || m.Provider == "" || m.LocalDataPath == "" {
		vm.User = ""
		vm.Skip = "index entry lacks name, provider or local_data_path"
		return vm
	}
	if vgBadPathPart(m.Name) || vgBadPathPart(m.Provider) {
		vm.User = ""
		vm.Skip = "index entry has a name or provider that is not a plain file name"
		return vm
	}
	machineDir := filepath.Join(m.LocalDataPath, "machines", m.Name, m.Provider)
	if !env.IsDir(machineDir) {
		vm.User = ""
		vm.Note = strings.Join(notes, "; ")
		vm.Skip = "project data is gone (" + oneline.Untrusted(machineDir) + "); `vagrant global-status --prune` forgets it"
		return vm
	}
	vm.Source = machineDir
	vm.KeyFiles = vgKeys(env, vhome, machineDir)

	if m.Provider != "virtualbox" {
		notes = append(notes, "provider "+oneline.Untrusted(m.Provider)+": the SSH address is known only to `vagrant ssh-config`")
		vm.Note = strings.Join(notes, "; ")
		return vm
	}
	vm.Host, vm.Port, vm.Loopback, vm.Interface = "127.0.0.1", 2222, true, "eth0"
	port := 0
	if idData, err := env.ReadFile(filepath.Join(machineDir, "id"), hostenv.MaxPID); err == nil {
		port = reg.sshPort(strings.TrimSpace(string(idData)))
	}
	if port > 0 {
		vm.Port = port
	} else {
		notes = append(notes, "port 2222 is Vagrant's default; auto_correct may have moved it (see `vagrant ssh-config`)")
	}
	vm.Note = strings.Join(notes, "; ")
	return vm
}

// vgBadPathPart refuses index values that would walk out of the machine
// directory.
func vgBadPathPart(s string) bool {
	return s == "." || s == ".." || strings.ContainsAny(s, `/\`) || strings.ContainsRune(s, 0)
}

// vgKeys is the machine's private_key, else the insecure keys.
func vgKeys(env hostenv.Env, vhome, machineDir string) []string {
	if k := filepath.Join(machineDir, "private_key"); env.IsFile(k) {
		return []string{k}
	}
	var keys []string
	if k := filepath.Join(vhome, "insecure_private_key"); env.IsFile(k) {
		keys = append(keys, k)
	}
	dir := filepath.Join(vhome, "insecure_private_keys")
	if names, err := env.Files(dir, ""); err == nil {
		for _, n := range names {
			if !strings.HasSuffix(n, ".pub") && env.IsFile(filepath.Join(dir, n)) {
				keys = append(keys, filepath.Join(dir, n))
			}
		}
	}
	return keys
}

// vboxRegistry maps VirtualBox VM UUIDs to their .vbox files, read once.
type vboxRegistry struct {
	env    hostenv.Env
	loaded bool
	dir    string
	byUUID map[string]string
}

// vboxHome is $VBOX_USER_HOME, else ~/Library/VirtualBox (macOS),
// ~/.config/VirtualBox or the older ~/.VirtualBox (Linux),
// %USERPROFILE%\.VirtualBox (Windows).
func vboxHome(env hostenv.Env) string {
	if d := env.EnvDir("VBOX_USER_HOME"); d != "" {
		return d
	}
	var cands []string
	switch env.GOOS {
	case "darwin":
		cands = []string{env.HomePath("Library", "VirtualBox")}
	case "windows":
		cands = []string{env.HomePath(".VirtualBox")}
	default:
		cands = []string{env.HomePath(".config", "VirtualBox"), env.HomePath(".VirtualBox")}
	}
	for _, c := range cands {
		if env.IsFile(filepath.Join(c, "VirtualBox.xml")) {
			return c
		}
	}
	return ""
}

func (r *vboxRegistry) load() {
	r.loaded = true
	r.byUUID = map[string]string{}
	r.dir = vboxHome(r.env)
	if r.dir == "" {
		return
	}
	path := filepath.Join(r.dir, "VirtualBox.xml")
	data, err := r.env.ReadFile(path, hostenv.MaxIndex)
	if err != nil {
		r.env.Logger().Debug("VirtualBox registry not readable", "file", path, "err", err)
		return
	}
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		tok, err := dec.Token()
		if err != nil {
			if err != io.EOF {
				r.env.Logger().Debug("VirtualBox registry not understood", "file", path, "err", err)
			}
			return
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "MachineEntry" {
			continue
		}
		uuid, src := vboxAttr(se, "uuid"), vboxAttr(se, "src")
		if uuid != "" && src != "" {
			r.byUUID[strings.ToLower(strings.Trim(uuid, "{}"))] = src
		}
	}
}

// sshPort finds the host port of the "ssh" NAT forward of VM uuid, or 0.
func (r *vboxRegistry) sshPort(uuid string) int {
	if !r.loaded {
		r.load()
	}
	src, ok := r.byUUID[strings.ToLower(strings.Trim(uuid, "{}"))]
	if !ok {
		return 0
	}
	if !hostenv.IsAbs(src) {
		src = filepath.Join(r.dir, src)
	}
	data, err := r.env.ReadFile(src, hostenv.MaxIndex)
	if err != nil {
		r.env.Logger().Debug("VirtualBox machine file not readable", "file", src, "err", err)
		return 0
	}
	return vboxSSHForward(data)
}

// vboxSSHForward reads <Forwarding name="ssh" proto="1" hostport="N"
// guestport="22"/> from a .vbox file.
func vboxSSHForward(data []byte) int {
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		tok, err := dec.Token()
		if err != nil {
			return 0
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Forwarding" {
			continue
		}
		if vboxAttr(se, "name") != "ssh" || vboxAttr(se, "guestport") != "22" {
			continue
		}
		if p, err := strconv.Atoi(vboxAttr(se, "hostport")); err == nil && p > 0 && p < 65536 {
			return p
		}
	}
}

func vboxAttr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
