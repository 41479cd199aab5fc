package pcaptest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// testPacket is one record of a pcap stream built by pcapBytes.
type TestPacket struct {
	Ts   time.Time
	Data []byte
	Orig int // 0 = len(data)
}

// pcapBytes builds a classic pcap stream, independently of the code under
// test: magic for the byte order and resolution, version 2.4, records.
func PcapBytes(order binary.ByteOrder, nanos bool, linkType, snaplen uint32, pkts []TestPacket) []byte {
	var b bytes.Buffer
	magic := uint32(0xA1B2C3D4)
	if nanos {
		magic = 0xA1B23C4D
	}
	hdr := make([]byte, 24)
	order.PutUint32(hdr[0:], magic)
	order.PutUint16(hdr[4:], 2)
	order.PutUint16(hdr[6:], 4)
	order.PutUint32(hdr[16:], snaplen)
	order.PutUint32(hdr[20:], linkType)
	b.Write(hdr)
	for _, p := range pkts {
		b.Write(PcapRecord(order, nanos, p))
	}
	return b.Bytes()
}

func PcapRecord(order binary.ByteOrder, nanos bool, p TestPacket) []byte {
	rec := make([]byte, 16, 16+len(p.Data))
	frac := uint32(p.Ts.Nanosecond())
	if !nanos {
		frac /= 1000
	}
	orig := p.Orig
	if orig == 0 {
		orig = len(p.Data)
	}
	order.PutUint32(rec[0:], uint32(p.Ts.Unix()))
	order.PutUint32(rec[4:], frac)
	order.PutUint32(rec[8:], uint32(len(p.Data)))
	order.PutUint32(rec[12:], uint32(orig))
	return append(rec, p.Data...)
}

// ethernetFrame is a minimal Ethernet/IPv4/UDP frame of n bytes (n >= 42),
// so that tshark dissects something real.
func EthernetFrame(n int, seq byte) []byte {
	f := make([]byte, n)
	copy(f[0:6], []byte{0x02, 0, 0, 0, 0, 1})
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 2})
	f[12], f[13] = 0x08, 0x00
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(n-14))
	ip[8], ip[9] = 64, 17
	copy(ip[12:16], []byte{10, 0, 0, 1})
	copy(ip[16:20], []byte{10, 0, 0, 2})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := f[34:42]
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 9999)
	binary.BigEndian.PutUint16(udp[4:], uint16(n-34))
	for i := 42; i < n; i++ {
		f[i] = seq
	}
	return f
}

// ngBlock is one parsed pcapng block.
type ngBlock struct {
	typ  uint32
	body []byte // between the length fields
}

// ngFile is a parsed pcapng stream, for assertions.
type NgFile struct {
	ShbOptions map[uint16][]byte
	Ifaces     []ngIface
	Packets    []ngPacket
	Stats      []ngStats
	Blocks     []uint32 // block types in order
}

type ngIface struct {
	LinkType uint16
	Snaplen  uint32
	Options  map[uint16][]byte
}

type ngPacket struct {
	Iface  uint32
	Ts     uint64
	Caplen uint32
	Orig   uint32
	Data   []byte
}

type ngStats struct {
	Iface   uint32
	Ts      uint64
	Options map[uint16][]byte
}

// parsePcapng checks the framing of every block (lengths, alignment, the
// trailing copy of the length) and decodes the blocks vmdump writes.
func ParsePcapng(b []byte) (NgFile, error) {
	f := NgFile{ShbOptions: map[uint16][]byte{}}
	le := binary.LittleEndian
	for len(b) > 0 {
		if len(b) < 12 {
			return f, fmt.Errorf("%d stray bytes at the end", len(b))
		}
		typ, n := le.Uint32(b), le.Uint32(b[4:])
		if n%4 != 0 || n < 12 || int(n) > len(b) {
			return f, fmt.Errorf("block type %#x has bad length %d (%d left)", typ, n, len(b))
		}
		if le.Uint32(b[n-4:]) != n {
			return f, fmt.Errorf("block type %#x: trailing length %d != %d", typ, le.Uint32(b[n-4:]), n)
		}
		body := b[8 : n-4]
		f.Blocks = append(f.Blocks, typ)
		var err error
		switch typ {
		case 0x0A0D0D0A: // section header
			if len(f.Blocks) != 1 || le.Uint32(body) != 0x1A2B3C4D || le.Uint16(body[4:]) != 1 {
				return f, fmt.Errorf("bad section header % x", body[:8])
			}
			f.ShbOptions, err = parseOptions(body[16:])
		case 1: // interface description
			var i ngIface
			i.LinkType, i.Snaplen = le.Uint16(body), le.Uint32(body[4:])
			i.Options, err = parseOptions(body[8:])
			f.Ifaces = append(f.Ifaces, i)
		case 6: // enhanced packet
			p := ngPacket{Iface: le.Uint32(body), Ts: uint64(le.Uint32(body[4:]))<<32 | uint64(le.Uint32(body[8:])),
				Caplen: le.Uint32(body[12:]), Orig: le.Uint32(body[16:])}
			if int(p.Iface) >= len(f.Ifaces) {
				return f, fmt.Errorf("packet of undescribed interface %d", p.Iface)
			}
			padded := (p.Caplen + 3) &^ 3
			if uint32(len(body)) != 20+padded {
				return f, fmt.Errorf("packet block of %d bytes for caplen %d", len(body), p.Caplen)
			}
			p.Data = body[20 : 20+p.Caplen]
			f.Packets = append(f.Packets, p)
		case 5: // interface statistics
			s := ngStats{Iface: le.Uint32(body), Ts: uint64(le.Uint32(body[4:]))<<32 | uint64(le.Uint32(body[8:]))}
			s.Options, err = parseOptions(body[12:])
			f.Stats = append(f.Stats, s)
		default:
			return f, fmt.Errorf("unexpected block type %#x", typ)
		}
		if err != nil {
			return f, err
		}
		b = b[n:]
	}
	return f, nil
}

func parseOptions(b []byte) (map[uint16][]byte, error) {
	m := map[uint16][]byte{}
	if len(b) == 0 {
		return m, nil // no options at all
	}
	le := binary.LittleEndian
	for len(b) > 0 {
		if len(b) < 4 {
			return m, fmt.Errorf("truncated option")
		}
		code, n := le.Uint16(b), int(le.Uint16(b[2:]))
		if code == 0 { // opt_endofopt
			if n != 0 || len(b) != 4 {
				return m, fmt.Errorf("bytes after the end of options")
			}
			return m, nil
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(b) {
			return m, fmt.Errorf("option %d overruns its block", code)
		}
		m[code] = b[4 : 4+n]
		b = b[4+padded:]
	}
	return m, fmt.Errorf("options without end marker")
}

// needTool skips the test when a Wireshark/tcpdump tool is not installed.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

// lines splits output into lines, without the final empty one.
func SplitLines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// smallReader returns at most n bytes per Read.
type SmallReader struct {
	B []byte
	N int
}

func (r *SmallReader) Read(p []byte) (int, error) {
	if len(r.B) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.N)], r.B)
	r.B = r.B[n:]
	return n, nil
}

func ErrText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// failingWriter fails every write, like a full disk.
type FailingWriter struct{}

func (FailingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// Golden compares output line by line so a failure names the line.
func Golden(t testing.TB, got string, want []string) {
	t.Helper()
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("output does not end with a newline: %q", got)
	}
	lines := SplitLines(got)
	for i := 0; i < len(lines) || i < len(want); i++ {
		var g, w string
		if i < len(lines) {
			g = lines[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, g, w)
		}
	}
}
