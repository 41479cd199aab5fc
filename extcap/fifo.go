package extcap

import (
	"errors"
	"io"
	"os"
)

// OpenFIFO opens the pipe Wireshark passed as --fifo, for writing.
//
// Call it FIRST in a capture, before anything that can fail: dumpcap blocks
// in opening its end until the extcap opens this one, and an extcap that
// exits without opening it leaves tshark hanging (reference §6). On Unix the
// open itself blocks until dumpcap is reading; on Windows the path is a named
// pipe (\\.\pipe\wireshark_extcap_...) that Wireshark created and waits up to
// 30 s for.
//
// A path that does not exist yet is created as a plain file on Unix, like
// sshdump's fopen(fifo, "wb"), so that "--capture --fifo x.pcapng" works by
// hand.
func OpenFIFO(path string) (io.WriteCloser, error) {
	if path == "" {
		return nil, errors.New("--fifo is empty: start captures from Wireshark or tshark -i")
	}
	f, err := openFIFO(path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// IsReaderGone reports whether err from writing the FIFO (or a control pipe)
// means that Wireshark's side went away — the normal way a capture is
// stopped — rather than a real failure.
func IsReaderGone(err error) bool {
	return err != nil && (errors.Is(err, os.ErrClosed) || isBrokenPipe(err))
}
