package sshtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/sshconn"
	"golang.org/x/crypto/ssh"
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

// ProxiedConn is Conn reached through px (vmtest.StartProxy to s's
// address), trusting s's ed25519 key at px's port only; tune, if set,
// adjusts the dial options first.
func ProxiedConn(t *testing.T, s *vmtest.SSHD, px *vmtest.Proxy, tune func(*sshconn.DialOptions)) *sshconn.Conn {
	t.Helper()
	opt := TrustingOptions(t, s, vmtest.Home(t))
	if tune != nil {
		tune(&opt)
	}
	vmtest.WriteFile(t, opt.KnownHostsFile, fmt.Sprintf("[127.0.0.1]:%d %s", px.Port(), ssh.MarshalAuthorizedKey(s.HostKeys["ed25519"])))
	vm := s.VMFor("vm")
	vm.Port = px.Port()
	return DialOK(t, vm, opt)
}
