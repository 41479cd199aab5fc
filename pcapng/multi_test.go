package pcapng

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/pcaptest"
)

// nicStream is one interface's pcap stream for PumpAll tests.
type nicStream struct {
	nic      NIC
	linkType uint32
	nanos    bool
	pkts     []pcaptest.TestPacket
}

// frameFor is a packet whose length and fill byte say which stream sent it
// and whose bytes 42..45 number it within the stream.
func frameFor(stream, seq int) []byte {
	f := pcaptest.EthernetFrame(60+stream, byte(0xA0+stream))
	binary.BigEndian.PutUint32(f[42:], uint32(seq))
	return f
}

func makeStreams(counts ...int) []nicStream {
	var out []nicStream
	start := time.Unix(1700000000, 0)
	for s, n := range counts {
		st := nicStream{nic: NIC{Name: fmt.Sprintf("default:nic%d", s), Description: fmt.Sprintf("NIC %d", s)}, linkType: []uint32{1, 276, 113}[s%3], nanos: s%2 == 1}
		for i := 0; i < n; i++ {
			st.pkts = append(st.pkts, pcaptest.TestPacket{Ts: start.Add(time.Duration(i) * time.Millisecond), Data: frameFor(s, i)})
		}
		out = append(out, st)
	}
	return out
}

// checkAttribution checks that every packet sits on the interface of the
// stream that sent it, in order, and that each stream's packets all came.
func checkAttribution(t *testing.T, f pcaptest.NgFile, streams []nicStream, results []NICResult) {
	t.Helper()
	byIface := map[uint32]int{} // interface number → stream
	for s, r := range results {
		if r.Interface >= 0 {
			byIface[uint32(r.Interface)] = s
			if name := string(f.Ifaces[r.Interface].Options[ifName]); name != streams[s].nic.Name {
				t.Errorf("interface %d is named %q, want %q", r.Interface, name, streams[s].nic.Name)
			}
			if lt := f.Ifaces[r.Interface].LinkType; uint32(lt) != streams[s].linkType {
				t.Errorf("interface %d has link type %d, want %d", r.Interface, lt, streams[s].linkType)
			}
		}
	}
	next := map[int]int{}
	for _, p := range f.Packets {
		s, ok := byIface[p.Iface]
		if !ok {
			t.Fatalf("packet on interface %d, which no stream has", p.Iface)
		}
		if int(p.Caplen) != 60+s || p.Data[50] != byte(0xA0+s) {
			t.Fatalf("interface of stream %d carries a packet of another stream (len %d)", s, p.Caplen)
		}
		if seq := int(binary.BigEndian.Uint32(p.Data[42:])); seq != next[s] {
			t.Fatalf("stream %d: packet %d after %d", s, seq, next[s]-1)
		}
		next[s]++
	}
	for s, r := range results {
		if r.Interface < 0 {
			continue
		}
		if next[s] != len(streams[s].pkts) || r.Packets != uint64(len(streams[s].pkts)) {
			t.Errorf("stream %d: %d packets in the file, %d counted, want %d", s, next[s], r.Packets, len(streams[s].pkts))
		}
	}
}

