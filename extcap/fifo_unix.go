//go:build unix

package extcap

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// openFIFO blocks until dumpcap opens the read end. O_TRUNC is ignored for
// FIFOs and only matters for a plain file given by hand.
func openFIFO(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open Wireshark's capture pipe: %w", err)
	}
	return f, nil
}

// isBrokenPipe: a write to a pipe whose reader closed fails with EPIPE (Go
// turns the SIGPIPE for non-stdio descriptors into this error).
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}
