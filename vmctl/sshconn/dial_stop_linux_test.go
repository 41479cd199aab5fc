package sshconn

import (
	"net"
	"syscall"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
)

// fullBacklogPort is a 127.0.0.1 port whose listener never accepts and
// whose backlog is already full: Linux drops further SYNs, so a TCP
// connect to it stays pending, as to an address where nothing answers.
func fullBacklogPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	filler, err := net.Dial("tcp", (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	return port
}

// TestDialStoppedDuringTCPConnect: a stop while the TCP connect itself is
// pending says so.
func TestDialStoppedDuringTCPConnect(t *testing.T) {
	opt := stopTestHome(t)
	port := fullBacklogPort(t)
	ready := make(chan struct{})
	close(ready)
	se := dialStopped(t, vmctl.VM{Name: "lab", Host: "127.0.0.1", Port: port}, opt, ready)
	checkWords(t, se.Waiting, "VM lab at 127.0.0.1:", "did not answer the TCP connection in ", "is the VM running")
}
