package remotecap

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// runBPF is a classic BPF interpreter (the kernel's semantics: a load out
// of the packet rejects it), enough for tcpdump's and vmdump's programs.
func runBPF(t *testing.T, prog []bpfInsn, pkt []byte) uint32 {
	t.Helper()
	var a, x uint32
	var mem [16]uint32
	load := func(off uint32, size int) (uint32, bool) {
		if uint64(off)+uint64(size) > uint64(len(pkt)) {
			return 0, false
		}
		switch size {
		case 1:
			return uint32(pkt[off]), true
		case 2:
			return uint32(binary.BigEndian.Uint16(pkt[off:])), true
		}
		return binary.BigEndian.Uint32(pkt[off:]), true
	}
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		cls := in.Code & 0x07
		switch cls {
		case 0x00, 0x01: // ld, ldx
			size := map[uint16]int{0x00: 4, 0x08: 2, 0x10: 1}[in.Code&0x18]
			var v uint32
			ok := true
			switch in.Code & 0xe0 {
			case 0x00: // imm
				v = in.K
			case 0x20: // abs
				v, ok = load(in.K, size)
			case 0x40: // ind
				v, ok = load(x+in.K, size)
			case 0x60: // mem
				v = mem[in.K]
			case 0x80: // len
				v = uint32(len(pkt))
			case 0xa0: // msh
				var b uint32
				b, ok = load(in.K, 1)
				v = (b & 0xf) * 4
			default:
				t.Fatalf("pc %d: unsupported load %#x", pc, in.Code)
			}
			if !ok {
				return 0
			}
			if cls == 0 {
				a = v
			} else {
				x = v
			}
		case 0x02:
			mem[in.K] = a
		case 0x03:
			mem[in.K] = x
		case 0x04: // alu
			src := in.K
			if in.Code&0x08 != 0 {
				src = x
			}
			switch in.Code & 0xf0 {
			case 0x00:
				a += src
			case 0x10:
				a -= src
			case 0x20:
				a *= src
			case 0x30:
				if src == 0 {
					return 0
				}
				a /= src
			case 0x40:
				a |= src
			case 0x50:
				a &= src
			case 0x60:
				a <<= src
			case 0x70:
				a >>= src
			case 0x80:
				a = -a
			default:
				t.Fatalf("pc %d: unsupported alu %#x", pc, in.Code)
			}
		case 0x05: // jmp
			if in.Code&0xf0 == 0x00 {
				pc += int(in.K)
				continue
			}
			src := in.K
			if in.Code&0x08 != 0 {
				src = x
			}
			var c bool
			switch in.Code & 0xf0 {
			case 0x10:
				c = a == src
			case 0x20:
				c = a > src
			case 0x30:
				c = a >= src
			case 0x40:
				c = a&src != 0
			default:
				t.Fatalf("pc %d: unsupported jump %#x", pc, in.Code)
			}
			if c {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case 0x06:
			if in.Code&0x18 == 0x10 {
				return a
			}
			return in.K
		case 0x07:
			if in.Code&0xf8 == 0x00 {
				x = a
			} else {
				a = x
			}
		}
	}
	t.Fatal("program fell off its end")
	return 0
}

// agentPkt builds an Ethernet frame: IPv4 or IPv6, TCP or UDP, with
// options, payload, fragment fields and truncation as asked.
type agentPkt struct {
	v6           bool
	src, dst     string
	proto        byte
	sport, dport uint16
	ipOptions    int // IPv4 header words beyond 5
	tcpOptions   int // TCP header words beyond 5
	payload      int
	fragOffset   uint16 // IPv4 fragment offset (8-byte units)
	v6FragHeader bool   // a fragment header before TCP
	v6HopByHop   bool   // a hop-by-hop options header (8 bytes, PadN) before the rest
	truncate     int    // keep only this many bytes (0: all)
	padTo        int    // zeros after the IP packet up to this frame length (an Ethernet trailer)
	etherType    uint16 // overrides the Ethernet type (ARP...)
}

func (p agentPkt) bytes() []byte {
	var l4 []byte
	switch p.proto {
	case 6:
		l4 = make([]byte, 20+4*p.tcpOptions+p.payload)
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
		l4[12] = byte(5+p.tcpOptions) << 4
	default:
		l4 = make([]byte, 8+p.payload)
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
	}
	eth := make([]byte, 14)
	var ip []byte
	if p.v6 {
		eth[12], eth[13] = 0x86, 0xdd
		next := p.proto
		if p.v6FragHeader {
			l4 = append([]byte{p.proto, 0, 0, 0, 0, 0, 0, 1}, l4...)
			next = 44
		}
		if p.v6HopByHop {
			l4 = append([]byte{next, 0, 1, 4, 0, 0, 0, 0}, l4...)
			next = 0
		}
		ip = make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4)))
		ip[6] = next
		ip[7] = 64
		s, d := netip.MustParseAddr(p.src).As16(), netip.MustParseAddr(p.dst).As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
	} else {
		eth[12], eth[13] = 0x08, 0x00
		ip = make([]byte, 20+4*p.ipOptions)
		ip[0] = 0x40 | byte(5+p.ipOptions)
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(l4)))
		binary.BigEndian.PutUint16(ip[6:], p.fragOffset)
		ip[8] = 64
		ip[9] = p.proto
		s, d := netip.MustParseAddr(p.src).As4(), netip.MustParseAddr(p.dst).As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
	}
	if p.etherType != 0 {
		binary.BigEndian.PutUint16(eth[12:], p.etherType)
	}
	out := append(append(eth, ip...), l4...)
	for len(out) < p.padTo {
		out = append(out, 0)
	}
	if p.truncate > 0 && p.truncate < len(out) {
		out = out[:p.truncate]
	}
	return out
}

