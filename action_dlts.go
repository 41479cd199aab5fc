package main

import (
	"io"

	"github.com/vmdump/vmdump/extcap"
)

// dltsAction answers --extcap-dlts: every VM interface is Ethernet to
// Wireshark (each NIC's real link type is in its pcapng interface block).
func dltsAction(stdout, stderr io.Writer) int {
	return exitStatus(stderr, extcap.WriteDLTs(stdout, extcap.EthernetDLT))
}
