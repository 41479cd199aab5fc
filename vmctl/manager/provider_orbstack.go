package manager

import (
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findOrbStack lists OrbStack's default machine. OrbStack is closed source
// and keeps no machine list on disk; what is known (its docs skill
// orbstack/orbstack .claude/skills/orbstack-machines/references/
// networking-and-ssh.md, issues #436 and #1826) is one multiplexing SSH
// server on 127.0.0.1:32222, key ~/.orbstack/ssh/id_ed25519, where the SSH
// user selects the machine ("default" is the default machine). Its
// ~/.orbstack/ssh/config goes through `ProxyCommand ... ssh-proxy-fdpass`
// with ProxyUseFdpass, which Go's ssh cannot do; a direct TCP connection
// works, so that is the endpoint given here. Machines sit on a shared
// bridge as eth0.
func FindOrbStack(env hostenv.Env) []vmctl.VM {
	key := env.HomePath(".orbstack", "ssh", "id_ed25519")
	if !env.IsFile(key) {
		return nil
	}
	return []vmctl.VM{{
		Manager:   "orbstack",
		Name:      "default",
		Host:      "127.0.0.1",
		Port:      32222,
		User:      "default",
		KeyFiles:  []string{key},
		Loopback:  true,
		State:     vmctl.Unknown,
		Interface: "eth0",
		Source:    key,
		Note:      "machine selected by SSH user",
	}}
}
