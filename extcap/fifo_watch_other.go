//go:build !unix

package extcap

import (
	"context"
	"os"
)

// watchReader waits for ctx only: on Windows Wireshark 4.0 ends the extcap
// with TerminateProcess and later versions ask it to stop; no poll(2).
func watchReader(ctx context.Context, _ *os.File) { <-ctx.Done() }
