//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

type pkt struct {
	ts     time.Time
	caplen int
}

func pcapStream(order binary.AppendByteOrder, nano bool, pkts []pkt) []byte {
	magic := uint32(0xA1B2C3D4)
	if nano {
		magic = 0xA1B23C4D
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = order.AppendUint32(b, 262144)
	b = order.AppendUint32(b, 1)
	for _, p := range pkts {
		frac := p.ts.Nanosecond() / 1000
		if nano {
			frac = p.ts.Nanosecond()
		}
		b = order.AppendUint32(b, uint32(p.ts.Unix()))
		b = order.AppendUint32(b, uint32(frac))
		b = order.AppendUint32(b, uint32(p.caplen))
		b = order.AppendUint32(b, uint32(p.caplen))
		b = append(b, bytes.Repeat([]byte{0xAB}, p.caplen)...)
	}
	return b
}

// pcapngStream is one section; interface 0 has tsresol (nil: no option).
func pcapngStream(tsresol []byte, pkts []pkt, unitsPerSec uint64) []byte {
	le := binary.LittleEndian
	block := func(typ uint32, body []byte) []byte {
		n := 12 + len(body)
		b := le.AppendUint32(nil, typ)
		b = le.AppendUint32(b, uint32(n))
		b = append(b, body...)
		return le.AppendUint32(b, uint32(n))
	}
	shb := le.AppendUint32(nil, 0x1A2B3C4D)
	shb = le.AppendUint16(shb, 1)
	shb = le.AppendUint16(shb, 0)
	shb = le.AppendUint64(shb, ^uint64(0))
	out := block(0x0A0D0D0A, shb)
	idb := le.AppendUint16(nil, 1)
	idb = le.AppendUint16(idb, 0)
	idb = le.AppendUint32(idb, 0)
	if tsresol != nil {
		idb = le.AppendUint16(idb, 9)
		idb = le.AppendUint16(idb, uint16(len(tsresol)))
		idb = append(idb, tsresol...)
		idb = append(idb, make([]byte, -len(tsresol)&3)...)
		idb = le.AppendUint32(idb, 0) // opt_endofopt
	}
	out = append(out, block(1, idb)...)
	// A block the parser must skip: a name resolution block.
	out = append(out, block(4, make([]byte, 8))...)
	for _, p := range pkts {
		units := uint64(p.ts.Unix())*unitsPerSec + uint64(p.ts.Nanosecond())*unitsPerSec/1e9
		epb := le.AppendUint32(nil, 0)
		epb = le.AppendUint32(epb, uint32(units>>32))
		epb = le.AppendUint32(epb, uint32(units))
		epb = le.AppendUint32(epb, uint32(p.caplen))
		epb = le.AppendUint32(epb, uint32(p.caplen))
		epb = append(epb, bytes.Repeat([]byte{0xCD}, p.caplen)...)
		epb = append(epb, make([]byte, -p.caplen&3)...)
		out = append(out, block(6, epb)...)
	}
	return out
}

func TestParser(t *testing.T) {
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	pkts := []pkt{{base.Add(123456 * time.Microsecond), 60}, {base.Add(2*time.Second + 7*time.Microsecond), 1514}, {base.Add(3 * time.Second), 1}}
	for _, tc := range []struct {
		name   string
		stream []byte
		exact  time.Duration // the format's timestamp resolution
	}{
		{"pcap LE micro", pcapStream(binary.LittleEndian, false, pkts), time.Microsecond},
		{"pcap BE nano", pcapStream(binary.BigEndian, true, pkts), time.Nanosecond},
		{"pcapng default micro", pcapngStream(nil, pkts, 1e6), time.Microsecond},
		{"pcapng nano (vmdump)", pcapngStream([]byte{9}, pkts, 1e9), time.Nanosecond},
		{"pcapng 2^-10", pcapngStream([]byte{0x80 | 10}, pkts, 1024), time.Second / 1024},
	} {
		// Fed whole, byte by byte and in odd chunks: the same packets.
		for _, chunk := range []int{len(tc.stream), 1, 7, 1000} {
			var got []pkt
			p := &parser{onPacket: func(ts time.Time, caplen int) { got = append(got, pkt{ts, caplen}) }}
			for i := 0; i < len(tc.stream); i += chunk {
				if err := p.feed(tc.stream[i:min(i+chunk, len(tc.stream))]); err != nil {
					t.Fatalf("%s/%d: %v", tc.name, chunk, err)
				}
			}
			if len(got) != len(pkts) || len(p.pending) != 0 {
				t.Fatalf("%s/%d: %d packets, %d bytes pending; want %d, 0", tc.name, chunk, len(got), len(p.pending), len(pkts))
			}
			for i, g := range got {
				d := g.ts.Sub(pkts[i].ts)
				if g.caplen != pkts[i].caplen || d > 0 || d <= -tc.exact { // truncated to the resolution
					t.Errorf("%s/%d packet %d: %v %d, want %v %d", tc.name, chunk, i, g.ts, g.caplen, pkts[i].ts, pkts[i].caplen)
				}
			}
		}
	}
}

func TestParserRejects(t *testing.T) {
	for name, stream := range map[string][]byte{
		"text":          []byte("sudo: a password is required\n......"),
		"huge record":   append(pcapStream(binary.LittleEndian, false, nil), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0),
		"bad block len": append(pcapngStream(nil, nil, 1e6), 6, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0),
	} {
		p := &parser{onPacket: func(time.Time, int) {}}
		if err := p.feed(stream); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestQuantile(t *testing.T) {
	var v []time.Duration
	for i := 1; i <= 100; i++ {
		v = append(v, time.Duration(i))
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := quantile(v, tc.q); got != tc.want {
			t.Errorf("q%.2f = %d, want %d", tc.q, got, tc.want)
		}
	}
}
