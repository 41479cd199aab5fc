//go:build unix

package extcap

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// watchReader returns when the FIFO f has no reader any more, when f is
// closed, or when ctx ends. poll(2) reports POLLERR (Linux) or POLLHUP
// (BSDs, macOS) on the write end of a pipe whose readers are all gone,
// without writing anything. The poll runs inside RawConn.Control so that
// the descriptor keeps its non-blocking mode for the writes (f.Fd would
// change it).
func watchReader(ctx context.Context, f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	timeout := int(readerPollInterval.Milliseconds())
	for ctx.Err() == nil {
		var revents int16
		var perr error
		if err := rc.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd)}}
			_, perr = unix.Poll(fds, timeout)
			revents = fds[0].Revents
		}); err != nil {
			return // closed
		}
		if perr != nil && !errors.Is(perr, unix.EINTR) {
			return
		}
		if revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			return
		}
	}
}
