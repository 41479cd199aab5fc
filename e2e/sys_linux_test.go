package e2e

import "syscall"

// The Linux side of how the tests start, signal and feed processes. The
// lab is made of Linux network namespaces, so this is where the tests run;
// sys_other_test.go only keeps the package compiling elsewhere.

// ownProcessGroup starts a process in a process group of its own, so that
// signalGroup reaches it and whatever it starts (tshark's dumpcap and
// extcap, Wireshark's). With dieWithTest it is also SIGKILLed when the test
// binary dies first (a timeout), so that an Xvfb or a Wireshark cannot
// outlive it.
func ownProcessGroup(dieWithTest bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if dieWithTest {
		attr.Pdeathsig = syscall.SIGKILL
	}
	return attr
}

// ownSession starts a process in a session of its own: no controlling
// terminal to prompt on, and no signal from the test's terminal.
func ownSession() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// signalGroup sends sig to the process group led by pid (see
// ownProcessGroup), as a terminal's Ctrl-C does.
func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }

// signalPid sends sig to the one process pid.
func signalPid(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

// mkfifo makes a FIFO (named pipe) at path.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }
