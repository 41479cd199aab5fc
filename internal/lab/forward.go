package lab

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// startForward runs socat on the host's loopback, forwarding to the VM's
// sshd the way a VM manager's NAT does (127.0.0.1:port → VM:22). sshd then
// sees connections coming from the host veth address, as from a NAT.
func (l *Lab) startForward() error {
	var lastErr error
	// The free port is found by binding :0 and letting go; another process
	// may take it before socat binds, so a few tries.
	for range 5 {
		port, err := freeLoopbackPort()
		if err != nil {
			return err
		}
		logPath := filepath.Join(l.Dir, "socat.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			return err
		}
		cmd := exec.Command("socat",
			fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", port),
			fmt.Sprintf("TCP:%s:%d", l.VMAddr, l.SSHPort))
		cmd.Stdout, cmd.Stderr = logFile, logFile
		p, err := l.start("socat", cmd)
		logFile.Close()
		if err != nil {
			return err
		}
		readLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
		if lastErr = waitListening(p, "127.0.0.1", port, readLog); lastErr == nil {
			l.ForwardPort = port
			return nil
		}
		p.cmd.Process.Kill()
		p.waitExit(5 * time.Second)
	}
	return fmt.Errorf("loopback forwarder: %w", lastErr)
}

func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
