package extcap

import (
	"context"
	"io"
	"os"
	"time"
)

// readerPollInterval is how often the FIFO is checked for its reader. A stop
// is noticed within about this long; between checks nothing runs.
const readerPollInterval = 100 * time.Millisecond

// StopWhenReaderGone returns a context that is also cancelled when the
// reader of fifo (dumpcap) goes away.
//
// Wireshark normally sends SIGTERM when a capture stops, but when dumpcap
// or Wireshark itself dies nobody does, and a capture whose filter matches
// nothing never writes, so it would never meet EPIPE: vmdump, and the
// remote tcpdump it keeps alive, would run on forever. Losing the reader is
// therefore a stop like SIGTERM. fifo is what OpenFIFO returned; on a plain
// file (a capture run by hand into a file), on Windows, where Wireshark 4.0
// kills the extcap instead, and on other systems the context is ctx's.
func StopWhenReaderGone(ctx context.Context, fifo io.Writer) context.Context {
	f, ok := fifo.(*os.File)
	if !ok {
		return ctx
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return ctx
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		watchReader(ctx, f)
	}()
	return ctx
}
