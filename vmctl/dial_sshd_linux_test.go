package vmctl

import (
	"path/filepath"
	"testing"
	"time"
)

// A real OpenSSH sshd on 127.0.0.1, started per test with its own host
// keys, authorized_keys and config, logging in as root (the login user
// here). It stands in for a VM's sshd.

// vmFor is a plain (non-loopback) VM at this sshd with its client key.
func (s *testSSHD) vmFor(name string) VM {
	return VM{ID: name, Manager: "test", Name: name, Host: "127.0.0.1", Port: s.port, User: "root", KeyFiles: []string{s.client.path}}
}

// trustingOptions know this server's ed25519 key in known_hosts.
func (s *testSSHD) trustingOptions(t *testing.T, home string) DialOptions {
	t.Helper()
	kh := writeFile(t, filepath.Join(home, ".ssh", "known_hosts"), s.knownHostsLine("ed25519")+"\n")
	return DialOptions{Home: home, KnownHostsFile: kh, PinnedKeysFile: filepath.Join(home, "pins"), Timeout: 10 * time.Second, Log: discardLog()}
}
