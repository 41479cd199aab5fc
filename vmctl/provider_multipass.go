package vmctl

import (
	"path/filepath"
)

// findMultipass notes that Multipass is installed. Its instance database
// and SSH key are root-only (canonical/multipass src/daemon/daemon.cpp,
// packaging/macos/uninstall.sh: /var/root/Library/Application Support/
// multipassd; the snap's /var/snap/multipass/common/data/multipassd;
// C:\ProgramData\Multipass\data), and instance IPs come only from the
// daemon, so there is nothing to SSH to from files: one entry, without an
// endpoint, says what capture would need. Only existence is checked.
func findMultipass(env Env) []VM {
	var candidates []string
	switch env.GOOS {
	case "darwin":
		candidates = []string{
			env.rootPath("/var/root/Library/Application Support/multipassd"),
			env.rootPath("/Library/Application Support/com.canonical.multipass"),
		}
	case "windows":
		if d := env.envDir("ProgramData"); d != "" {
			candidates = []string{filepath.Join(d, "Multipass")}
		}
	default:
		candidates = []string{env.rootPath("/var/snap/multipass/common/data/multipassd")}
	}
	for _, c := range candidates {
		if discExists(c) {
			return []VM{{
				Manager: "multipass",
				Name:    "multipass",
				State:   Unknown,
				Source:  c,
				Note:    "no SSH: capture needs the exec transport (`multipass exec`)",
			}}
		}
	}
	return nil
}
