package pcapng

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/gopacket"
)

// NIC describes one captured interface in the pcapng stream.
type NIC struct {
	Name        string // frame.interface_name in Wireshark, e.g. "default:eth1"
	Description string // e.g. "Docker VM default (boot2docker) eth1"
	Filter      string // the capture filter the remote side really applies
	OS          string // the VM's OS; also the section's OS (first NIC)
}

// Writer writes a pcapng stream (one section, any number of interfaces)
// onto Wireshark's FIFO. It is safe for concurrent use, so one Pump per NIC
// can feed the same Writer.
//
// It writes the blocks itself instead of using pcapgo.NgWriter, because
// gopacket's layers.LinkType is a uint8 and NgWriter therefore cannot
// describe link types above 255 — and tcpdump -i any writes LINUX_SLL2 (276).
// Every block is little-endian; timestamps are in nanoseconds (if_tsresol 9).
type Writer struct {
	mu   sync.Mutex
	bw   *bufio.Writer
	app  string
	shb  bool // section header written
	nics int
	hdr  [28]byte
	tail [8]byte // 4 zero bytes of padding room, then the trailing length
}

// writerBufferSize batches small packets into few FIFO writes under load;
// Pump flushes as soon as its input runs dry, so idle latency is unaffected.
// It matches readerBufferSize: a full read buffer is one write.
const writerBufferSize = 256 << 10

// maxPacket bounds the data of one enhanced packet block.
const maxPacket = 16 << 20

// maxOptionText bounds a text option (its length field has 16 bits).
const maxOptionText = 32 << 10

// pcapng block types and option codes (pcapng specification, section 4).
const (
	blockSectionHeader  = 0x0A0D0D0A
	blockInterface      = 0x00000001
	blockInterfaceStats = 0x00000005
	blockEnhancedPacket = 0x00000006
	byteOrderMagic      = 0x1A2B3C4D

	optEnd      = 0
	shbOS       = 3
	shbUserAppl = 4
	ifName      = 2
	ifDescr     = 3
	ifTSResol   = 9
	ifFilter    = 11
	ifOS        = 12
	isbStart    = 2
	isbEnd      = 3
	isbIfRecv   = 4
	isbIfDrop   = 5
)

// NewWriter returns a Writer on w (normally the FIFO). app goes into the
// section header's shb_userappl, e.g. "vmdump 1.2.0"; the section header is
// written by Begin, or together with the first interface.
func NewWriter(w io.Writer, app string) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, writerBufferSize), app: app}
}

// Begin writes the section header at once and flushes it. dumpcap creates
// the capture file only once it has read a header from the FIFO, and
// tcpdump's own header reaches vmdump only with its first packet (-U flushes
// per packet), so without Begin a quiet capture that is stopped leaves no
// file at all. hostOS goes into shb_os (the OS of the machine writing the
// file); the VM's OS is each interface's if_os.
func (w *Writer) Begin(hostOS string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.begin(hostOS); err != nil {
		return err
	}
	return w.bw.Flush()
}

func (w *Writer) begin(hostOS string) error {
	if w.shb {
		return nil
	}
	var opts options
	opts.text(shbOS, hostOS)
	opts.text(shbUserAppl, w.app)
	b := block(blockSectionHeader, func(b []byte) []byte {
		b = binary.LittleEndian.AppendUint32(b, byteOrderMagic)
		b = binary.LittleEndian.AppendUint16(b, 1) // major version
		b = binary.LittleEndian.AppendUint16(b, 0) // minor version
		return binary.LittleEndian.AppendUint64(b, ^uint64(0))
	}, opts)
	if err := w.write(b); err != nil {
		return err
	}
	w.shb = true
	return nil
}

// AddNIC describes one more interface and returns its number for
// WritePacket and WriteStats. linkType is the LINKTYPE_ value (the low 16
// bits of a pcap header's link type field), snaplen the capture length limit
// (0 = none). Interfaces may be added after packets of other interfaces.
func (w *Writer) AddNIC(linkType uint16, snaplen uint32, nic NIC) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.begin(nic.OS); err != nil {
		return 0, err
	}
	var opts options
	opts.text(ifName, nic.Name)
	opts.text(ifDescr, nic.Description)
	if nic.Filter != "" {
		opts.add(ifFilter, append([]byte{0}, cleanText(nic.Filter)...)) // 0 = libpcap filter string
	}
	opts.text(ifOS, nic.OS)
	opts.add(ifTSResol, []byte{9})
	b := block(blockInterface, func(b []byte) []byte {
		b = binary.LittleEndian.AppendUint16(b, linkType)
		b = binary.LittleEndian.AppendUint16(b, 0) // reserved
		return binary.LittleEndian.AppendUint32(b, snaplen)
	}, opts)
	if err := w.write(b); err != nil {
		return 0, err
	}
	w.nics++
	return w.nics - 1, nil
}

