package lab

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/vmdump/vmdump/internal/trafficgen/payload"
)

// capture is a tcpdump running in a lab namespace whose packets are read
// as they come (-U --immediate-mode): a test waits for the packets it
// expects instead of stopping tcpdump at a guessed moment, which would lose
// what tcpdump had not yet read from the kernel.
type capture struct {
	t       *testing.T
	cmd     *exec.Cmd
	mu      sync.Mutex
	pkts    []gopacket.Packet
	readErr error
	stderr  string        // what tcpdump said after "listening on"
	more    chan struct{} // a packet arrived or reading ended
	ended   chan struct{} // reading ended
	once    sync.Once
}

func tcpdumpIn(t *testing.T, ns, iface string, filter ...string) *capture {
	t.Helper()
	// --immediate-mode makes libpcap use a TPACKET_V2 ring whose slots are
	// snaplen-sized: with the default snaplen (262144) a 2 MB ring holds 8
	// packets, and a burst overflows it while tcpdump is descheduled. A
	// small snaplen and a larger buffer give thousands of slots.
	args := append([]string{"netns", "exec", ns, "tcpdump", "-i", iface, "-n", "--immediate-mode", "-U",
		"-s", "1024", "-B", "16384", "-w", "-"}, filter...)
	c := &capture{t: t, cmd: exec.Command("ip", args...), more: make(chan struct{}, 1), ended: make(chan struct{})}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	// tcpdump reports "listening on <iface>" once its capture is active.
	sc := bufio.NewScanner(stderr)
	var said []string
	for sc.Scan() && !strings.Contains(sc.Text(), "listening on") {
		said = append(said, sc.Text())
	}
	if sc.Err() != nil || len(said) > 0 && !strings.Contains(strings.Join(said, " "), "verbose output") {
		t.Fatalf("tcpdump on %s: %v %v", iface, sc.Err(), said)
	}
	go func() {
		// Keep the rest (tcpdump's statistics at exit) for failure messages.
		rest, _ := io.ReadAll(stderr)
		c.mu.Lock()
		c.stderr = string(rest)
		c.mu.Unlock()
	}()
	go func() {
		err := readPcap(stdout, func(p gopacket.Packet) {
			c.mu.Lock()
			c.pkts = append(c.pkts, p)
			c.mu.Unlock()
			c.signal()
		})
		c.mu.Lock()
		c.readErr = err
		c.mu.Unlock()
		close(c.ended)
		c.signal()
	}()
	return c
}

func (c *capture) signal() {
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// waitFor returns the packets captured so far once enough says so; it fails
// the test if that does not happen within 30 seconds.
func (c *capture) waitFor(enough func([]gopacket.Packet) bool) []gopacket.Packet {
	c.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		pkts := append([]gopacket.Packet(nil), c.pkts...)
		readErr := c.readErr
		c.mu.Unlock()
		if enough(pkts) {
			return pkts
		}
		select {
		case <-c.ended:
			c.t.Fatalf("tcpdump ended (%v) with %d packets, not what the test waits for", readErr, len(pkts))
		default:
		}
		select {
		case <-c.more:
		case <-deadline:
			var lines []string
			for _, p := range pkts {
				lines = append(lines, brief(p))
			}
			c.t.Fatalf("after 30s tcpdump had %d packets, not what the test waits for:\n%s", len(pkts), strings.Join(lines, "\n"))
		}
	}
}

// stop ends tcpdump; the packets already read stay.
func (c *capture) stop() {
	c.once.Do(func() {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	})
}