// agentTestPackets covers what the built-in filters look at, for a session
// between client and server.
func agentTestPackets(client, server string, cport, sport uint16) []agentPkt {
	v6 := netip.MustParseAddr(client).Is6()
	other := "10.9.9.9"
	if v6 {
		other = "fd00::99"
	}
	var ps []agentPkt
	for _, base := range []agentPkt{
		{src: client, dst: server, sport: cport, dport: sport},
		{src: server, dst: client, sport: sport, dport: cport},
		{src: client, dst: server, sport: cport + 1, dport: sport},
		{src: client, dst: server, sport: cport, dport: sport + 1},
		{src: server, dst: client, sport: cport, dport: sport},
		{src: client, dst: other, sport: cport, dport: sport},
		{src: other, dst: server, sport: cport, dport: sport},
		{src: client, dst: client, sport: cport, dport: cport},
	} {
		base.v6 = v6
		for _, payload := range []int{0, 1, 100} {
			for _, opt := range []int{0, 3} {
				p := base
				p.proto, p.payload, p.tcpOptions = 6, payload, opt
				if !v6 {
					p.ipOptions = opt
				}
				ps = append(ps, p)
			}
		}
		u := base
		u.proto, u.payload = 17, 20
		ps = append(ps, u)
		if v6 {
			for _, payload := range []int{0, 10} {
				f := base
				f.proto, f.payload, f.v6FragHeader = 6, payload, true
				ps = append(ps, f)
				h := base
				h.proto, h.payload, h.v6HopByHop = 6, payload, true
				ps = append(ps, h)
			}
		} else {
			f := base
			f.proto, f.payload, f.fragOffset = 6, 10, 100
			ps = append(ps, f)
			hi := base
			hi.proto, hi.payload, hi.fragOffset = 6, 10, 0x1000 // the offset's top bit
			ps = append(ps, hi)
			mf := base
			mf.proto, mf.payload, mf.fragOffset = 6, 10, 0x2000 // more fragments, offset 0
			ps = append(ps, mf)
		}
		for _, cut := range []int{14, 20, 34, 40, 54, 60} {
			c := base
			c.proto, c.payload, c.truncate = 6, 5, cut
			ps = append(ps, c)
		}
		arp := base
		arp.proto, arp.etherType = 6, 0x0806
		ps = append(ps, arp)
		icmp := base
		icmp.proto, icmp.payload = 1, 20
		if v6 {
			icmp.proto = 58
		}
		ps = append(ps, icmp)
	}
	// The other family passes the other family's exclusion.
	if v6 {
		ps = append(ps, agentPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: cport, dport: sport, payload: 3})
	} else {
		ps = append(ps, agentPkt{v6: true, src: "fd00::1", dst: "fd00::2", proto: 6, sport: cport, dport: sport, payload: 3})
	}
	return ps
}

