package pcapng

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Name is what one address is called in the capture: Wireshark shows these
// names in place of the address when it resolves network names (-N n, or
// View → Name Resolution → Resolve Network Addresses).
type Name struct {
	Addr  netip.Addr // IPv4, IPv6; an IPv4-mapped IPv6 address is written as IPv4
	Names []string   // e.g. container names; cleaned, see WriteNames
}

// pcapng name resolution block (pcapng specification, section 4.5).
const (
	blockNameResolution = 0x00000004

	nrbEnd  = 0
	nrbIPv4 = 1
	nrbIPv6 = 2
)

// maxName bounds one name (a DNS name has at most 253 bytes; container
// names are shorter). maxRecordNames bounds the names of one address, and
// maxNRB one whole block: more records go into further blocks.
const (
	maxName        = 255
	maxRecordNames = 4 << 10
	maxNRB         = 64 << 10
)

// WriteNames writes name resolution blocks naming the given addresses. The
// names come from untrusted places (container names), so each one is
// cleaned: surrounding white space is removed; invalid UTF-8, control and
// format characters (NUL, newline, bidi overrides, …) and other white
// space become '_'; it is cut to 255 bytes. Names left empty, repeated
// names, invalid addresses and addresses left without a name are dropped,
// as are an address's names beyond 4 KB. Large lists are split into
// several blocks of at most 64 KB. When the same address is named again,
// in a later block, Wireshark uses the later names (tshark 4.0 does).
//
// Like WriteStats it does not flush: the blocks go out with the next
// packets' flush, or with Flush. It needs the section header (Begin or
// AddNIC) first.
func (w *Writer) WriteNames(names []Name) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.shb {
		return errors.New("names before the section header (Begin or AddNIC)")
	}
	for _, b := range nameBlocks(names) {
		if err := w.write(b); err != nil {
			return err
		}
	}
	return nil
}

// nameBlocks encodes names as name resolution blocks, none larger than
// maxNRB; nil when no address has a valid name.
func nameBlocks(names []Name) [][]byte {
	var blocks [][]byte
	var cur []byte // the current block, without end record and trailer
	finish := func() {
		if cur == nil {
			return
		}
		cur = binary.LittleEndian.AppendUint32(cur, nrbEnd) // type 0, length 0
		cur = append(cur, 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(cur[4:], uint32(len(cur)))
		binary.LittleEndian.PutUint32(cur[len(cur)-4:], uint32(len(cur)))
		blocks = append(blocks, cur)
		cur = nil
	}
	for _, n := range names {
		rec := nameRecord(n)
		if rec == nil {
			continue
		}
		if cur != nil && len(cur)+len(rec)+8 > maxNRB {
			finish()
		}
		if cur == nil {
			cur = binary.LittleEndian.AppendUint32(nil, blockNameResolution)
			cur = append(cur, 0, 0, 0, 0) // length, set by finish
		}
		cur = append(cur, rec...)
	}
	finish()
	return blocks
}

// nameRecord is the padded nrb_record_ipv4 or nrb_record_ipv6 of n; nil
// when n has no valid address or no valid name.
func nameRecord(n Name) []byte {
	a := n.Addr.Unmap()
	var typ uint16
	switch {
	case a.Is4():
		typ = nrbIPv4
	case a.Is6():
		typ = nrbIPv6
		a = a.WithZone("")
	default:
		return nil
	}
	value := a.AsSlice()
	addrLen := len(value)
	seen := map[string]bool{}
	for _, s := range n.Names {
		s = cleanName(s)
		if s == "" || seen[s] || len(value)-addrLen+len(s)+1 > maxRecordNames {
			continue
		}
		seen[s] = true
		value = append(value, s...)
		value = append(value, 0)
	}
	if len(value) == addrLen {
		return nil
	}
	rec := binary.LittleEndian.AppendUint16(nil, typ)
	rec = binary.LittleEndian.AppendUint16(rec, uint16(len(value)))
	rec = append(rec, value...)
	return append(rec, zeros[:-len(value)&3]...)
}

// cleanName is s as a name fit for a record: valid UTF-8 without control
// characters or surrounding white space, at most maxName bytes.
func cleanName(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "_"))
	s = strings.Map(func(r rune) rune {
		// Control and format characters (NUL, newline, bidi overrides)
		// and white space other than a plain space.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') {
			return '_'
		}
		return r
	}, s)
	if len(s) > maxName {
		s = s[:maxName]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s = strings.TrimSpace(s)
	}
	return s
}
