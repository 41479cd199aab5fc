package pcapng

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/vmdump/vmdump/internal/pcaptest"
)

// recordStream serves a pcap header and then the same record n times, from
// a prebuilt run of records so that producing the input costs little more
// than a memmove.
type recordStream struct {
	head  []byte
	run   []byte // whole records
	off   int
	bytes int // bytes of records left
}

func newRecordStream(frameLen, n int) *recordStream {
	frame := pcaptest.EthernetFrame(max(frameLen, 42), 1)[:frameLen]
	rec := pcaptest.PcapRecord(binary.LittleEndian, false, pcaptest.TestPacket{Ts: time.Unix(1700000000, 1000), Data: frame})
	return &recordStream{
		head:  pcaptest.PcapBytes(binary.LittleEndian, false, 1, 262144, nil),
		run:   bytes.Repeat(rec, max(1, (256<<10)/len(rec))),
		bytes: n * len(rec),
	}
}

func (r *recordStream) Read(p []byte) (int, error) {
	n := copy(p, r.head)
	r.head = r.head[n:]
	for n < len(p) && r.bytes > 0 {
		c := copy(p[n:min(len(p), n+r.bytes)], r.run[r.off:])
		n += c
		r.bytes -= c
		r.off = (r.off + c) % len(r.run)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

var benchSizes = []struct {
	name string
	len  int
}{{"64B", 64}, {"1500B", 1500}}

// BenchmarkPump: one op = one packet through Pump (pcap in, pcapng out).
// allocs/op must be 0: Pump's few allocations are per stream, not per packet.
func BenchmarkPump(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			src := newRecordStream(size.len, b.N)
			w := NewWriter(io.Discard, "vmdump bench")
			b.SetBytes(int64(16 + size.len))
			b.ReportAllocs()
			b.ResetTimer()
			st, err := Pump(w, src, testNIC)
			b.StopTimer()
			if err != nil || st.Packets != uint64(b.N) {
				b.Fatalf("Pump: %d packets, %v", st.Packets, err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkIOCopy is the floor: the same input bytes copied with buffers of
// Pump's read size and no parsing at all.
func BenchmarkIOCopy(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			src := newRecordStream(size.len, b.N)
			buf := make([]byte, readerBufferSize)
			b.SetBytes(int64(16 + size.len))
			b.ReportAllocs()
			b.ResetTimer()
			if _, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{src}, buf); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkWritePacket isolates the Writer (with its mutex), one packet per
// op; the Parallel variant shows the cost of several Pumps contending.
func BenchmarkWritePacket(b *testing.B) {
	w := NewWriter(io.Discard, "vmdump bench")
	nic, _ := w.AddNIC(1, 262144, testNIC)
	data := pcaptest.EthernetFrame(64, 1)
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: 64, Length: 64}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.WritePacket(nic, ci, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritePacketParallel(b *testing.B) {
	w := NewWriter(io.Discard, "vmdump bench")
	nic, _ := w.AddNIC(1, 262144, testNIC)
	data := pcaptest.EthernetFrame(64, 1)
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: 64, Length: 64}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.WritePacket(nic, ci, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
