//go:build linux

package main

import (
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// netnsGoneStatus is the exit status when the namespace to capture in is
// gone or is not the one named by -netns-link (the wrapper's own status
// for a gone namespace).
const netnsGoneStatus = 75

// netnsGone is a failure to join the namespace because it is gone.
type netnsGone struct{ why string }

func (e netnsGone) Error() string { return "netns gone: " + e.why }

// joinNetns moves the calling goroutine's OS thread into the network
// namespace at path (a /proc/PID/ns/net) for good: the thread stays locked
// to the goroutine, which must be the one that then opens the packet
// socket (a socket belongs to the namespace of the thread that created it,
// whatever thread uses it later). With link set ("net:[N]"), the namespace
// opened must be that one: a PID reused by another process since vmdump
// looked is refused rather than captured, atomically (the check is on the
// opened file, not on the path again).
func joinNetns(path, link string) error {
	runtime.LockOSThread() // never unlocked: this thread is in the namespace
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOENT || err == unix.ESRCH {
			return netnsGone{path + ": the process is gone"}
		}
		return errString("opening the network namespace " + path + ": " + err.Error())
	}
	defer unix.Close(fd)
	if link != "" {
		want, _ := netnsInode(link)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return errString("network namespace " + path + ": " + err.Error())
		}
		if st.Ino != want {
			return netnsGone{path + " is net:[" + strconv.FormatUint(st.Ino, 10) + "], not " + link}
		}
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return errString("entering the network namespace " + path + ": " + err.Error())
	}
	return nil
}