// WritePacket writes one packet of interface nic. Only ci.Timestamp and
// ci.Length are used; the captured length is len(data). It does not flush.
func (w *Writer) WritePacket(nic int, ci gopacket.CaptureInfo, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if nic < 0 || nic >= w.nics {
		return fmt.Errorf("packet for interface %d, but only %d are described", nic, w.nics)
	}
	if len(data) > maxPacket {
		return fmt.Errorf("packet of %d bytes is larger than %d", len(data), maxPacket)
	}
	orig := ci.Length
	if orig < len(data) {
		orig = len(data)
	}
	pad := -len(data) & 3
	total := 32 + len(data) + pad
	ts := uint64(ci.Timestamp.UnixNano())
	h := w.hdr[:] // a field, not a local: bufio may pass it to the FIFO's Write, so a local would escape
	binary.LittleEndian.PutUint32(h[0:], blockEnhancedPacket)
	binary.LittleEndian.PutUint32(h[4:], uint32(total))
	binary.LittleEndian.PutUint32(h[8:], uint32(nic))
	binary.LittleEndian.PutUint32(h[12:], uint32(ts>>32))
	binary.LittleEndian.PutUint32(h[16:], uint32(ts))
	binary.LittleEndian.PutUint32(h[20:], uint32(len(data)))
	binary.LittleEndian.PutUint32(h[24:], uint32(orig))
	if w.bw.Available() < total {
		if err := w.bw.Flush(); err != nil {
			return writeError(err)
		}
	}
	if b := w.bw.AvailableBuffer(); cap(b) >= total {
		// The common case: assemble the block in place, one copy of data.
		b = append(b, h...)
		b = append(b, data...)
		b = append(b, zeros[:pad]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(total))
		// b is bufio's own free space: Write only advances it, or
		// reports an earlier failure.
		if _, err := w.bw.Write(b); err != nil {
			return writeError(err)
		}
		return nil
	}
	// A block larger than the whole buffer goes out in pieces.
	w.bw.Write(h) // bufio errors are sticky: the last Write reports them
	w.bw.Write(data)
	binary.LittleEndian.PutUint32(w.tail[4:], uint32(total))
	if _, err := w.bw.Write(w.tail[4-pad:]); err != nil {
		return writeError(err)
	}
	return nil
}

var zeros [4]byte

// WriteStats writes an interface statistics block: what the remote capture
// reported as received and dropped between start and end (zero times are
// left out). Wireshark shows drops in Statistics → Capture File Properties.
func (w *Writer) WriteStats(nic int, received, dropped uint64, start, end time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if nic < 0 || nic >= w.nics {
		return fmt.Errorf("statistics for interface %d, but only %d are described", nic, w.nics)
	}
	var opts options
	if !start.IsZero() {
		opts.add(isbStart, timestamp(start))
	}
	if !end.IsZero() {
		opts.add(isbEnd, timestamp(end))
	}
	opts.add(isbIfRecv, binary.LittleEndian.AppendUint64(nil, received))
	opts.add(isbIfDrop, binary.LittleEndian.AppendUint64(nil, dropped))
	at := end
	if at.IsZero() {
		at = time.Now()
	}
	b := block(blockInterfaceStats, func(b []byte) []byte {
		b = binary.LittleEndian.AppendUint32(b, uint32(nic))
		return append(b, timestamp(at)...)
	}, opts)
	return w.write(b)
}

// Flush hands everything written so far to the FIFO.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.bw.Flush(); err != nil {
		return writeError(err)
	}
	return nil
}

func (w *Writer) write(b []byte) error {
	if _, err := w.bw.Write(b); err != nil {
		return writeError(err)
	}
	return nil
}

// WriteError is a failed write to the Writer's destination (Wireshark's
// FIFO): the output is gone, so every pump of PumpAll stops. It keeps the
// cause visible to errors.Is (a closed pipe means the reader went away).
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return "writing to Wireshark: " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

func writeError(err error) error { return &WriteError{Err: err} }

// timestamp is a pcapng timestamp in nanoseconds: high word, then low word.
func timestamp(t time.Time) []byte {
	ns := uint64(t.UnixNano())
	b := binary.LittleEndian.AppendUint32(nil, uint32(ns>>32))
	return binary.LittleEndian.AppendUint32(b, uint32(ns))
}

// options is the encoded option list of one block.
type options []byte

func (o *options) add(code uint16, value []byte) {
	*o = binary.LittleEndian.AppendUint16(*o, code)
	*o = binary.LittleEndian.AppendUint16(*o, uint16(len(value)))
	*o = append(*o, value...)
	*o = append(*o, make([]byte, -len(value)&3)...)
}

func (o *options) text(code uint16, s string) {
	if s != "" {
		o.add(code, []byte(cleanText(s)))
	}
}

// cleanText is valid UTF-8 that fits an option.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxOptionText {
		return s
	}
	s = s[:maxOptionText]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// block assembles a whole block: type, length, the fixed body that body
// appends, the options with their end marker, and the trailing length.
func block(typ uint32, body func([]byte) []byte, opts options) []byte {
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = append(b, 0, 0, 0, 0) // length, set below
	b = body(b)
	if len(opts) > 0 {
		b = append(b, opts...)
		b = binary.LittleEndian.AppendUint32(b, optEnd)
	}
	b = append(b, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[len(b)-4:], uint32(len(b)))
	return b
}
