package remotecap

import (
	"regexp"
	"strconv"
	"strings"
)

// RemoteStats are tcpdump's own counters, printed on its stderr when it
// ends: "N packets received by filter" and "N packets dropped by kernel".
// Valid is false when tcpdump did not print them (it was killed, or failed
// before capturing).
type RemoteStats struct {
	Received, Dropped uint64
	Valid             bool
}

var (
	statReceived = regexp.MustCompile(`(?m)^\s*(\d+) packets? received by filter\s*$`)
	statDropped  = regexp.MustCompile(`(?m)^\s*(\d+) packets? dropped by kernel\s*$`)
)

// parseRemoteStats reads the last statistics block in tcpdump's stderr.
func parseRemoteStats(stderr string) RemoteStats {
	stderr = strings.ReplaceAll(stderr, "\r", "")
	rec := statReceived.FindAllStringSubmatch(stderr, -1)
	drop := statDropped.FindAllStringSubmatch(stderr, -1)
	if len(rec) == 0 || len(drop) == 0 {
		return RemoteStats{}
	}
	r, err1 := strconv.ParseUint(rec[len(rec)-1][1], 10, 64)
	d, err2 := strconv.ParseUint(drop[len(drop)-1][1], 10, 64)
	if err1 != nil || err2 != nil {
		return RemoteStats{}
	}
	return RemoteStats{Received: r, Dropped: d, Valid: true}
}
