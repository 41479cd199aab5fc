package sshtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// TrustingOptions know s's ed25519 key in home's known_hosts.
func TrustingOptions(t *testing.T, s *vmtest.SSHD, home string) sshconn.DialOptions {
	t.Helper()
	return sshconn.DialOptions{Home: home, KnownHostsFile: s.KnownHosts(t, home), PinnedKeysFile: filepath.Join(home, "pins"), Timeout: 10 * time.Second, Log: vmtest.DiscardLog()}
}

// DialOK dials vm or fails the test; the connection is closed at cleanup.
func DialOK(t *testing.T, vm vmctl.VM, opt sshconn.DialOptions) *sshconn.Conn {
	t.Helper()
	c, err := sshconn.Dial(context.Background(), vm, opt)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Conn is a connection to s as the VM "vm", trusting its key.
func Conn(t *testing.T, s *vmtest.SSHD) *sshconn.Conn {
	t.Helper()
	return DialOK(t, s.VMFor("vm"), TrustingOptions(t, s, vmtest.Home(t)))
}
