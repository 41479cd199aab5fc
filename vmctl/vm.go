package vmctl

import (
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/internal/shquote"
)

// State is what vmdump could tell, without touching the network, about
// whether a VM is running.
type State string

const (
	Running State = "running"
	Stopped State = "stopped"
	// Unknown means the manager keeps no trace of the VM's state on disk;
	// the capture finds out.
	Unknown State = "unknown"
)

// VM is one machine vmdump can (or could, once Skip is fixed) capture from.
type VM struct {
	// ID is the Wireshark interface name: stable across runs, unique,
	// made only of [a-z0-9_] so that `tshark -o extcap.<ID>.<arg>:v` works.
	// Discover assigns it; providers leave it empty.
	ID string `json:"id"`
	// Manager is the tool that created the VM ("boot2docker", "docker-machine",
	// "config", "lima", ...). Together with Name it is the VM's identity,
	// which is what a pinned host key belongs to.
	Manager string `json:"manager"`
	Name    string `json:"name"`

	// SSH endpoint. Host may be an alias from ~/.ssh/config (SSHAlias true),
	// resolved at dial time.
	Host      string   `json:"host,omitempty"`
	Port      int      `json:"port,omitempty"`
	User      string   `json:"user,omitempty"`
	KeyFiles  []string `json:"key_files,omitempty"`
	ProxyJump string   `json:"proxy_jump,omitempty"`
	SSHAlias  bool     `json:"ssh_alias,omitempty"`

	// Exec, when set, replaces SSH: it is the argv of a local command that
	// reaches the VM (`multipass exec <vm> --`, `ip netns exec <ns>`, ...).
	// Every session runs it with "sh", "-c", <command> appended, and talks
	// to the VM through that process's stdin and stdout, as through an
	// SSH session. See transport_exec.go and transport_presets.go.
	Exec []string `json:"exec,omitempty"`
	// ExecQuote says the Exec program joins its arguments into one remote
	// shell line (ssh, `podman machine ssh`), as SSH itself does: the
	// command is then appended as one shell-quoted "sh -c '...'" argument.
	ExecQuote bool `json:"exec_quote,omitempty"`

	// Loopback is true for an endpoint a VM manager created on this machine
	// (a NAT port forward on 127.0.0.1). Such ports are reused by other VMs
	// over time, so the host key is pinned per VM identity, not per host:port,
	// and ~/.ssh/known_hosts is not consulted.
	Loopback bool `json:"loopback,omitempty"`

	State State `json:"state"`
	// Interface is the VM's natural capture interface (eth1 on boot2docker
	// and docker-machine's VirtualBox VMs, the host-only network).
	Interface string `json:"interface,omitempty"`
	// OS is what the manager's files say the VM runs, if anything.
	OS string `json:"os,omitempty"`
	// Source is the file the VM was found in.
	Source string `json:"source,omitempty"`
	// Note is shown next to the VM (e.g. "no SSH: needs Docker API
	// transport"); the VM is still listed in Wireshark.
	Note string `json:"note,omitempty"`
	// Skip is non-empty when the VM's files are broken or incomplete: the
	// VM appears in `vmdump list` with this reason and not in Wireshark.
	Skip string `json:"skip,omitempty"`
}

// Capturable reports whether vmdump can try to capture from the VM: it has
// an SSH endpoint or a local command that reaches it.
func (v VM) Capturable() bool { return v.Skip == "" && (v.Host != "" || len(v.Exec) > 0) }

// Endpoint is how the VM is reached, for listings: user@host:port, the exec
// command, or "-".
func (vm VM) Endpoint() string {
	if len(vm.Exec) > 0 {
		return execDisplay(vm.Exec)
	}
	if vm.Host == "" {
		return "-"
	}
	s := vm.Host
	if strings.Contains(s, ":") {
		s = "[" + s + "]"
	}
	if vm.User != "" {
		s = vm.User + "@" + s
	}
	if vm.Port != 0 {
		s += ":" + strconv.Itoa(vm.Port)
	}
	return s
}

// execDisplay is the exec command as `vmdump list` shows it.
func execDisplay(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = a
		if a == "" || !shquote.IsSafe(strings.ReplaceAll(a, "=", "")) { // --net=host reads fine bare
			parts[i] = shquote.Quote(a)
		}
	}
	return strings.Join(parts, " ")
}
