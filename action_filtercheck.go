package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/vmdump/vmdump/extcap"
)

// filterCheckAction answers Wireshark's check of the capture filter as the
// user types it (green/red): the filter compiled with the local tcpdump.
// Exit 1 means "cannot check" (yellow), e.g. no tcpdump on Windows.
func filterCheckAction(a extcap.Args, stdout io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	problem, known := extcap.CheckFilter(ctx, a.CaptureFilter)
	if !known {
		return 1 // Wireshark shows "unable to check" (yellow)
	}
	if problem != "" {
		fmt.Fprintln(stdout, problem)
	}
	return 0
}
