package discover

import (
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// Provider finds the VMs of one VM manager by reading its files. It never
// touches the network and never starts a process: Wireshark runs the listing
// at every start, with no timeout. A VM whose files are broken is returned
// with Skip set (or logged, when not even its name can be read); a provider
// never fails the listing.
type Provider struct {
	Manager string // as in VM.Manager, e.g. "docker-machine"
	Short   string // short tag used in interface IDs, e.g. "dm"
	Find    func(env hostenv.Env) []vmctl.VM
}
