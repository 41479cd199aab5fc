package pcaptest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// NgName is one record of a pcapng name resolution block.
type NgName struct {
	Addr  netip.Addr
	Names []string
}

// ParseNames checks the framing of every block, as ParsePcapng does, and
// strictly decodes every name resolution block (type 4): records of type 1
// or 2 with their address and one or more non-empty zero-terminated names,
// zero padding to 32 bits, an end record, then nothing or valid options.
// It returns the records of all blocks in order and the number of blocks.
func ParseNames(b []byte) ([]NgName, int, error) {
	le := binary.LittleEndian
	var out []NgName
	blocks := 0
	for len(b) > 0 {
		if len(b) < 12 {
			return out, blocks, fmt.Errorf("%d stray bytes at the end", len(b))
		}
		typ, n := le.Uint32(b), le.Uint32(b[4:])
		if n%4 != 0 || n < 12 || int(n) > len(b) {
			return out, blocks, fmt.Errorf("block type %#x has bad length %d (%d left)", typ, n, len(b))
		}
		if le.Uint32(b[n-4:]) != n {
			return out, blocks, fmt.Errorf("block type %#x: trailing length %d != %d", typ, le.Uint32(b[n-4:]), n)
		}
		if typ == 4 {
			blocks++
			recs, err := parseNRB(b[8 : n-4])
			if err != nil {
				return out, blocks, fmt.Errorf("name resolution block %d: %v", blocks, err)
			}
			out = append(out, recs...)
		}
		b = b[n:]
	}
	return out, blocks, nil
}

func parseNRB(body []byte) ([]NgName, error) {
	le := binary.LittleEndian
	var out []NgName
	for {
		if len(body) < 4 {
			return out, fmt.Errorf("records without end record")
		}
		typ, n := le.Uint16(body), int(le.Uint16(body[2:]))
		if typ == 0 {
			if n != 0 {
				return out, fmt.Errorf("end record of length %d", n)
			}
			_, err := parseOptions(body[4:])
			return out, err
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(body) {
			return out, fmt.Errorf("record of length %d overruns its block", n)
		}
		if !bytes.Equal(body[4+n:4+padded], make([]byte, padded-n)) {
			return out, fmt.Errorf("non-zero padding")
		}
		v := body[4 : 4+n]
		var alen int
		switch typ {
		case 1:
			alen = 4
		case 2:
			alen = 16
		default:
			return out, fmt.Errorf("record type %d", typ)
		}
		if len(v) < alen+2 {
			return out, fmt.Errorf("record of type %d too short for a name: %d bytes", typ, len(v))
		}
		addr, _ := netip.AddrFromSlice(v[:alen])
		rec := NgName{Addr: addr}
		names := v[alen:]
		if names[len(names)-1] != 0 {
			return out, fmt.Errorf("names of %v not zero-terminated", addr)
		}
		for _, s := range bytes.Split(names[:len(names)-1], []byte{0}) {
			if len(s) == 0 {
				return out, fmt.Errorf("empty name for %v", addr)
			}
			rec.Names = append(rec.Names, string(s))
		}
		out = append(out, rec)
		body = body[4+padded:]
	}
}
