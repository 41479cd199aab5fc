// Package pcapgen writes large classic pcap streams of same-size
// Ethernet/IPv4/UDP frames for the bulk-throughput benchmark
// (BENCHMARKS.md, P4). Payloads are pseudo-random (SSH does not compress by
// default, but a benchmark should not depend on that), timestamps 10 µs
// apart from 2025-01-01.
package pcapgen

import (
	"bufio"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"time"
)

// Write writes a pcap header and as many frameLen-byte packets as fit in
// size bytes (header included) to w, and returns the number of packets.
func Write(w io.Writer, size int64, frameLen int) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	hdr := make([]byte, 0, 24)
	hdr = binary.LittleEndian.AppendUint32(hdr, 0xA1B2C3D4)
	hdr = binary.LittleEndian.AppendUint16(hdr, 2)
	hdr = binary.LittleEndian.AppendUint16(hdr, 4)
	hdr = binary.LittleEndian.AppendUint32(hdr, 0) // thiszone
	hdr = binary.LittleEndian.AppendUint32(hdr, 0) // sigfigs
	hdr = binary.LittleEndian.AppendUint32(hdr, 262144)
	hdr = binary.LittleEndian.AppendUint32(hdr, 1) // Ethernet
	bw.Write(hdr)

	// A pool of random bytes; each frame's payload is a slice of it at a
	// varying offset.
	pool := make([]byte, 1<<20+frameLen)
	rng := rand.NewChaCha8([32]byte{'v', 'm', 'd', 'u', 'm', 'p'})
	rng.Read(pool)
	frame := udpFrameHeader(frameLen)
	rec := make([]byte, 16+frameLen)
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var n int64
	for written := int64(24); written+int64(len(rec)) <= size; written += int64(len(rec)) {
		binary.LittleEndian.PutUint32(rec[0:], uint32(ts.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(ts.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(frameLen))
		binary.LittleEndian.PutUint32(rec[12:], uint32(frameLen))
		copy(rec[16:], frame)
		off := int(n*7919) % (1 << 20)
		copy(rec[16+len(frame):], pool[off:off+frameLen-len(frame)])
		if _, err := bw.Write(rec); err != nil {
			return n, err
		}
		ts = ts.Add(10 * time.Microsecond)
		n++
	}
	return n, bw.Flush()
}

// udpFrameHeader is Ethernet + IPv4 + UDP headers for a frame of frameLen
// bytes, 10.99.0.1:5000 → 10.99.0.2:5001.
func udpFrameHeader(frameLen int) []byte {
	b := []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00}
	ipLen := frameLen - 14
	ip := []byte{0x45, 0, byte(ipLen >> 8), byte(ipLen), 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 99, 0, 1, 10, 99, 0, 2}
	var sum uint32
	for i := 0; i < len(ip); i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udpLen := ipLen - 20
	udp := []byte{0x13, 0x88, 0x13, 0x89, byte(udpLen >> 8), byte(udpLen), 0, 0}
	return append(append(b, ip...), udp...)
}
