package pcapng

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/pcaptest"
)

var testNIC = NIC{Name: "default:eth1", Description: "Docker VM default (boot2docker) eth1", Filter: "tcp port 80", OS: "Linux"}

func somePackets(n int) []pcaptest.TestPacket {
	pkts := make([]pcaptest.TestPacket, n)
	for i := range pkts {
		pkts[i] = pcaptest.TestPacket{Ts: time.Unix(1700000000+int64(i), int64(i)*1000+7000), Data: pcaptest.EthernetFrame(42+i*7, byte(i))}
	}
	return pkts
}

func TestPumpRoundTrip(t *testing.T) {
	pkts := somePackets(20)
	pkts[3].Orig = 9000 // truncated by the remote snaplen
	tests := []struct {
		name     string
		order    binary.ByteOrder
		nanos    bool
		linkType uint32
		snaplen  uint32
		pkts     []pcaptest.TestPacket
		wantLink uint16
	}{
		{"little-endian microseconds", binary.LittleEndian, false, 1, 262144, pkts, 1},
		{"little-endian nanoseconds", binary.LittleEndian, true, 1, 65535, pkts, 1},
		{"big-endian microseconds", binary.BigEndian, false, 1, 262144, pkts, 1},
		{"big-endian nanoseconds", binary.BigEndian, true, 1, 0, pkts, 1},
		{"LINUX_SLL2 (tcpdump -i any) above 255", binary.LittleEndian, false, 276, 262144, pkts, 276},
		{"FCS bits in the link type field", binary.LittleEndian, false, 0x14000001, 262144, pkts, 1},
		{"header only", binary.LittleEndian, false, 1, 262144, nil, 1},
		{"packet larger than the read buffer", binary.LittleEndian, false, 1, 262144,
			[]pcaptest.TestPacket{{Ts: time.Unix(5, 0), Data: bytes.Repeat([]byte{0xab}, 200000)}, {Ts: time.Unix(6, 0), Data: pcaptest.EthernetFrame(60, 1)}}, 1},
		{"packets of 0 bytes", binary.LittleEndian, false, 1, 262144,
			[]pcaptest.TestPacket{{Ts: time.Unix(5, 0), Data: []byte{}, Orig: 60}, {Ts: time.Unix(6, 0), Data: []byte{1}}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := pcaptest.PcapBytes(tt.order, tt.nanos, tt.linkType, tt.snaplen, tt.pkts)
			var out bytes.Buffer
			w := NewWriter(&out, "vmdump 9.9")
			st, err := Pump(w, bytes.NewReader(in), testNIC)
			if err != nil {
				t.Fatalf("Pump: %v", err)
			}
			f, err := pcaptest.ParsePcapng(out.Bytes())
			if err != nil {
				t.Fatalf("output is not valid pcapng: %v", err)
			}
			if got := string(f.ShbOptions[shbUserAppl]); got != "vmdump 9.9" {
				t.Errorf("shb_userappl = %q", got)
			}
			if got := string(f.ShbOptions[shbOS]); got != "Linux" {
				t.Errorf("shb_os = %q", got)
			}
			if len(f.Ifaces) != 1 {
				t.Fatalf("%d interfaces, want 1", len(f.Ifaces))
			}
			i := f.Ifaces[0]
			if i.LinkType != tt.wantLink || i.Snaplen != tt.snaplen {
				t.Errorf("interface link type %d snaplen %d, want %d %d", i.LinkType, i.Snaplen, tt.wantLink, tt.snaplen)
			}
			wantOpts := map[uint16]string{ifName: testNIC.Name, ifDescr: testNIC.Description, ifFilter: "\x00" + testNIC.Filter, ifOS: "Linux", ifTSResol: "\x09"}
			for code, want := range wantOpts {
				if got := string(i.Options[code]); got != want {
					t.Errorf("interface option %d = %q, want %q", code, got, want)
				}
			}
			if len(f.Packets) != len(tt.pkts) || st.Packets != uint64(len(tt.pkts)) {
				t.Fatalf("%d packets written, Stats %+v, want %d", len(f.Packets), st, len(tt.pkts))
			}
			var bytesIn uint64
			for n, p := range f.Packets {
				want := tt.pkts[n]
				bytesIn += uint64(len(want.Data))
				wantTS := want.Ts.UnixNano()
				if !tt.nanos {
					wantTS = want.Ts.Truncate(time.Microsecond).UnixNano()
				}
				wantOrig := want.Orig
				if wantOrig == 0 {
					wantOrig = len(want.Data)
				}
				if p.Iface != 0 || p.Ts != uint64(wantTS) || int(p.Orig) != wantOrig || !bytes.Equal(p.Data, want.Data) {
					t.Errorf("packet %d: iface %d ts %d orig %d len %d; want ts %d orig %d len %d",
						n, p.Iface, p.Ts, p.Orig, len(p.Data), wantTS, wantOrig, len(want.Data))
				}
			}
			if st.Bytes != bytesIn {
				t.Errorf("Stats.Bytes = %d, want %d", st.Bytes, bytesIn)
			}
		})
	}
}

