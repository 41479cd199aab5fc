package pcapng

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/gopacket"
	"github.com/vmdump/vmdump/internal/pcaptest"
)

// namesStream writes a section header, one interface and names, and
// returns the stream.
func namesStream(t testing.TB, names ...[]Name) []byte {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, "vmdump")
	if _, err := w.AddNIC(1, 0, NIC{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := w.WriteNames(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestWriteNamesParsedBack(t *testing.T) {
	b := namesStream(t, []Name{
		{Addr: netip.MustParseAddr("10.1.2.3"), Names: []string{"web", "web-1"}},
		{Addr: netip.MustParseAddr("fd00::5"), Names: []string{"db"}},
		{Addr: netip.MustParseAddr("::ffff:192.168.0.7"), Names: []string{"mapped"}},
		{Addr: netip.MustParseAddr("fe80::1%eth0"), Names: []string{"zoned"}},
		{Addr: netip.MustParseAddr("10.0.0.9"), Names: []string{"abcd"}}, // a 4+5 byte value: padding
	})
	got, blocks, err := pcaptest.ParseNames(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []pcaptest.NgName{
		{Addr: netip.MustParseAddr("10.1.2.3"), Names: []string{"web", "web-1"}},
		{Addr: netip.MustParseAddr("fd00::5"), Names: []string{"db"}},
		{Addr: netip.MustParseAddr("192.168.0.7"), Names: []string{"mapped"}},
		{Addr: netip.MustParseAddr("fe80::1"), Names: []string{"zoned"}},
		{Addr: netip.MustParseAddr("10.0.0.9"), Names: []string{"abcd"}},
	}
	if blocks != 1 || !reflect.DeepEqual(got, want) {
		t.Errorf("%d blocks:\n got %v\nwant %v", blocks, got, want)
	}
	// The exact bytes of the first record: type 1, length 4+4+6, address,
	// "web\0web-1\0", 2 bytes of padding.
	i := bytes.Index(b, []byte{4, 0, 0, 0})
	rec := b[i+8 : i+8+20]
	wantRec := append([]byte{1, 0, 14, 0, 10, 1, 2, 3}, "web\x00web-1\x00\x00\x00"...)
	if !bytes.Equal(rec, wantRec) {
		t.Errorf("first record % x, want % x", rec, wantRec)
	}
}

func TestWriteNamesNothingValid(t *testing.T) {
	plain := namesStream(t)
	for _, names := range [][]Name{
		nil,
		{},
		{{Addr: netip.Addr{}, Names: []string{"x"}}},
		{{Addr: netip.MustParseAddr("10.0.0.1")}},
		{{Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"", "  ", "\t"}}},
	} {
		if b := namesStream(t, names); !bytes.Equal(b, plain) {
			t.Errorf("%v: a block written: % x", names, b[len(plain):])
		}
	}
}

func TestWriteNamesBeforeSectionHeader(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, "vmdump")
	if err := w.WriteNames([]Name{{Addr: netip.MustParseAddr("10.0.0.1"), Names: []string{"a"}}}); err == nil {
		t.Error("no error for names before the section header")
	}
	w.Flush()
	if out.Len() != 0 {
		t.Errorf("%d bytes written", out.Len())
	}
}

// Hostile names never make a broken block: every name that comes out is
// valid UTF-8, non-empty, without control characters and short.
func TestWriteNamesHostile(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.1")
	cases := []struct {
		in   []string
		want []string // nil: no record
	}{
		{[]string{"a\x00b"}, []string{"a_b"}},
		{[]string{"\x00"}, []string{"_"}},
		{[]string{"web\n"}, []string{"web"}},
		{[]string{"we\nb", "x\r\ny"}, []string{"we_b", "x__y"}},
		{[]string{""}, nil},
		{[]string{"   "}, nil},
		{[]string{"\xff\xfe"}, []string{"_"}},
		{[]string{"a\u202eb"}, []string{"a_b"}},
		{[]string{"a\u2028b"}, []string{"a_b"}},
		{[]string{"dup", "dup", " dup "}, []string{"dup"}},
		{[]string{strings.Repeat("x", 10<<10)}, []string{strings.Repeat("x", maxName)}},
		{[]string{strings.Repeat("é", 10<<10)}, []string{strings.Repeat("é", maxName/2)}},
	}
	for _, c := range cases {
		got, _, err := pcaptest.ParseNames(namesStream(t, []Name{{Addr: a, Names: c.in}}))
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		var names []string
		if len(got) > 0 {
			names = got[0].Names
		}
		if !reflect.DeepEqual(names, c.want) {
			t.Errorf("%.40q: got %.40q, want %.40q", c.in, names, c.want)
		}
	}
}

func TestWriteNamesLimits(t *testing.T) {
	// Many long names of one address: at most maxRecordNames bytes of them.
	var many []string
	for i := 0; i < 100; i++ {
		many = append(many, strings.Repeat(string(rune('a'+i%26)), 200)+string(rune('0'+i/26)))
	}
	got, _, err := pcaptest.ParseNames(namesStream(t, []Name{{Addr: netip.MustParseAddr("10.0.0.1"), Names: many}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Names) != maxRecordNames/202 {
		t.Fatalf("%d records, %d names", len(got), len(got[0].Names))
	}
	// Many addresses: several blocks, none larger than maxNRB, all records.
	var names []Name
	for i := 0; i < 5000; i++ {
		var a [16]byte
		a[0], a[1] = 0xfd, 0
		binary.BigEndian.PutUint32(a[12:], uint32(i))
		names = append(names, Name{Addr: netip.AddrFrom16(a), Names: []string{strings.Repeat("n", 20)}})
	}
	b := namesStream(t, names)
	got, blocks, err := pcaptest.ParseNames(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) || blocks < 2 {
		t.Errorf("%d records in %d blocks, want %d in several", len(got), blocks, len(names))
	}
	for _, bl := range nameBlocks(names) {
		if len(bl) > maxNRB {
			t.Errorf("block of %d bytes", len(bl))
		}
	}
}

func FuzzWriteNames(f *testing.F) {
	f.Add([]byte{10, 1, 2, 3}, "web", "db\x00x")
	f.Add(netip.MustParseAddr("fd00::5").AsSlice(), "\n", "")
	f.Add([]byte{1, 2}, strings.Repeat("\xff", 300), "\u202e")
	f.Fuzz(func(t *testing.T, addr []byte, n1, n2 string) {
		a, _ := netip.AddrFromSlice(addr)
		b := namesStream(t, []Name{{Addr: a, Names: []string{n1, n2}}, {Addr: a, Names: []string{n2}}})
		got, _, err := pcaptest.ParseNames(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if r.Addr != a.Unmap().WithZone("") {
				t.Errorf("address %v for %v", r.Addr, a)
			}
			for _, s := range r.Names {
				if s == "" || len(s) > maxName || !utf8.ValidString(s) || strings.TrimSpace(s) != s ||
					strings.IndexFunc(s, unicode.IsControl) >= 0 {
					t.Errorf("bad name %q", s)
				}
			}
		}
	})
}

// tshark resolves the addresses of packets with the names of the block.
func TestWriteNamesReadByTshark(t *testing.T) {
	tshark := pcaptest.NeedTool(t, "tshark")
	web, db := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("fd00::5")
	web6, db4 := netip.MustParseAddr("fd00::3"), netip.MustParseAddr("10.1.2.5")
	file := filepath.Join(t.TempDir(), "names.pcapng")
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(out, "vmdump test")
	nic, err := w.AddNIC(1, 0, testNIC)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	packet := func(f []byte) {
		t.Helper()
		ts = ts.Add(time.Millisecond)
		if err := w.WritePacket(nic, gopacket.CaptureInfo{Timestamp: ts, Length: len(f)}, f); err != nil {
			t.Fatal(err)
		}
	}
	// A first block with a stale name, then the real ones: the later wins.
	if err := w.WriteNames([]Name{{Addr: web, Names: []string{"stale"}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteNames([]Name{
		{Addr: web, Names: []string{"web"}},
		{Addr: db, Names: []string{"db"}},
		{Addr: db4, Names: []string{"db"}},
		{Addr: web6, Names: []string{"web"}},
	}); err != nil {
		t.Fatal(err)
	}
	packet(ipv4Frame(web, db4))
	packet(ipv6Frame(web6, db))
	packet(ipv6Frame(db, web6))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	got := runTool(t, tshark, "-r", file, "-N", "n", "-T", "fields",
		"-e", "ip.src", "-e", "ip.src_host", "-e", "ip.dst_host",
		"-e", "ipv6.src", "-e", "ipv6.src_host", "-e", "ipv6.dst_host")
	t.Logf("tshark:\n%s", got)
	pcaptest.Golden(t, got, []string{
		"10.1.2.3\tweb\tdb\t\t\t",
		"\t\t\tfd00::3\tweb\tdb",
		"\t\t\tfd00::5\tdb\tweb",
	})
}

// ipv4Frame is an Ethernet/IPv4/UDP frame from src to dst.
func ipv4Frame(src, dst netip.Addr) []byte {
	f := pcaptest.EthernetFrame(60, 0)
	ip := f[14:34]
	s, d := src.As4(), dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	ip[10], ip[11] = 0, 0
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(f[34+6:], 0) // no UDP checksum
	return f
}

// ipv6Frame is an Ethernet/IPv6/UDP frame from src to dst with 8 bytes of
// data; the UDP checksum is not checked by default.
func ipv6Frame(src, dst netip.Addr) []byte {
	f := make([]byte, 14+40+16)
	copy(f[0:6], []byte{0x02, 0, 0, 0, 0, 1})
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 2})
	f[12], f[13] = 0x86, 0xdd
	ip := f[14:54]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], 16)
	ip[6], ip[7] = 17, 64
	s, d := src.As16(), dst.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	udp := f[54:]
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 9999)
	binary.BigEndian.PutUint16(udp[4:], 16)
	return f
}
