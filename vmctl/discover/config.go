package discover

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vmdump/vmdump/internal/oneline"

	"github.com/BurntSushi/toml"
)

// Config is vmdump's own configuration, <ConfigDir>/config.toml:
//
//	ssh_config_hosts = true        # list the Host aliases of ~/.ssh/config
//	accept_new_host_keys = false   # trust-on-first-use for known_hosts hosts
//
//	[[vm]]
//	name = "build-box"
//	host = "10.0.0.5"
//	user = "ubuntu"
//	key = "~/.ssh/id_ed25519"
//	interface = "eth0"
//
//	[[vm]]                         # reached by a local command, not SSH
//	name = "ubuntu"
//	transport = "multipass"        # a preset: multipass exec ubuntu --
//	                               # (instance = "..." if not the name)
//
//	[[vm]]
//	name = "netns"
//	exec = ["ip", "netns", "exec", "vm1"]  # any argv; vmdump appends sh -c <cmd>
//
//	[[vm_transport]]               # a discovered VM, through a local command
//	manager = "lima"
//	name = "default"
//	transport = "lima"             # limactl shell default
type Config struct {
	SSHConfigHosts    bool       `toml:"ssh_config_hosts"`
	AcceptNewHostKeys bool       `toml:"accept_new_host_keys"`
	VMs               []ConfigVM `toml:"vm"`
	// Transports switch VMs that other managers' files describe to the exec
	// transport (Lima, Podman: SSH stays their default).
	Transports []ConfigTransport `toml:"vm_transport"`
}

// ConfigExec is how a VM is reached when not over SSH: either Exec, the
// argv prefix of a local command ("sh", "-c", <command> is appended), or
// Transport, a preset (transport_presets.go) for the manager's CLI, with
// Instance (the manager's name for the VM; default: the VM's name) and
// Image (docker-desktop's container image).
type ConfigExec struct {
	Exec      []string `toml:"exec"`
	ExecQuote bool     `toml:"exec_quote"` // the program joins its args into one shell line
	Transport string   `toml:"transport"`
	Instance  string   `toml:"instance"`
	Image     string   `toml:"image"`
}

// ConfigTransport is one [[vm_transport]] table: the VM that Manager's
// files call Name is reached through ConfigExec instead of SSH.
type ConfigTransport struct {
	Manager string `toml:"manager"`
	Name    string `toml:"name"`
	ConfigExec
}

// ConfigVM is one [[vm]] table. The values are as written: Discover (through
// the "config" provider) validates them and skips a VM with hostile values,
// so use Discover's VMs, not these, to connect.
type ConfigVM struct {
	Name      string `toml:"name"`
	Host      string `toml:"host"`
	Port      int    `toml:"port"`
	User      string `toml:"user"`
	Key       string `toml:"key"`
	Interface string `toml:"interface"`
	ProxyJump string `toml:"proxy_jump"`
	// HostKey is how the host key is checked: "known_hosts" (the default
	// for non-loopback hosts) or "pin" (remember it per VM, the default for
	// loopback hosts, whose ports are reused by other VMs over time).
	HostKey string `toml:"host_key"`
	// ConfigExec, when set, replaces the SSH fields (host must be empty).
	ConfigExec
}

// ConfigFile is the path of config.toml ("" when no config dir is known).
func (e Env) ConfigFile() string {
	d := e.ConfigDir()
	if d == "" {
		return ""
	}
	return filepath.Join(d, "config.toml")
}

// LoadConfig reads <ConfigDir>/config.toml. A missing file is an empty
// config, not an error. Unknown keys are logged (a typo should not pass
// silently) but do not fail the file.
func LoadConfig(env Env) (Config, error) {
	path := env.ConfigFile()
	if path == "" {
		return Config{}, nil
	}
	data, err := ReadFile(path, discMaxSmall)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("cannot read %s: %s; fix or remove the file", path, discFileProblem(path, err))
	}
	if r, ok := lastConfig.get(path, data); ok {
		return r.cfg, r.err
	}
	cfg, err := parseConfig(env, path, data)
	lastConfig.put(path, data, cfg, err)
	return cfg, err
}

func parseConfig(env Env, path string, data []byte) (Config, error) {
	var cfg Config
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %s; fix the file", path, oneline.Untrusted(cfgTOMLProblem(err)))
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		env.Logger().Warn("unknown keys in config.toml are ignored", "file", path, "keys", strings.Join(keys, ", "))
	}
	return cfg, nil
}

// lastConfig keeps the last parse: one discovery reads config.toml in
// several providers, and TOML decoding is among the costlier parts of a
// listing Wireshark waits for. The file is still read each time; only
// identical bytes reuse the result. Callers must not modify the slices of
// the Config they get.
var lastConfig configMemo

type configMemo struct {
	mu   sync.Mutex
	path string
	data string
	last configParse
	set  bool
}

// configParse is one parse's result.
type configParse struct {
	cfg Config
	err error
}

func (m *configMemo) get(path string, data []byte) (configParse, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.set || m.path != path || m.data != string(data) {
		return configParse{}, false
	}
	return m.last, true
}

func (m *configMemo) put(path string, data []byte, cfg Config, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.path, m.data, m.last, m.set = path, string(data), configParse{cfg, err}, true
}

// cfgTOMLProblem keeps the useful first line of a TOML error.
func cfgTOMLProblem(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)
	}
	msg := err.Error()
	msg, _, _ = strings.Cut(msg, "\n")
	return strings.TrimPrefix(msg, "toml: ")
}
