package pcapng

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Stats counts what Pump forwarded: packets and their captured bytes.
type Stats struct {
	Packets, Bytes uint64
}

// readerBufferSize is how much of the remote stream Pump reads at once.
// Each read takes everything the SSH channel has queued up to this size, so
// under bulk load (P4, BENCHMARKS.md) one read and one FIFO write carry
// about 100 KiB instead of one 32 KiB SSH packet each; an idle capture is
// unaffected (Pump flushes whenever the next packet is not complete yet).
const readerBufferSize = 256 << 10

// ErrMidPacket is returned when the remote stream ends inside a packet
// (the connection broke, or tcpdump was killed mid-write).
var ErrMidPacket = errors.New("capture stream ended mid-packet")

// Pump copies one remote tcpdump's pcap stream (src, e.g. the SSH session's
// stdout) into dst as interface nic, and returns when src ends.
//
// It adds the interface with the link type and snap length of the pcap
// header, then forwards packets. Packets are batched in dst while more
// input is already buffered and flushed as soon as the next packet is not
// complete in the buffer yet — that is, just before a read that may block —
// so a lone packet reaches Wireshark at once while a busy link is written in
// large chunks.
//
// A clean end of src at a packet boundary returns nil. Text where the pcap
// header should be (a login banner, "sudo: a password is required"), a
// foreign format, a packet claiming more than 262144 bytes or a stream cut
// mid-packet return a one-line error. Errors writing dst wrap the cause, so
// IsReaderGone tells a stopped Wireshark from a failure. Memory use is
// bounded: the 256 KiB read buffer, plus one 256 KiB buffer if a packet does
// not fit into it.
//
// For several NICs run one Pump per NIC on the same Writer, each in its own
// goroutine; the Writer serialises them.
//
// The pcap records are read here rather than with pcapgo.Reader: records
// that fit the read buffer are written straight out of it (no copy), and
// every length is checked before anything is sized by it.
func Pump(dst *Writer, src io.Reader, nic NIC) (st Stats, err error) {
	br := bufio.NewReaderSize(src, readerBufferSize)
	h, err := readPcapHeader(br)
	if err != nil {
		return st, err
	}
	br.Discard(pcapHeaderLen)
	id, err := dst.AddNIC(h.linkType, h.snaplen, nic)
	if err != nil {
		return st, err
	}
	return pumpRecords(dst, br, h, id)
}

// readError turns a failed read inside a record into the error Pump returns.
func readError(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrMidPacket
	}
	return fmt.Errorf("reading the remote capture: %w", err)
}

const (
	pcapHeaderLen   = 24
	recordHeaderLen = 16
)

// recordBuffered reports whether the next packet record is complete in br,
// so that reading it cannot block.
func recordBuffered(br *bufio.Reader, order binary.ByteOrder) bool {
	n := br.Buffered()
	if n < recordHeaderLen {
		return false
	}
	rec, _ := br.Peek(recordHeaderLen)
	return uint64(n) >= recordHeaderLen+uint64(order.Uint32(rec[8:12]))
}

// pcapHeader is what Pump needs from the 24-byte pcap file header.
type pcapHeader struct {
	order     binary.ByteOrder
	fracNanos int64 // nanoseconds per unit of the timestamp fraction
	linkType  uint16
	snaplen   uint32
}

// readPcapHeader checks the header without consuming it, and explains what
// came instead of pcap.
func readPcapHeader(br *bufio.Reader) (pcapHeader, error) {
	var h pcapHeader
	magic, err := br.Peek(4)
	if len(magic) < 4 {
		if err != io.EOF {
			return h, fmt.Errorf("reading the remote capture: %w", err)
		}
		if len(magic) == 0 {
			return h, errors.New("remote capture ended before sending any data")
		}
		if text, ok := quoteText(magic); ok {
			return h, fmt.Errorf("remote side sent text instead of pcap: %s", text)
		}
		return h, errors.New("remote capture stream ended inside the pcap header")
	}
	switch binary.LittleEndian.Uint32(magic) {
	case 0xA1B2C3D4:
		h.order, h.fracNanos = binary.LittleEndian, 1000
	case 0xA1B23C4D:
		h.order, h.fracNanos = binary.LittleEndian, 1
	case 0xD4C3B2A1:
		h.order, h.fracNanos = binary.BigEndian, 1000
	case 0x4D3CB2A1:
		h.order, h.fracNanos = binary.BigEndian, 1
	case blockSectionHeader:
		return h, errors.New("remote side sent pcapng; vmdump needs classic pcap (tcpdump -w -)")
	default:
		buffered, _ := br.Peek(min(br.Buffered(), 256))
		if text, ok := quoteText(buffered); ok {
			return h, fmt.Errorf("remote side sent text instead of pcap: %s", text)
		}
		return h, fmt.Errorf("remote side sent data that is not pcap (it starts with % x)", magic)
	}
	hdr, err := br.Peek(pcapHeaderLen)
	if len(hdr) < pcapHeaderLen {
		if err == io.EOF {
			return h, errors.New("remote capture stream ended inside the pcap header")
		}
		return h, fmt.Errorf("reading the remote capture: %w", err)
	}
	if major, minor := h.order.Uint16(hdr[4:6]), h.order.Uint16(hdr[6:8]); major != 2 || minor != 4 {
		return h, fmt.Errorf("remote side sent pcap version %d.%d; only 2.4 is supported", major, minor)
	}
	h.snaplen = h.order.Uint32(hdr[16:20])
	// The upper 16 bits of the link type field carry FCS information that
	// pcapng has no place for in the link type.
	h.linkType = uint16(h.order.Uint32(hdr[20:24]))
	return h, nil
}

// quoteText returns the first line of b, quoted and shortened, if b starts
// like human-readable text.
func quoteText(b []byte) (string, bool) {
	probe := b[:min(len(b), 4)]
	for len(probe) > 0 {
		r, size := utf8.DecodeRune(probe)
		if r == utf8.RuneError && size <= 1 {
			if len(probe) < utf8.UTFMax && !utf8.FullRune(probe) {
				break // a multi-byte rune cut by the probe
			}
			return "", false
		}
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return "", false
		}
		probe = probe[size:]
	}
	line := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	const most = 60
	if utf8.RuneCountInString(line) > most {
		line = string([]rune(line)[:most]) + "..."
	}
	return strconv.Quote(line), true
}
