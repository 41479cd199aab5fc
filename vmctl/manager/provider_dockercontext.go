package manager

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findDockerContexts lists Docker contexts whose engine is reached over
// ssh://, and $DOCKER_HOST when it is ssh://. The context store is
// <config>/contexts/meta/<sha256 of name>/meta.json with
// {"Name":…,"Endpoints":{"docker":{"Host":"ssh://user@host:port"}}}, where
// <config> is $DOCKER_CONFIG or ~/.docker (docker/cli cli/context/store/
// {store,metadatastore}.go, cli/config/config.go). The docker CLI runs the
// system ssh for such hosts (cli/connhelper/ssh/ssh.go), so ~/.ssh/config
// applies: the VM is an SSH alias with the URL's user and port as
// overrides, and its host key is checked against known_hosts.
func FindDockerContexts(env hostenv.Env) []vmctl.VM {
	var vms []vmctl.VM
	for _, m := range dockerContextMetas(env) {
		if m.problem != "" {
			if m.name != "" {
				vms = append(vms, vmctl.VM{Manager: "docker-context", Name: m.name, State: vmctl.Unknown, Source: m.path, Skip: m.problem})
			} else {
				env.Logger().Warn("Docker context not readable", "file", m.path, "problem", m.problem)
			}
			continue
		}
		if !strings.HasPrefix(strings.ToLower(m.host), "ssh://") {
			continue
		}
		vms = append(vms, ctxVM(m.name, m.host, m.path))
	}
	if h := env.Var("DOCKER_HOST"); strings.HasPrefix(strings.ToLower(h), "ssh://") {
		vms = append(vms, ctxVM("DOCKER_HOST", h, ""))
	}
	return vms
}

// ctxVM parses ssh://[user@]host[:port][/socket].
func ctxVM(name, endpoint, source string) vmctl.VM {
	vm := vmctl.VM{Manager: "docker-context", Name: name, State: vmctl.Unknown, Source: source}
	u, err := url.Parse(endpoint)
	if err != nil {
		vm.Skip = "endpoint is not an ssh:// URL (" + oneline.Untrusted(err.Error()) + ")"
		return vm
	}
	if u.Opaque != "" || u.Host == "" {
		vm.Skip = "endpoint " + vmctl.QuoteForMessage(endpoint) + " has no host"
		return vm
	}
	vm.Host = u.Hostname()
	vm.SSHAlias = true
	if u.User != nil {
		vm.User = u.User.Username()
		if _, has := u.User.Password(); has {
			vm.Host, vm.User, vm.SSHAlias = "", "", false
			vm.Skip = "endpoint holds a password; the docker CLI refuses that too"
			return vm
		}
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			vm.Host, vm.User, vm.SSHAlias = "", "", false
			vm.Skip = "endpoint port " + vmctl.QuoteForMessage(p) + " is not a TCP port"
			return vm
		}
		vm.Port = n
	}
	return vm
}

// dockerMeta is one context's meta.json, or why it could not be read.
type dockerMeta struct {
	path, name, host, problem string
}

// dockerConfigDir is $DOCKER_CONFIG or ~/.docker.
func dockerConfigDir(env hostenv.Env) string { return env.DirOr("DOCKER_CONFIG", ".docker") }

func dockerContextMetas(env hostenv.Env) []dockerMeta {
	cfg := dockerConfigDir(env)
	if cfg == "" {
		return nil
	}
	metaDir := filepath.Join(cfg, "contexts", "meta")
	dirs, err := env.Subdirs(metaDir)
	if err != nil {
		env.Logger().Warn("Docker context store not readable", "dir", metaDir, "err", err)
		return nil
	}
	var out []dockerMeta
	for _, d := range dirs {
		path := filepath.Join(metaDir, d, "meta.json")
		m := dockerMeta{path: path}
		data, err := env.ReadFile(path, hostenv.MaxSmall)
		if err != nil {
			m.problem = hostenv.FileProblem(path, err)
			out = append(out, m)
			continue
		}
		var meta struct {
			Name      string
			Endpoints map[string]struct {
				Host string
			}
		}
		if err := json.Unmarshal(data, &meta); err != nil {
			m.problem = hostenv.JSONProblem(path, data, err)
			out = append(out, m)
			continue
		}
		m.name = meta.Name
		m.host = meta.Endpoints["docker"].Host
		if m.name == "" {
			m.problem = "meta.json has no Name"
		}
		out = append(out, m)
	}
	return out
}
