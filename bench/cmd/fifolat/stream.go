//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// packetFunc receives each packet parsed from the stream: its capture
// timestamp and its captured length.
type packetFunc func(ts time.Time, caplen int)

// parser reads a pcap or pcapng stream incrementally: feed it whatever a
// read returned, it reports every packet that is complete so far and keeps
// the rest for the next feed.
type parser struct {
	onPacket packetFunc
	kind     int // 0 unknown, 1 pcap, 2 pcapng
	order    binary.ByteOrder
	pcapNano bool
	ifRes    []tsres // per pcapng interface
	pending  []byte
	skip     int // bytes of a large block still to skip
}

const (
	kindUnknown = iota
	kindPcap
	kindPcapng
)

// tsres is one interface's timestamp resolution: units per second as
// 10^exp (pow10) or 2^exp.
type tsres struct {
	pow10 bool
	exp   int
}

var defaultRes = tsres{pow10: true, exp: 6}

// maxBlock bounds a pcapng block or pcap record; anything larger is taken
// for a corrupt stream.
const maxBlock = 64 << 20

func (p *parser) feed(b []byte) error {
	if p.skip > 0 {
		n := min(p.skip, len(b))
		p.skip -= n
		b = b[n:]
	}
	if len(p.pending) > 0 {
		p.pending = append(p.pending, b...)
		b = p.pending
	}
	rest, err := p.parse(b)
	if err != nil {
		return err
	}
	p.pending = append(p.pending[:0], rest...)
	return nil
}

// parse consumes complete units from b and returns what is left.
func (p *parser) parse(b []byte) ([]byte, error) {
	if p.kind == kindUnknown {
		if len(b) < 24 {
			return b, nil
		}
		switch binary.LittleEndian.Uint32(b) {
		case 0xA1B2C3D4:
			p.kind, p.order = kindPcap, binary.LittleEndian
		case 0xA1B23C4D:
			p.kind, p.order, p.pcapNano = kindPcap, binary.LittleEndian, true
		case 0xD4C3B2A1:
			p.kind, p.order = kindPcap, binary.BigEndian
		case 0x4D3CB2A1:
			p.kind, p.order, p.pcapNano = kindPcap, binary.BigEndian, true
		case 0x0A0D0D0A:
			p.kind = kindPcapng
		default:
			return nil, fmt.Errorf("stream is neither pcap nor pcapng (starts with % x)", b[:8])
		}
		if p.kind == kindPcap {
			b = b[24:]
		}
	}
	if p.kind == kindPcap {
		return p.parsePcap(b)
	}
	return p.parsePcapng(b)
}

func (p *parser) parsePcap(b []byte) ([]byte, error) {
	for len(b) >= 16 {
		caplen := int(p.order.Uint32(b[8:12]))
		if caplen > maxBlock {
			return nil, fmt.Errorf("pcap record of %d bytes: corrupt stream", caplen)
		}
		if len(b) < 16+caplen {
			break
		}
		sec, frac := int64(p.order.Uint32(b[0:4])), int64(p.order.Uint32(b[4:8]))
		if !p.pcapNano {
			frac *= 1000
		}
		p.onPacket(time.Unix(sec, frac), caplen)
		b = b[16+caplen:]
	}
	return b, nil
}

func (p *parser) parsePcapng(b []byte) ([]byte, error) {
	for len(b) >= 12 {
		typ := binary.LittleEndian.Uint32(b[0:4])
		if typ == 0x0A0D0D0A {
			switch binary.LittleEndian.Uint32(b[8:12]) {
			case 0x1A2B3C4D:
				p.order = binary.LittleEndian
			case 0x4D3C2B1A:
				p.order = binary.BigEndian
			default:
				return nil, errors.New("pcapng section header with a bad byte-order magic")
			}
			p.ifRes = p.ifRes[:0]
		}
		if p.order == nil {
			return nil, errors.New("pcapng block before the section header")
		}
		typ = p.order.Uint32(b[0:4])
		n := int(p.order.Uint32(b[4:8]))
		if n < 12 || n%4 != 0 || n > maxBlock {
			return nil, fmt.Errorf("pcapng block of %d bytes: corrupt stream", n)
		}
		if len(b) < n {
			if typ != 6 && typ != 1 && typ != 0x0A0D0D0A && len(b) >= 12 {
				// A large block we do not need: skip it without buffering.
				p.skip = n - len(b)
				return nil, nil
			}
			break
		}
		blk := b[:n]
		switch typ {
		case 1: // interface description
			p.ifRes = append(p.ifRes, p.ifTSRes(blk))
		case 6: // enhanced packet
			if n < 32 {
				return nil, errors.New("short enhanced packet block")
			}
			id := int(p.order.Uint32(blk[8:12]))
			ts := uint64(p.order.Uint32(blk[12:16]))<<32 | uint64(p.order.Uint32(blk[16:20]))
			res := defaultRes
			if id < len(p.ifRes) {
				res = p.ifRes[id]
			}
			p.onPacket(res.time(ts), int(p.order.Uint32(blk[20:24])))
		}
		b = b[n:]
	}
	return b, nil
}

// ifTSRes finds if_tsresol (option 9) in an interface description block.
func (p *parser) ifTSRes(blk []byte) tsres {
	opts := blk[16 : len(blk)-4]
	for len(opts) >= 4 {
		code, l := p.order.Uint16(opts[0:2]), int(p.order.Uint16(opts[2:4]))
		if code == 0 || 4+l > len(opts) {
			break
		}
		if code == 9 && l >= 1 {
			v := opts[4]
			if v&0x80 != 0 {
				return tsres{exp: int(v & 0x7f)}
			}
			return tsres{pow10: true, exp: int(v)}
		}
		opts = opts[4+(l+3)&^3:]
	}
	return defaultRes
}

func (r tsres) time(units uint64) time.Time {
	if r.pow10 {
		per := uint64(math.Pow10(r.exp))
		sec := units / per
		rem := units % per
		var ns uint64
		if r.exp <= 9 {
			ns = rem * uint64(math.Pow10(9-r.exp))
		} else {
			ns = rem / uint64(math.Pow10(r.exp-9))
		}
		return time.Unix(int64(sec), int64(ns))
	}
	per := uint64(1) << r.exp
	sec := units / per
	ns := (units % per) * 1e9 / per
	return time.Unix(int64(sec), int64(ns))
}