// TestBuiltinProgramsMatchTcpdump: the programs vmdump assembles itself
// (for machines without tcpdump) accept and reject exactly the packets
// tcpdump's own compilation of the same filter text does.
func TestBuiltinProgramsMatchTcpdump(t *testing.T) {
	tcpdump := vmtest.NeedTcpdump(t)
	for _, conn := range []probe.Probe{
		{ClientAddr: "10.231.7.1", ClientPort: "51234", ServerAddr: "10.231.7.2", ServerPort: "22"},
		{ClientAddr: "fd00::1", ClientPort: "40000", ServerAddr: "fd00:0:0:1::2", ServerPort: "2222"},
		{ClientAddr: "::ffff:192.168.5.1", ClientPort: "22", ServerAddr: "192.168.5.15", ServerPort: "22"},
		{}, // no SSH_CONNECTION: payload only
	} {
		for _, payload := range []bool{false, true} {
			filter := BuildFilter("", payload, conn)
			if filter == "" {
				continue
			}
			t.Run(fmt.Sprintf("%s/payload=%v", conn.ClientAddr, payload), func(t *testing.T) {
				const snap = 4096
				want, err := compileLocally(context.Background(), tcpdump, filter, snap)
				if err != nil {
					t.Fatal(err)
				}
				got, ok, err := builtinProgram(filter, snap, conn)
				if !ok || err != nil {
					t.Fatalf("builtinProgram: ok %v err %v", ok, err)
				}
				client, server := "10.231.7.1", "10.231.7.2"
				cport, sport := uint16(51234), uint16(22)
				if conn.ClientAddr != "" {
					c, s := netip.MustParseAddr(conn.ClientAddr).Unmap(), netip.MustParseAddr(conn.ServerAddr).Unmap()
					client, server = c.String(), s.String()
					cp, _ := filterPort(conn.ClientPort)
					sp, _ := filterPort(conn.ServerPort)
					fmt.Sscan(cp, &cport)
					fmt.Sscan(sp, &sport)
				}
				pkts := agentTestPackets(client, server, cport, sport)
				if conn.ClientAddr == "" {
					pkts = append(pkts, agentTestPackets("fd00::1", "fd00::2", 1000, 22)...)
				}
				accepted := 0
				for _, p := range pkts {
					b := p.bytes()
					w, g := runBPF(t, want, b), runBPF(t, got, b)
					if w != g {
						t.Errorf("%+v: tcpdump's program returns %d, vmdump's %d", p, w, g)
					}
					if w != 0 {
						accepted++
					}
				}
				if accepted == 0 || accepted == len(pkts) {
					t.Errorf("%d of %d packets accepted: the test packets do not tell the filters apart", accepted, len(pkts))
				}
			})
		}
	}
}

// A user's own filter cannot be assembled without tcpdump.
func TestBuiltinProgramRefusesOtherFilters(t *testing.T) {
	p := probe.Probe{ClientAddr: "10.0.0.1", ClientPort: "5000", ServerAddr: "10.0.0.2", ServerPort: "22"}
	for _, f := range []string{"tcp", BuildFilter("udp", true, p), "(" + PayloadFilter + ")", BuildFilter("", true, probe.Probe{}) + " and tcp"} {
		if _, ok, _ := builtinProgram(f, 100, p); ok {
			t.Errorf("%q: assembled", f)
		}
	}
	if _, ok, err := builtinProgram(BuildFilter("", true, probe.Probe{}), 100, probe.Probe{}); !ok || err != nil {
		t.Errorf("payload only: ok %v err %v", ok, err)
	}
}

// agentProgram without a local tcpdump: the built-in programs, or a
// one-line error for a user's filter.
func TestAgentProgramWithoutLocalTcpdump(t *testing.T) {
	saved := findLocalTcpdump
	findLocalTcpdump = func() string { return "" }
	defer func() { findLocalTcpdump = saved }()
	p := probe.Probe{ClientAddr: "10.0.0.1", ClientPort: "5000", ServerAddr: "10.0.0.2", ServerPort: "22"}
	text, err := agentProgram(context.Background(), BuildFilter("", true, p), 0, p)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := parseDDD(text)
	if err != nil || prog[len(prog)-2].K != 262144 {
		t.Fatalf("%q: %v", text, err)
	}
	_, err = agentProgram(context.Background(), BuildFilter("port 80", true, p), 0, p)
	if err == nil || !strings.Contains(err.Error(), "install tcpdump") || strings.Contains(err.Error(), "\n") {
		t.Errorf("user filter without tcpdump: %v", err)
	}
	if text, err := agentProgram(context.Background(), "", 0, p); text != "" || err != nil {
		t.Errorf("no filter: %q %v", text, err)
	}
}

// With tcpdump here: its -ddd output, comma-joined, and its complaint for
// a bad filter.
func TestAgentProgramWithLocalTcpdump(t *testing.T) {
	vmtest.NeedTcpdump(t)
	text, err := agentProgram(context.Background(), "udp port 53", 1500, probe.Probe{})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := parseDDD(text)
	if err != nil || strings.Contains(text, "\n") {
		t.Fatalf("%q: %v", text, err)
	}
	if programText(prog) != text {
		t.Errorf("round trip: %q", text)
	}
	accepts := false
	for _, in := range prog {
		accepts = accepts || (in.Code == bpfRetK && in.K == 1500)
	}
	if !accepts {
		t.Errorf("no ret #1500 (the snaplen) in %q", text)
	}
	_, err = agentProgram(context.Background(), "tcp port nonsense-port-xyz and (", 0, probe.Probe{})
	if err == nil || !strings.Contains(err.Error(), "does not compile") {
		t.Errorf("bad filter: %v", err)
	}
}

func TestParseDDD(t *testing.T) {
	good := "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n"
	prog, err := parseDDD(good)
	if err != nil || len(prog) != 4 || prog[1] != (bpfInsn{21, 0, 1, 2048}) {
		t.Fatalf("%v %v", prog, err)
	}
	if programText(prog) != "4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0" {
		t.Errorf("programText: %s", programText(prog))
	}
	for _, bad := range []string{"", "2\n6 0 0 1", "1\n6 0 0", "1\n6 0 0 x", "1\n6 0 256 1", "0", "x\n6 0 0 0"} {
		if _, err := parseDDD(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
