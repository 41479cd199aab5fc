package pcapng

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/vmdump/vmdump/internal/pcaptest"
)

func TestWriterStats(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, "vmdump")
	if _, err := w.AddNIC(1, 0, NIC{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	start, end := time.Unix(1700000000, 5), time.Unix(1700000060, 999999999)
	if err := w.WriteStats(0, 1234, 56, start, end); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStats(0, 7, 0, time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f, err := pcaptest.ParsePcapng(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Stats) != 2 {
		t.Fatalf("%d statistics blocks, want 2", len(f.Stats))
	}
	le := binary.LittleEndian
	ts := func(b []byte) uint64 { return uint64(le.Uint32(b))<<32 | uint64(le.Uint32(b[4:])) }
	s := f.Stats[0]
	if got := le.Uint64(s.Options[isbIfRecv]); got != 1234 {
		t.Errorf("isb_ifrecv = %d", got)
	}
	if got := le.Uint64(s.Options[isbIfDrop]); got != 56 {
		t.Errorf("isb_ifdrop = %d", got)
	}
	if got := ts(s.Options[isbStart]); got != uint64(start.UnixNano()) {
		t.Errorf("isb_starttime = %d, want %d", got, start.UnixNano())
	}
	if got := ts(s.Options[isbEnd]); got != uint64(end.UnixNano()) || s.Ts != got {
		t.Errorf("isb_endtime = %d, block time %d, want %d", got, s.Ts, end.UnixNano())
	}
	if _, ok := f.Stats[1].Options[isbStart]; ok {
		t.Error("zero start time written")
	}
	if f.Stats[1].Ts == 0 {
		t.Error("statistics block without a time")
	}
}

func TestWriterRefusesUnknownNIC(t *testing.T) {
	w := NewWriter(&bytes.Buffer{}, "vmdump")
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), Length: 1}
	if err := w.WritePacket(0, ci, []byte{1}); err == nil {
		t.Error("WritePacket before AddNIC succeeded")
	}
	if _, err := w.AddNIC(1, 0, NIC{}); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(1, ci, []byte{1}); pcaptest.ErrText(err) != "packet for interface 1, but only 1 are described" {
		t.Errorf("WritePacket(1): %v", err)
	}
	if err := w.WritePacket(-1, ci, []byte{1}); err == nil {
		t.Error("WritePacket(-1) succeeded")
	}
	if err := w.WriteStats(2, 0, 0, time.Time{}, time.Time{}); pcaptest.ErrText(err) != "statistics for interface 2, but only 1 are described" {
		t.Errorf("WriteStats(2): %v", err)
	}
}

// Interfaces may come and go: an interface added after packets of another,
// the section header only once, the OS of the first NIC.
func TestWriterAddNICLater(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, "vmdump")
	a, _ := w.AddNIC(1, 0, NIC{Name: "a", OS: "Linux 6.1"})
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), Length: 3}
	w.WritePacket(a, ci, []byte{1, 2, 3})
	b, err := w.AddNIC(276, 96, NIC{Name: "b", OS: "other"})
	if err != nil || b != 1 {
		t.Fatalf("AddNIC = %d, %v", b, err)
	}
	ci.Length = 100 // original length larger: kept
	w.WritePacket(b, ci, []byte{4})
	ci.Length = 0 // smaller than captured: raised to the captured length
	w.WritePacket(a, ci, []byte{5, 6})
	w.Flush()
	f, err := pcaptest.ParsePcapng(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{blockSectionHeader, blockInterface, blockEnhancedPacket, blockInterface, blockEnhancedPacket, blockEnhancedPacket}
	if len(f.Blocks) != len(want) {
		t.Fatalf("blocks %x, want %x", f.Blocks, want)
	}
	for i := range want {
		if f.Blocks[i] != want[i] {
			t.Fatalf("blocks %x, want %x", f.Blocks, want)
		}
	}
	if string(f.ShbOptions[shbOS]) != "Linux 6.1" || f.Ifaces[1].LinkType != 276 || f.Ifaces[1].Snaplen != 96 {
		t.Errorf("section os %q, second interface %+v", f.ShbOptions[shbOS], f.Ifaces[1])
	}
	if p := f.Packets[1]; p.Iface != 1 || p.Orig != 100 || p.Caplen != 1 {
		t.Errorf("second packet %+v", p)
	}
	if p := f.Packets[2]; p.Orig != 2 || p.Caplen != 2 {
		t.Errorf("third packet %+v", p)
	}
}

func TestWriterCleansOptionText(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, "")
	long := strings.Repeat("é", 40000) // 80000 bytes: more than an option holds
	if _, err := w.AddNIC(1, 0, NIC{Name: "bad\xffname", Description: long, Filter: long}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	f, err := pcaptest.ParsePcapng(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.ShbOptions[shbUserAppl]; ok {
		t.Error("empty shb_userappl written")
	}
	o := f.Ifaces[0].Options
	if got := string(o[ifName]); got != "bad\uFFFDname" {
		t.Errorf("if_name = %q", got)
	}
	d := string(o[ifDescr])
	if len(d) > maxOptionText || len(d) < maxOptionText-1 || strings.Trim(d, "é") != "" {
		t.Errorf("if_description of %d bytes is not a clean prefix", len(d))
	}
	if o[ifFilter][0] != 0 || len(o[ifFilter]) > maxOptionText+1 {
		t.Errorf("if_filter of %d bytes", len(o[ifFilter]))
	}
}

// Once the FIFO failed, every later call reports it (nothing is silently
// buffered into a dead pipe).
func TestWriterErrorsAreSticky(t *testing.T) {
	w := NewWriter(pcaptest.FailingWriter{}, "vmdump")
	if _, err := w.AddNIC(1, 0, NIC{}); err != nil {
		t.Fatal(err) // still buffered
	}
	if err := w.Flush(); pcaptest.ErrText(err) != "writing to Wireshark: disk full" {
		t.Fatalf("Flush: %v", err)
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), Length: 1}
	if err := w.WritePacket(0, ci, []byte{1}); pcaptest.ErrText(err) != "writing to Wireshark: disk full" {
		t.Errorf("WritePacket after a failed flush: %v", err)
	}
	if err := w.WritePacket(0, ci, make([]byte, 100000)); pcaptest.ErrText(err) != "writing to Wireshark: disk full" {
		t.Errorf("large WritePacket after a failed flush: %v", err)
	}
}

// Begin puts a section header into the FIFO at once, before any interface
// is known, so that dumpcap creates the capture file even if no packet ever
// arrives; a later AddNIC does not write a second one.
func TestWriterBegin(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, "vmdump 9.9")
	if err := w.Begin("linux"); err != nil {
		t.Fatal(err)
	}
	f, err := pcaptest.ParsePcapng(out.Bytes())
	if err != nil {
		t.Fatalf("after Begin: %v", err)
	}
	if len(f.Blocks) != 1 || f.Blocks[0] != blockSectionHeader || string(f.ShbOptions[shbOS]) != "linux" {
		t.Fatalf("after Begin: blocks %x, shb_os %q", f.Blocks, f.ShbOptions[shbOS])
	}
	if _, err := w.AddNIC(1, 0, NIC{Name: "a", OS: "Alpine"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	f, err = pcaptest.ParsePcapng(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Blocks) != 2 || f.Blocks[1] != blockInterface || string(f.ShbOptions[shbOS]) != "linux" {
		t.Fatalf("blocks %x, shb_os %q", f.Blocks, f.ShbOptions[shbOS])
	}
}
