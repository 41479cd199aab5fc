package pcapng

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/localtcpdump"
	"github.com/vmdump/vmdump/internal/pcaptest"
)

// runTool runs a Wireshark/tcpdump tool and returns its stdout.
func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, stderr.String())
	}
	return stdout.String()
}

// The real chain: a pcap written by an independent tool (text2pcap), sent
// by tcpdump on stdout as the remote side does, through Pump, read by
// tshark. tshark must see the same frames in the pcapng as in the pcap,
// with vmdump's interface name and description.
func TestPumpOfTcpdumpStreamReadByTshark(t *testing.T) {
	tshark := pcaptest.NeedTool(t, "tshark")
	text2pcap := pcaptest.NeedTool(t, "text2pcap")
	tcpdump := localtcpdump.Find()
	if tcpdump == "" {
		t.Skip("tcpdump not installed")
	}
	dir := t.TempDir()
	var hex strings.Builder
	const frames = 40
	for i := 0; i < frames; i++ {
		frame := pcaptest.EthernetFrame(42+i*37, byte(i))
		for off := 0; off < len(frame); off += 16 {
			fmt.Fprintf(&hex, "%06x", off)
			for _, b := range frame[off:min(off+16, len(frame))] {
				fmt.Fprintf(&hex, " %02x", b)
			}
			hex.WriteString("\n")
		}
	}
	hexFile, inFile, outFile := filepath.Join(dir, "frames.txt"), filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcapng")
	if err := os.WriteFile(hexFile, []byte(hex.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, text2pcap, "-q", "-F", "pcap", hexFile, inFile)

	out, err := os.Create(outFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tcpdump, "-r", inFile, "-w", "-", "-Z", "root")
	stream, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(out, "vmdump test")
	st, err := Pump(w, stream, testNIC)
	if err != nil {
		t.Fatalf("Pump: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	out.Close()
	if st.Packets != frames {
		t.Errorf("Pump forwarded %d packets, want %d", st.Packets, frames)
	}

	fields := []string{"-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.protocols", "-e", "ip.src", "-e", "udp.length"}
	want := runTool(t, tshark, append([]string{"-r", inFile}, fields...)...)
	got := runTool(t, tshark, append([]string{"-r", outFile}, fields...)...)
	if got != want || len(pcaptest.SplitLines(got)) != frames {
		t.Errorf("tshark sees different frames after Pump:\n got %q\nwant %q", got, want)
	}
	names := runTool(t, tshark, "-r", outFile, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.interface_description")
	for i, line := range pcaptest.SplitLines(names) {
		if line != testNIC.Name+"\t"+testNIC.Description {
			t.Fatalf("frame %d: interface %q", i+1, line)
		}
	}
}

// Two NICs with different link types, fed concurrently, plus statistics:
// tshark attributes every frame to its interface; capinfos reads the
// statistics blocks, the filter and the application.
func TestMultiNICReadByTshark(t *testing.T) {
	tshark := pcaptest.NeedTool(t, "tshark")
	capinfos := pcaptest.NeedTool(t, "capinfos")
	file := filepath.Join(t.TempDir(), "multi.pcapng")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, "vmdump 1.0")
	nics := []struct {
		nic      NIC
		linkType uint32
		count    int
	}{
		{NIC{Name: "default:eth0", Description: "Docker VM default eth0", Filter: "tcp", OS: "Linux"}, 1, 300},
		{NIC{Name: "default:any", Description: "Docker VM default (all interfaces)", Filter: "udp", OS: "Linux"}, 276, 200},
	}
	start := time.Unix(1700000000, 0)
	var wg sync.WaitGroup
	for _, n := range nics {
		pkts := make([]pcaptest.TestPacket, n.count)
		for i := range pkts {
			data := pcaptest.EthernetFrame(60, byte(i))
			if n.linkType == 276 {
				data = append(make([]byte, 20), data[14:]...) // SLL2 header, then IPv4
				binary.BigEndian.PutUint16(data[0:], 0x0800)
			}
			pkts[i] = pcaptest.TestPacket{Ts: start.Add(time.Duration(i) * time.Millisecond), Data: data}
		}
		in := pcaptest.PcapBytes(binary.LittleEndian, false, n.linkType, 262144, pkts)
		wg.Add(1)
		go func(nic NIC) {
			defer wg.Done()
			if _, err := Pump(w, &pcaptest.SmallReader{B: in, N: 500}, nic); err != nil {
				t.Errorf("Pump %s: %v", nic.Name, err)
			}
		}(n.nic)
	}
	wg.Wait()
	for i, n := range nics {
		if err := w.WriteStats(i, uint64(n.count+10), uint64(10+i), start, start.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	counts := map[string]int{}
	for _, line := range pcaptest.SplitLines(runTool(t, tshark, "-r", file, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.protocols")) {
		counts[line]++
	}
	want := map[string]int{"default:eth0\teth:ethertype:ip:udp:data": 300, "default:any\tsll:ethertype:ip:udp:data": 200}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("tshark frames per interface/protocols = %v, want %v", counts, want)
	}

	info := runTool(t, capinfos, "-I", "-F", file)
	for _, s := range []string{
		"Capture application: vmdump 1.0", "Number of interfaces in file: 2",
		"Name = default:eth0", "Encapsulation = Ethernet (1 - ether)", "Filter string = tcp",
		"Name = default:any", "Encapsulation = Linux cooked-mode capture v2", "Filter string = udp",
	} {
		if !strings.Contains(info, s) {
			t.Errorf("capinfos lacks %q:\n%s", s, info)
		}
	}
	if n := strings.Count(info, "Number of stat entries = 1"); n != 2 {
		t.Errorf("capinfos sees statistics for %d interfaces, want 2:\n%s", n, info)
	}
}
