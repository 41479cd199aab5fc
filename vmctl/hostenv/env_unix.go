//go:build !windows

package hostenv

import (
	"errors"
	"syscall"
)

// HostProcessAlive is kill(pid, 0): no signal is sent, only the existence
// and permission checks run. EPERM means the process exists but belongs to
// someone else (a root-owned VM driver, say), which still counts as alive —
// the same rule Lima's ReadPIDFile uses.
func HostProcessAlive(pid int) bool {
	// kill(0, ...) and kill(-n, ...) address process groups: never do that.
	if pid <= 0 || pid > 1<<30 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
