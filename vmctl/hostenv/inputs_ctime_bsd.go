//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package hostenv

import "syscall"

func ctime(st *syscall.Stat_t) (sec, nsec int64) { return st.Ctimespec.Sec, st.Ctimespec.Nsec }
