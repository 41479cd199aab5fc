//go:build !linux

package lab

import (
	"errors"
	"os"
	"syscall"
)

// The lab runs only on Linux (New reports that); these keep the package
// compiling elsewhere so that cross-builds of the module pass.

func processAttrs() *syscall.SysProcAttr { return nil }

func pidsInNamespace(string) ([]int, error) { return nil, errors.ErrUnsupported }

func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
