package sshconn

import (
	"os"
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

// startChild starts an exec session's local process inside a job object
// with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: when the job's last handle
// closes (release, or Windows closing vmdump's handles when vmdump dies,
// however it dies) every process in the job, the CLI's helpers included,
// is killed. os/exec cannot start a process suspended, so a grandchild the
// child spawns before AssignProcessToJobObject (microseconds) escapes the
// job; the remote side still ends on its stdin EOF.
func startChild(cmd *exec.Cmd) (release func(), err error) {
	job, jerr := newKillOnCloseJob()
	if err := cmd.Start(); err != nil {
		if jerr == nil {
			_ = windows.CloseHandle(job)
		}
		return nil, err
	}
	if jerr != nil {
		return nil, nil // killed by Close only
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid))
	if err == nil {
		err = windows.AssignProcessToJobObject(job, h)
		_ = windows.CloseHandle(h)
	}
	if err != nil {
		_ = windows.CloseHandle(job)
		return nil, nil
	}
	return func() { _ = windows.CloseHandle(job) }, nil
}

func newKillOnCloseJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, err
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return 0, err
	}
	return job, nil
}

// terminateChild does nothing on Windows: there is no polite stop for a
// console process vmdump shares no console with, and killing it here, right
// after stdin EOF, would cut the stream before the VM side flushed its last
// packets and statistics. The stdin EOF is the stop; Close kills the
// process (and its job) if it has not ended after the capture's grace.
func terminateChild(p *os.Process) {}
