package main

import (
	"os"
	"runtime/debug"
)

// captureGCPercent is the garbage collector's target during a capture.
//
// x/crypto/ssh allocates a fresh ~32 KiB buffer for every SSH packet it
// receives (transport.readPacket copies each decrypted packet out), so a
// capture allocates about one byte per byte received while its live heap
// stays at a few MB: with Go's default (100) the collector runs every few
// MB, and collection, sweeping and re-faulting freed pages took about a
// quarter of vmdump's CPU at full speed. Measured in the lab (BENCHMARKS.md,
// P4, 1 GiB through the benchmark hook, three runs each):
//
//	GOGC  client CPU per MB   throughput   peak RSS
//	100   2.2-2.6 ms          280-390 MB/s  23 MB
//	200   1.8-2.1 ms          370-480 MB/s  28-29 MB
//	400   1.5-1.9 ms          440-530 MB/s  36-39 MB
//
// 200 keeps the peak well under the 40 MB budget (P6).
const captureGCPercent = 200

// tuneGCForCapture sets captureGCPercent for this process, unless the user
// chose a GOGC of their own. Call it when a capture starts; the probes
// (--extcap-interfaces and the like) end before any collection and do not
// need it.
func tuneGCForCapture() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(captureGCPercent)
	}
}