func TestMultiPumpAllInterleavedStreams(t *testing.T) {
	streams := makeStreams(400, 250, 300)
	var out bytes.Buffer
	w := NewWriter(&out, "vmdump test")
	srcs := make([]io.Reader, len(streams))
	nics := make([]NIC, len(streams))
	for i, s := range streams {
		srcs[i] = &pcaptest.SmallReader{B: pcaptest.PcapBytes(binary.LittleEndian, s.nanos, s.linkType, 262144, s.pkts), N: 97 + 31*i}
		nics[i] = s.nic
	}
	var mu sync.Mutex
	endedCalls := map[int]NICResult{}
	results, err := PumpAll(w, srcs, nics, func(i int, r NICResult) {
		mu.Lock()
		defer mu.Unlock()
		endedCalls[i] = r
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Interface != i || r.Err != nil {
			t.Errorf("stream %d: %+v", i, r)
		}
		if endedCalls[i] != r {
			t.Errorf("ended(%d) got %+v, result %+v", i, endedCalls[i], r)
		}
	}
	f, err := pcaptest.ParsePcapng(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Ifaces) != 3 {
		t.Fatalf("%d interfaces", len(f.Ifaces))
	}
	checkAttribution(t, f, streams, results)
}

// A stream whose header comes late still gets its number: the interfaces
// are described in the order of srcs, not of arrival.
func TestMultiPumpAllKeepsOrderOfLateHeaders(t *testing.T) {
	streams := makeStreams(20, 20)
	var out bytes.Buffer
	w := NewWriter(&out, "vmdump test")
	pr, pw := io.Pipe()
	srcs := []io.Reader{pr, bytes.NewReader(pcaptest.PcapBytes(binary.LittleEndian, false, streams[1].linkType, 262144, streams[1].pkts))}
	done := make(chan struct{})
	var results []NICResult
	go func() {
		defer close(done)
		results, _ = PumpAll(w, srcs, []NIC{streams[0].nic, streams[1].nic}, nil)
	}()
	// Stream 1 is complete; stream 0 has not even sent its header. Once
	// it does, it must still become interface 0.
	time.Sleep(50 * time.Millisecond) // let stream 1 wait for its turn (it would wait up to headerOrderWait)
	if _, err := pw.Write(pcaptest.PcapBytes(binary.LittleEndian, false, streams[0].linkType, 262144, streams[0].pkts)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	<-done
	if results[0].Interface != 0 || results[1].Interface != 1 {
		t.Fatalf("interfaces %d, %d; want 0, 1", results[0].Interface, results[1].Interface)
	}
	f, err := pcaptest.ParsePcapng(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	checkAttribution(t, f, streams, results)
}

func TestMultiPumpAllStreamWithoutHeader(t *testing.T) {
	streams := makeStreams(10, 0, 10)
	var out bytes.Buffer
	w := NewWriter(&out, "vmdump test")
	srcs := []io.Reader{
		bytes.NewReader(pcaptest.PcapBytes(binary.LittleEndian, false, streams[0].linkType, 262144, streams[0].pkts)),
		strings.NewReader("sudo: a password is required\n"),
		bytes.NewReader(pcaptest.PcapBytes(binary.LittleEndian, false, streams[2].linkType, 262144, streams[2].pkts)),
	}
	results, err := PumpAll(w, srcs, []NIC{streams[0].nic, streams[1].nic, streams[2].nic}, nil)
	if err == nil || !strings.Contains(err.Error(), `text instead of pcap: "sudo: a password is required"`) {
		t.Fatalf("error %v", err)
	}
	if results[0].Interface != 0 || results[1].Interface != -1 || results[2].Interface != 1 || results[1].Err == nil {
		t.Fatalf("results %+v", results)
	}
	f, perr := pcaptest.ParsePcapng(out.Bytes())
	if perr != nil {
		t.Fatal(perr)
	}
	if len(f.Ifaces) != 2 {
		t.Fatalf("%d interfaces", len(f.Ifaces))
	}
	checkAttribution(t, f, streams, results)
}

// When Wireshark goes away, that is the error, whatever else failed.
func TestMultiPumpAllReaderGone(t *testing.T) {
	streams := makeStreams(5000, 5000)
	w := NewWriter(errWriter{syscall.EPIPE}, "vmdump test")
	srcs := []io.Reader{
		strings.NewReader("garbage that is not pcap"),
		bytes.NewReader(pcaptest.PcapBytes(binary.LittleEndian, false, 1, 262144, streams[1].pkts)),
	}
	calls := make(chan int, 2)
	_, err := PumpAll(w, srcs, []NIC{streams[0].nic, streams[1].nic}, func(i int, _ NICResult) { calls <- i })
	if !readerGone(err) {
		t.Fatalf("error %v, want Wireshark gone", err)
	}
	if len(calls) != 2 {
		t.Errorf("ended called %d times", len(calls))
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestMultiPumpAllArgumentMismatch(t *testing.T) {
	if _, err := PumpAll(NewWriter(io.Discard, ""), []io.Reader{strings.NewReader("")}, nil, nil); err == nil {
		t.Fatal("accepted 1 stream for 0 NICs")
	}
	res, err := PumpAll(NewWriter(io.Discard, ""), nil, nil, nil)
	if err != nil || len(res) != 0 {
		t.Fatalf("no streams: %v %v", res, err)
	}
}

// Two NICs through PumpAll, then a statistics block per NIC with the
// remote's received and dropped counts: tshark names each packet's
// interface, capinfos reads the drops per interface.
func TestMultiPumpAllReadByTshark(t *testing.T) {
	tshark := pcaptest.NeedTool(t, "tshark")
	capinfos := pcaptest.NeedTool(t, "capinfos")
	streams := makeStreams(30, 20)
	streams[0].nic = NIC{Name: "default:docker0", Description: "Docker VM default docker0 (bridge)", OS: "Linux"}
	streams[1].nic = NIC{Name: "default:veth1a2b3c4", Description: "Docker VM default veth1a2b3c4 — container web (nginx)", OS: "Linux"}
	file := filepath.Join(t.TempDir(), "multi.pcapng")
	fh, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(fh, "vmdump 1.0")
	srcs := []io.Reader{
		&pcaptest.SmallReader{B: pcaptest.PcapBytes(binary.LittleEndian, false, 1, 262144, streams[0].pkts), N: 301},
		&pcaptest.SmallReader{B: pcaptest.PcapBytes(binary.BigEndian, true, 276, 262144, streams[1].pkts), N: 77},
	}
	results, err := PumpAll(w, srcs, []NIC{streams[0].nic, streams[1].nic}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1700000000, 0)
	drops := []uint64{7, 0}
	for i, r := range results {
		if err := w.WriteStats(r.Interface, r.Packets+drops[i], drops[i], start, start.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fh.Close()

	counts := map[string]int{}
	for _, line := range pcaptest.SplitLines(runTool(t, tshark, "-r", file, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.len")) {
		counts[line]++
	}
	want := map[string]int{"default:docker0\t60": 30, "default:veth1a2b3c4\t61": 20}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("tshark frames per interface = %v, want %v", counts, want)
	}
	info := runTool(t, capinfos, "-I", "-F", file)
	for _, s := range []string{"Number of interfaces in file: 2", "Name = default:docker0", "Name = default:veth1a2b3c4",
		"Description = Docker VM default veth1a2b3c4 — container web (nginx)", "Encapsulation = Linux cooked-mode capture v2"} {
		if !strings.Contains(info, s) {
			t.Errorf("capinfos lacks %q:\n%s", s, info)
		}
	}
	// capinfos (Wireshark's own reader) ties one statistics block to each
	// interface; their counts are checked in the file itself.
	blocks := strings.Split(info, "Interface #")
	if len(blocks) != 3 {
		t.Fatalf("capinfos interface sections: %d\n%s", len(blocks)-1, info)
	}
	for i, b := range blocks[1:] {
		if !strings.Contains(b, "Number of stat entries = 1") {
			t.Errorf("interface %d has no statistics:\n%s", i, b)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := pcaptest.ParsePcapng(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Stats) != 2 {
		t.Fatalf("%d statistics blocks", len(f.Stats))
	}
	for _, st := range f.Stats {
		i := -1
		for s, r := range results {
			if uint32(r.Interface) == st.Iface {
				i = s
			}
		}
		if i < 0 {
			t.Fatalf("statistics for interface %d, which no stream has", st.Iface)
		}
		recv := binary.LittleEndian.Uint64(st.Options[isbIfRecv])
		drop := binary.LittleEndian.Uint64(st.Options[isbIfDrop])
		if recv != results[i].Packets+drops[i] || drop != drops[i] {
			t.Errorf("interface %s: received %d dropped %d, want %d and %d", streams[i].nic.Name, recv, drop, results[i].Packets+drops[i], drops[i])
		}
	}
}

// Whatever two remote streams send, PumpAll writes a well-formed pcapng
// stream and never panics.
func FuzzMultiPumpAll(f *testing.F) {
	streams := makeStreams(3, 2)
	f.Add(pcaptest.PcapBytes(binary.LittleEndian, false, 1, 262144, streams[0].pkts), pcaptest.PcapBytes(binary.BigEndian, true, 276, 65535, streams[1].pkts))
	f.Add([]byte("sudo: a password is required\n"), []byte{})
	f.Add(pcaptest.PcapBytes(binary.LittleEndian, false, 1, 262144, streams[0].pkts)[:40], []byte{0xd4, 0xc3, 0xb2, 0xa1})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var out bytes.Buffer
		w := NewWriter(&out, "vmdump")
		results, _ := PumpAll(w, []io.Reader{bytes.NewReader(a), &pcaptest.SmallReader{B: b, N: 7}}, []NIC{{Name: "a"}, {Name: "b"}}, nil)
		f, err := pcaptest.ParsePcapng(out.Bytes())
		if err != nil {
			t.Fatalf("malformed output: %v", err)
		}
		described := 0
		for _, r := range results {
			if r.Interface >= 0 {
				described++
			}
		}
		if len(f.Ifaces) != described {
			t.Fatalf("%d interfaces written, %d streams got one", len(f.Ifaces), described)
		}
	})
}