// readPcap decodes a classic pcap stream as tcpdump -w writes it, calling
// each for every packet, until the stream ends. (gopacket's pcapgo would
// need golang.org/x/net, which the module does not carry.)
func readPcap(r io.Reader, each func(gopacket.Packet)) error {
	br := bufio.NewReader(r)
	header := make([]byte, 24)
	if _, err := io.ReadFull(br, header); err != nil {
		return fmt.Errorf("pcap header: %w", err)
	}
	var order binary.ByteOrder
	nanos := false
	switch {
	case binary.LittleEndian.Uint32(header) == 0xa1b2c3d4:
		order = binary.LittleEndian
	case binary.BigEndian.Uint32(header) == 0xa1b2c3d4:
		order = binary.BigEndian
	case binary.LittleEndian.Uint32(header) == 0xa1b23c4d:
		order, nanos = binary.LittleEndian, true
	case binary.BigEndian.Uint32(header) == 0xa1b23c4d:
		order, nanos = binary.BigEndian, true
	default:
		return fmt.Errorf("not a pcap stream (magic %x)", header[:4])
	}
	link := layers.LinkType(order.Uint32(header[20:24]))
	record := make([]byte, 16)
	for {
		if _, err := io.ReadFull(br, record); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("pcap record header: %w", err)
		}
		sec, frac, n := order.Uint32(record[0:4]), order.Uint32(record[4:8]), order.Uint32(record[8:12])
		if n > 1<<18 {
			return fmt.Errorf("pcap record of %d bytes", n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			return fmt.Errorf("pcap record: %w", err)
		}
		if !nanos {
			frac *= 1000
		}
		p := gopacket.NewPacket(data, link, gopacket.Default)
		p.Metadata().Timestamp = time.Unix(int64(sec), int64(frac))
		p.Metadata().CaptureLength, p.Metadata().Length = int(n), int(order.Uint32(record[12:16]))
		each(p)
	}
}

// seenMessages sorts captured trafficgen messages by direction.
type seenMessages struct {
	toServer, toClient map[uint64]int // sequence number → times seen
	other              int            // packets without a message (handshake, ACKs, FINs, ARP)
	problems           []string
}

func (s seenMessages) messages() int {
	n := 0
	for _, c := range s.toServer {
		n += c
	}
	for _, c := range s.toClient {
		n += c
	}
	return n
}

func messagesSeen(l *Lab, pkts []gopacket.Packet) seenMessages {
	s := seenMessages{toServer: map[uint64]int{}, toClient: map[uint64]int{}}
	for _, p := range pkts {
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		app := p.ApplicationLayer()
		if ip == nil || app == nil {
			s.other++
			continue
		}
		sent, seq, ok := payload.Decode(app.Payload())
		if !ok {
			s.problems = append(s.problems, fmt.Sprintf("payload %x is not a trafficgen message", app.Payload()))
			continue
		}
		if age := p.Metadata().Timestamp.Sub(sent); age < 0 || age > time.Minute {
			s.problems = append(s.problems, fmt.Sprintf("message %d captured %v after its send time", seq, age))
		}
		switch {
		case ip.SrcIP.String() == l.ContainerAddr(1) && ip.DstIP.String() == l.ContainerAddr(2):
			s.toServer[seq]++
		case ip.SrcIP.String() == l.ContainerAddr(2) && ip.DstIP.String() == l.ContainerAddr(1):
			s.toClient[seq]++
		default:
			s.problems = append(s.problems, fmt.Sprintf("message %d from %v to %v", seq, ip.SrcIP, ip.DstIP))
		}
	}
	return s
}

// brief is a one-line tcpdump-like description of a packet.
func brief(p gopacket.Packet) string {
	line := p.Metadata().Timestamp.Format("15:04:05.000000")
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		line += fmt.Sprintf(" %v > %v", ip.SrcIP, ip.DstIP)
	}
	if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		line += fmt.Sprintf(" tcp %d>%d seq %d ack %d syn %v fin %v rst %v psh %v", tcp.SrcPort, tcp.DstPort, tcp.Seq, tcp.Ack, tcp.SYN, tcp.FIN, tcp.RST, tcp.PSH)
	}
	if app := p.ApplicationLayer(); app != nil {
		_, seq, ok := payload.Decode(app.Payload())
		line += fmt.Sprintf(" len %d msg %d %v", len(app.Payload()), seq, ok)
	}
	return line
}
