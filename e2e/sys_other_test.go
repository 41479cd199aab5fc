//go:build !linux

package e2e

import (
	"errors"
	"syscall"
)

// The end-to-end tests need the lab, made of Linux network namespaces:
// elsewhere lab.Start skips each of them with a message saying so (or fails
// under CI), before any of these is called. They only keep the package
// compiling on every OS vmdump is built for (see sys_linux_test.go).

func ownProcessGroup(dieWithTest bool) *syscall.SysProcAttr { return nil }

func ownSession() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, sig syscall.Signal) error { return errors.ErrUnsupported }

func signalPid(pid int, sig syscall.Signal) error { return errors.ErrUnsupported }

func mkfifo(path string) error { return errors.ErrUnsupported }
