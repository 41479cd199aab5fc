//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package hostenv

import (
	"io/fs"
	"strconv"
	"syscall"
)

// sysSig adds the inode and the change time: a file rewritten in place
// within the modification time's granularity, or replaced by rename,
// still shows.
func sysSig(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	sec, nsec := ctime(st)
	return " " + strconv.FormatUint(uint64(st.Ino), 10) + " " + strconv.FormatInt(sec, 10) + "." + strconv.FormatInt(nsec, 10)
}
