package sshconn

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
)

// A real OpenSSH sshd on 127.0.0.1, started per test with its own host
// keys, authorized_keys and config, logging in as root (the login user
// here). It stands in for a VM's sshd.

// trustingOptions know s's ed25519 key in known_hosts.
func trustingOptions(t *testing.T, s *vmtest.SSHD, home string) DialOptions {
	t.Helper()
	return DialOptions{Home: home, KnownHostsFile: s.KnownHosts(t, home), PinnedKeysFile: filepath.Join(home, "pins"), Timeout: 10 * time.Second, Log: vmtest.DiscardLog()}
}
