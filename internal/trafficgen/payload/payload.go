// Package payload is the layout of the messages trafficgen sends, shared by
// the generator and by tests that read the messages back out of a capture
// (for instance to compute capture→arrival latency from the send time).
//
// Layout of every message, client → server and echoed back unchanged:
//
//	offset  size  content
//	0       4     magic "vmdt"
//	4       8     send time, Unix nanoseconds, big-endian int64
//	              (taken just before the client's write)
//	12      8     sequence number, big-endian uint64, 0 for the first message
//	20      ...   filler bytes 'v' up to the requested message size
//
// The echo carries the same bytes, so a segment in either direction names the
// moment its message was first sent.
package payload

import (
	"bytes"
	"encoding/binary"
	"time"
)

// Magic opens every message, so that Decode can tell trafficgen's messages
// from any other bytes on the wire.
const Magic = "vmdt"

// HeaderLen is the smallest message size: magic, send time, sequence number.
const HeaderLen = 20

// filler pads a message past its header; a printable byte keeps hex dumps
// readable.
const filler = 'v'

// Encode writes a message header for (sent, seq) into msg and fills the rest.
// msg must be at least HeaderLen bytes long; it panics otherwise because the
// caller chose the size.
func Encode(msg []byte, sent time.Time, seq uint64) {
	if len(msg) < HeaderLen {
		panic("payload: message shorter than HeaderLen")
	}
	copy(msg, Magic)
	binary.BigEndian.PutUint64(msg[4:12], uint64(sent.UnixNano()))
	binary.BigEndian.PutUint64(msg[12:20], seq)
	for i := HeaderLen; i < len(msg); i++ {
		msg[i] = filler
	}
}

// Decode reads the header of a message (or of the start of a TCP segment's
// payload). ok is false when b is too short or does not start with Magic.
func Decode(b []byte) (sent time.Time, seq uint64, ok bool) {
	if len(b) < HeaderLen || !bytes.Equal(b[:4], []byte(Magic)) {
		return time.Time{}, 0, false
	}
	nanos := int64(binary.BigEndian.Uint64(b[4:12]))
	return time.Unix(0, nanos), binary.BigEndian.Uint64(b[12:20]), true
}
