//go:build windows

package hostenv

import (
	"errors"

	"golang.org/x/sys/windows"
)

// discStillActive is the exit code GetExitCodeProcess reports for a process
// that has not exited (STILL_ACTIVE).
const discStillActive = 259

// HostProcessAlive opens the process for a limited query and asks whether it
// has exited. Access denied means the process exists (owned by another
// user), which counts as alive.
func HostProcessAlive(pid int) bool {
	if pid <= 0 || pid > 1<<30 {
		return false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return errors.Is(err, windows.ERROR_ACCESS_DENIED)
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true
	}
	return code == discStillActive
}
