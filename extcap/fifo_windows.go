//go:build windows

package extcap

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Windows error codes of a named pipe whose server side is gone.
const (
	errorBrokenPipe       = syscall.Errno(109) // ERROR_BROKEN_PIPE
	errorNoData           = syscall.Errno(232) // ERROR_NO_DATA: the pipe is being closed
	errorPipeNotConnected = syscall.Errno(233) // ERROR_PIPE_NOT_CONNECTED
)

// openFIFO opens Wireshark's named pipe as a client (OPEN_EXISTING): the
// pipe must exist, Wireshark created it before starting vmdump.
func openFIFO(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open Wireshark's capture pipe: %w", err)
	}
	return f, nil
}

func isBrokenPipe(err error) bool {
	return errors.Is(err, errorBrokenPipe) || errors.Is(err, errorNoData) ||
		errors.Is(err, errorPipeNotConnected) || errors.Is(err, syscall.EPIPE)
}
