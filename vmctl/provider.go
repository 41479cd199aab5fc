package vmctl

import "log/slog"

// Env is everything discovery reads from the outside world. Tests point it at
// fixture home directories; HostEnv describes the real machine.
type Env struct {
	Home   string // the user's home directory ("" when unknown)
	GOOS   string // "linux", "darwin", "windows"
	Getenv func(string) string
	// ProcessAlive reports whether a pid from a manager's pid file is alive
	// (kill(pid, 0) on Unix). Never a network probe.
	ProcessAlive func(pid int) bool
	Log          *slog.Logger
	// Root prefixes the system-wide paths discovery stats (Multipass's
	// /var/snap/..., for instance) so tests can point them at a fixture.
	// "" on the real machine.
	Root string
}

// Provider finds the VMs of one VM manager by reading its files. It never
// touches the network and never starts a process: Wireshark runs the listing
// at every start, with no timeout. A VM whose files are broken is returned
// with Skip set (or logged, when not even its name can be read); a provider
// never fails the listing.
type Provider struct {
	Manager string // as in VM.Manager, e.g. "docker-machine"
	Short   string // short tag used in interface IDs, e.g. "dm"
	Find    func(env Env) []VM
}
