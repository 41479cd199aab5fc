package main

import "encoding/binary"

// linktypeEthernet is the only link type the agent writes: Docker VMs'
// interfaces (ethN, veths, bridges) are Ethernet, and Linux gives loopback
// a zeroed Ethernet header too. Other interfaces are refused (see
// socket_linux.go) rather than written with a header that lies.
const linktypeEthernet = 1

// pcapHeader is the classic pcap global header (microsecond timestamps,
// little-endian like both agent builds).
func pcapHeader(snaplen int) []byte {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], uint32(snaplen))
	binary.LittleEndian.PutUint32(h[20:], linktypeEthernet)
	return h
}

// putRecordHeader fills the 16-byte record header in front of a packet.
func putRecordHeader(h []byte, sec, usec int64, caplen, origlen int) {
	binary.LittleEndian.PutUint32(h[0:], uint32(sec))
	binary.LittleEndian.PutUint32(h[4:], uint32(usec))
	binary.LittleEndian.PutUint32(h[8:], uint32(caplen))
	binary.LittleEndian.PutUint32(h[12:], uint32(origlen))
}