func TestPumpErrors(t *testing.T) {
	le := binary.LittleEndian
	good := pcaptest.PcapBytes(le, false, 1, 262144, somePackets(3))
	hdr := good[:24]
	withRecord := func(caplen, orig uint32, data int) []byte {
		b := append([]byte(nil), good...)
		rec := make([]byte, 16)
		le.PutUint32(rec[8:], caplen)
		le.PutUint32(rec[12:], orig)
		return append(append(b, rec...), make([]byte, data)...)
	}
	oldVersion := append([]byte(nil), hdr...)
	le.PutUint16(oldVersion[6:], 2)
	tests := []struct {
		name        string
		in          []byte
		want        string
		wantPackets int // forwarded before the error
	}{
		{"nothing", nil, "remote capture ended before sending any data", 0},
		{"sudo on stdout", []byte("sudo: a password is required\n"), `remote side sent text instead of pcap: "sudo: a password is required"`, 0},
		{"login banner", []byte("Welcome to Ubuntu 22.04.3 LTS (GNU/Linux 5.15.0-91-generic x86_64) and a lot more text here\n\n * Documentation\n"),
			`remote side sent text instead of pcap: "Welcome to Ubuntu 22.04.3 LTS (GNU/Linux 5.15.0-91-generic x..."`, 0},
		{"short text", []byte("no\n"), `remote side sent text instead of pcap: "no"`, 0},
		{"utf-8 text", []byte("Überwachung nicht erlaubt\n"), `remote side sent text instead of pcap: "Überwachung nicht erlaubt"`, 0},
		{"pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a}, "remote side sent pcapng; vmdump needs classic pcap (tcpdump -w -)", 0},
		{"gzip", []byte{0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0}, "remote side sent data that is not pcap (it starts with 1f 8b 08 00)", 0},
		{"short binary", []byte{0xd4, 0xc3}, "remote capture stream ended inside the pcap header", 0},
		{"truncated header", hdr[:10], "remote capture stream ended inside the pcap header", 0},
		{"pcap 2.2", oldVersion, "remote side sent pcap version 2.2; only 2.4 is supported", 0},
		{"absurd caplen", withRecord(0xFFFFFFF0, 0xFFFFFFF0, 0), "remote capture stream is corrupt: a packet claims 4294967280 captured bytes (at most 262144)", 3},
		{"caplen just too big", withRecord(262145, 262145, 0), "remote capture stream is corrupt: a packet claims 262145 captured bytes (at most 262144)", 3},
		{"caplen above orig", withRecord(100, 60, 100), "remote capture stream is corrupt: a packet claims 100 captured of 60 bytes", 3},
		{"eof in record header", good[:len(good)-len(somePackets(3)[2].Data)-5], "capture stream ended mid-packet", 2},
		{"eof in data", good[:len(good)-1], "capture stream ended mid-packet", 2},
		{"eof in big packet", withRecord(100000, 100000, 99999), "capture stream ended mid-packet", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			st, err := Pump(NewWriter(&out, "vmdump"), bytes.NewReader(tt.in), testNIC)
			if pcaptest.ErrText(err) != tt.want {
				t.Fatalf("error %q, want %q", pcaptest.ErrText(err), tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			f, perr := pcaptest.ParsePcapng(out.Bytes())
			if perr != nil {
				t.Fatalf("output before the error is not valid pcapng: %v", perr)
			}
			if len(f.Packets) != tt.wantPackets || st.Packets != uint64(tt.wantPackets) {
				t.Errorf("forwarded %d packets (Stats %d), want %d — all packets before the error must reach Wireshark", len(f.Packets), st.Packets, tt.wantPackets)
			}
		})
	}
}

func TestPumpReadErrorIsWrapped(t *testing.T) {
	boom := errors.New("connection reset")
	src := io.MultiReader(bytes.NewReader(pcaptest.PcapBytes(binary.LittleEndian, false, 1, 0, somePackets(1))), errReader{boom})
	_, err := Pump(NewWriter(io.Discard, "x"), src, testNIC)
	if !errors.Is(err, boom) || err.Error() != "reading the remote capture: connection reset" {
		t.Errorf("error %v", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// notifyWriter reports every Write on a channel, so a test can wait for the
// flush of one packet without any sleeping.
type notifyWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes chan int
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	n := w.buf.Len()
	w.mu.Unlock()
	w.writes <- n
	return len(p), nil
}

// A lone packet must reach Wireshark while the remote side is idle: Pump
// flushes before any read that may block.
func TestPumpFlushesWhenInputIsIdle(t *testing.T) {
	pr, pw := io.Pipe()
	dst := &notifyWriter{writes: make(chan int, 100)}
	done := make(chan error, 1)
	go func() {
		_, err := Pump(NewWriter(dst, "vmdump"), pr, testNIC)
		done <- err
	}()
	pkts := somePackets(3)
	full := pcaptest.PcapBytes(binary.LittleEndian, false, 1, 262144, pkts)
	pw.Write(full[:24])
	waitPackets(t, dst, 0) // section and interface headers arrive before any packet
	off := 24
	for n, p := range pkts {
		rec := pcaptest.PcapRecord(binary.LittleEndian, false, p)
		// Split each record, as an SSH channel may: nothing may be lost or
		// forwarded half.
		pw.Write(rec[:5])
		pw.Write(rec[5:])
		off += len(rec)
		waitPackets(t, dst, n+1)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("Pump: %v", err)
	}
}

// waitPackets waits until dst holds a valid pcapng with want packets. It
// fails only if Pump stops writing altogether (the 10 s guard is a hang
// detector, not a speed requirement).
func waitPackets(t *testing.T, dst *notifyWriter, want int) {
	t.Helper()
	guard := time.After(10 * time.Second)
	for {
		dst.mu.Lock()
		f, err := pcaptest.ParsePcapng(dst.buf.Bytes())
		dst.mu.Unlock()
		if err == nil && len(f.Ifaces) == 1 && len(f.Packets) == want {
			return
		}
		if err == nil && len(f.Packets) > want {
			t.Fatalf("%d packets, want %d", len(f.Packets), want)
		}
		select {
		case <-dst.writes:
		case <-guard:
			t.Fatalf("packet %d never reached the FIFO: Pump did not flush while its input was idle (have %d bytes, %v)", want, dst.buf.Len(), err)
		}
	}
}

// countingWriter counts Write calls.
type countingWriter struct{ writes, bytes int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	w.bytes += len(p)
	return len(p), nil
}

// Under load (input already buffered) packets are batched, not written one
// by one.
func TestPumpBatchesBufferedInput(t *testing.T) {
	pkts := make([]pcaptest.TestPacket, 2000)
	for i := range pkts {
		pkts[i] = pcaptest.TestPacket{Ts: time.Unix(1, 0), Data: pcaptest.EthernetFrame(64, 0)}
	}
	in := pcaptest.PcapBytes(binary.LittleEndian, false, 1, 262144, pkts)
	var dst countingWriter
	if _, err := Pump(NewWriter(&dst, "vmdump"), bytes.NewReader(in), testNIC); err != nil {
		t.Fatal(err)
	}
	// 2000 blocks of 96 bytes = 192000 bytes; one write per 64 KiB input
	// chunk or full output buffer, never one per packet.
	if max := 2*len(in)/readerBufferSize + 4; dst.writes > max {
		t.Errorf("%d writes for %d bytes, want at most %d", dst.writes, dst.bytes, max)
	}
}

func TestPumpReaderGone(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	_, err = Pump(NewWriter(w, "vmdump"), bytes.NewReader(pcaptest.PcapBytes(binary.LittleEndian, false, 1, 0, somePackets(5))), testNIC)
	if !readerGone(err) {
		t.Fatalf("Pump into a pipe nobody reads: %v, want a *WriteError from a closed pipe", err)
	}
}

// Several NICs: one Pump per NIC on one Writer, concurrently.
func TestPumpMultiNIC(t *testing.T) {
	const nics, perNIC = 4, 500
	var out bytes.Buffer
	w := NewWriter(&out, "vmdump")
	var wg sync.WaitGroup
	errs := make([]error, nics)
	for n := 0; n < nics; n++ {
		pkts := make([]pcaptest.TestPacket, perNIC)
		for i := range pkts {
			frame := pcaptest.EthernetFrame(60+n, byte(n))
			binary.BigEndian.PutUint32(frame[42:], uint32(i)) // sequence number per NIC
			pkts[i] = pcaptest.TestPacket{Ts: time.Unix(int64(i), 0), Data: frame}
		}
		in := pcaptest.PcapBytes(binary.LittleEndian, n%2 == 0, uint32(1+n%2*275), 262144, pkts)
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			// Small reads interleave the Pumps.
			_, errs[n] = Pump(w, &pcaptest.SmallReader{B: in, N: 100 + n*37}, NIC{Name: fmt.Sprintf("vm:eth%d", n)})
		}(n)
	}
	wg.Wait()
	for n, err := range errs {
		if err != nil {
			t.Fatalf("Pump %d: %v", n, err)
		}
	}
	f, err := pcaptest.ParsePcapng(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Ifaces) != nics {
		t.Fatalf("%d interfaces, want %d", len(f.Ifaces), nics)
	}
	next := map[uint32]uint32{}
	for _, p := range f.Packets {
		name := string(f.Ifaces[p.Iface].Options[ifName])
		var n int
		fmt.Sscanf(name, "vm:eth%d", &n)
		if int(p.Caplen) != 60+n || p.Data[50] != byte(n) {
			t.Fatalf("interface %s got a packet of another NIC (len %d)", name, p.Caplen)
		}
		if seq := binary.BigEndian.Uint32(p.Data[42:]); seq != next[p.Iface] {
			t.Fatalf("interface %s: packet %d after %d", name, seq, next[p.Iface])
		}
		next[p.Iface]++
	}
	for i, c := range next {
		if c != perNIC {
			t.Errorf("interface %d: %d packets, want %d", i, c, perNIC)
		}
	}
}

// readerGone: err is the Writer's failure to write because its reader went
// away (extcap.IsReaderGone's cases: a closed file or a broken pipe).
func readerGone(err error) bool {
	var we *WriteError
	return errors.As(err, &we) && (errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EPIPE) || runtime.GOOS == "windows")
}
