package vmctl

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

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
type Config struct {
	SSHConfigHosts    bool       `toml:"ssh_config_hosts"`
	AcceptNewHostKeys bool       `toml:"accept_new_host_keys"`
	VMs               []ConfigVM `toml:"vm"`
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
	data, err := discReadFile(path, discMaxSmall)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("cannot read %s: %s; fix or remove the file", path, discFileProblem(path, err))
	}
	var cfg Config
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %s; fix the file", path, discOneLine(cfgTOMLProblem(err)))
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		env.logger().Warn("unknown keys in config.toml are ignored", "file", path, "keys", strings.Join(keys, ", "))
	}
	return cfg, nil
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
