package remotecap

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/vmctl/probe"
)

// bpfInsn is one classic BPF instruction, as `tcpdump -ddd` prints it.
type bpfInsn struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// Classic BPF opcodes the built-in programs use (linux/filter.h).
const (
	bpfLdW   = 0x20 // ld [k]
	bpfLdH   = 0x28 // ldh [k]
	bpfLdB   = 0x30 // ldb [k]
	bpfLdHX  = 0x48 // ldh [x + k]
	bpfLdBX  = 0x50 // ldb [x + k]
	bpfLdMem = 0x60 // ld M[k]
	bpfLdxMS = 0xb1 // ldxb 4*([k]&0xf)
	bpfSt    = 0x02 // st M[k]
	bpfAndK  = 0x54
	bpfRshK  = 0x74
	bpfSubX  = 0x1c
	bpfTax   = 0x07
	bpfJeqK  = 0x15
	bpfJeqX  = 0x1d
	bpfJsetK = 0x45
	bpfRetK  = 0x06
)

// programText is the agent's -f argument: tcpdump -ddd's lines joined by
// commas (no newline inside the remote command).
func programText(prog []bpfInsn) string {
	parts := make([]string, 0, len(prog)+1)
	parts = append(parts, strconv.Itoa(len(prog)))
	for _, in := range prog {
		parts = append(parts, fmt.Sprintf("%d %d %d %d", in.Code, in.Jt, in.Jf, in.K))
	}
	return strings.Join(parts, ",")
}

// parseDDD reads `tcpdump -ddd` output.
func parseDDD(text string) ([]bpfInsn, error) {
	lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' })
	if len(lines) == 0 {
		return nil, fmt.Errorf("no BPF program")
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || n < 1 || n > 4096 || len(lines)-1 != n {
		return nil, fmt.Errorf("not a BPF program (count %q, %d instructions)", lines[0], len(lines)-1)
	}
	prog := make([]bpfInsn, n)
	for i, l := range lines[1:] {
		var code, jt, jf, k uint64
		f := strings.Fields(l)
		if len(f) == 4 {
			code, err = strconv.ParseUint(f[0], 10, 16)
			if err == nil {
				jt, err = strconv.ParseUint(f[1], 10, 8)
			}
			if err == nil {
				jf, err = strconv.ParseUint(f[2], 10, 8)
			}
			if err == nil {
				k, err = strconv.ParseUint(f[3], 10, 32)
			}
		}
		if len(f) != 4 || err != nil {
			return nil, fmt.Errorf("not a BPF instruction: %q", l)
		}
		prog[i] = bpfInsn{uint16(code), uint8(jt), uint8(jf), uint32(k)}
	}
	return prog, nil
}

// bpfAsm assembles a program with forward jumps to named labels.
type bpfAsm struct {
	out    []bpfInsn
	labels map[string]int
	fixes  []bpfFix
}

type bpfFix struct {
	at     int
	jt, jf string
}

func (a *bpfAsm) op(code uint16, k uint32) { a.out = append(a.out, bpfInsn{Code: code, K: k}) }

// jmp adds a conditional jump; "" means the next instruction.
func (a *bpfAsm) jmp(code uint16, k uint32, jt, jf string) {
	a.fixes = append(a.fixes, bpfFix{len(a.out), jt, jf})
	a.op(code, k)
}

func (a *bpfAsm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.out)
}

func (a *bpfAsm) assemble() ([]bpfInsn, error) {
	for _, f := range a.fixes {
		for _, j := range []struct {
			name string
			dst  *uint8
		}{{f.jt, &a.out[f.at].Jt}, {f.jf, &a.out[f.at].Jf}} {
			if j.name == "" {
				continue
			}
			to, ok := a.labels[j.name]
			off := to - f.at - 1
			if !ok || off < 0 || off > 255 {
				return nil, fmt.Errorf("bpf: bad jump to %q", j.name)
			}
			*j.dst = uint8(off)
		}
	}
	return a.out, nil
}

// Ethernet offsets: IPv4 header at 14, IPv6 header at 14.
const (
	ethType    = 12
	ip4Proto   = 14 + 9
	ip4Frag    = 14 + 6
	ip4Src     = 14 + 12
	ip4Dst     = 14 + 16
	ip6Next    = 14 + 6
	ip6Src     = 14 + 8
	ip6Dst     = 14 + 24
	ip6Payload = 14 + 4
	ip6TCP     = 14 + 40
)

// emitPayload is PayloadFilter (payload only without a capture filter),
// jumping to pass or drop, with the same verdicts as libpcap's code for it:
// IPv4 TCP that is a later fragment or carries data, IPv6 TCP directly
// behind the fixed header (next header 6) that carries data; everything
// else, IPv6 TCP behind extension headers included, is dropped.
func emitPayload(a *bpfAsm, pass, drop string) {
	a.op(bpfLdH, ethType)
	a.jmp(bpfJeqK, 0x800, "", "p.v6")
	a.op(bpfLdB, ip4Proto)
	a.jmp(bpfJeqK, 6, "", drop)
	a.op(bpfLdH, ip4Frag)
	a.jmp(bpfJsetK, 0x1fff, pass, "") // a later fragment: data, no TCP header
	a.op(bpfLdH, 14+2)                // total length
	a.op(bpfLdxMS, 14)                // X = IP header length
	a.op(bpfSubX, 0)
	a.op(bpfSt, 0)
	a.op(bpfLdBX, 14+12) // TCP data offset byte
	a.op(bpfAndK, 0xf0)
	a.op(bpfRshK, 2)
	a.op(bpfTax, 0)
	a.op(bpfLdMem, 0)
	a.jmp(bpfJeqX, 0, drop, pass)
	a.label("p.v6")
	a.jmp(bpfJeqK, 0x86dd, "", drop)
	a.op(bpfLdB, ip6Next)
	a.jmp(bpfJeqK, 6, "", drop)
	a.op(bpfLdH, ip6Payload)
	a.op(bpfSt, 0)
	a.op(bpfLdB, 14+52)
	a.op(bpfAndK, 0xf0)
	a.op(bpfRshK, 2)
	a.op(bpfTax, 0)
	a.op(bpfLdMem, 0)
	a.jmp(bpfJeqX, 0, drop, pass)
}

// emitOwnSession is OwnSessionFilter for the probe's addresses: drop
// vmdump's own TCP connection in both directions, pass everything else.
func emitOwnSession(a *bpfAsm, p probe.Probe, pass, drop string) error {
	c, err1 := netip.ParseAddr(p.ClientAddr)
	s, err2 := netip.ParseAddr(p.ServerAddr)
	cp, ok1 := filterPort(p.ClientPort)
	sp, ok2 := filterPort(p.ServerPort)
	if err1 != nil || err2 != nil || !ok1 || !ok2 {
		return fmt.Errorf("no usable SSH_CONNECTION")
	}
	c, s = c.WithZone("").Unmap(), s.WithZone("").Unmap()
	cport, _ := strconv.Atoi(cp)
	sport, _ := strconv.Atoi(sp)
	type dir struct {
		src, dst     netip.Addr
		sport, dport uint32
	}
	dirs := []dir{{c, s, uint32(cport), uint32(sport)}, {s, c, uint32(sport), uint32(cport)}}
	if c.Is4() != s.Is4() {
		a.jmp(bpfJeqK, 0, pass, pass) // no IPv4 packet goes to an IPv6 address
		return nil
	}
	a.op(bpfLdH, ethType)
	for i, d := range dirs {
		next := pass
		if i == 0 {
			next = "o.back"
		} else {
			a.label("o.back")
			a.op(bpfLdH, ethType)
		}
		if d.src.Is4() {
			// src host, tcp src port (IPv4 TCP, not a later fragment), dst host, tcp dst port
			a.jmp(bpfJeqK, 0x800, "", next)
			a.op(bpfLdW, ip4Src)
			a.jmp(bpfJeqK, be32(d.src.AsSlice()), "", next)
			a.op(bpfLdB, ip4Proto)
			a.jmp(bpfJeqK, 6, "", next)
			a.op(bpfLdH, ip4Frag)
			a.jmp(bpfJsetK, 0x1fff, next, "")
			a.op(bpfLdxMS, 14)
			a.op(bpfLdHX, 14)
			a.jmp(bpfJeqK, d.sport, "", next)
			a.op(bpfLdW, ip4Dst)
			a.jmp(bpfJeqK, be32(d.dst.AsSlice()), "", next)
			a.op(bpfLdHX, 16)
			a.jmp(bpfJeqK, d.dport, drop, next)
			continue
		}
		a.jmp(bpfJeqK, 0x86dd, "", next)
		src, dst := d.src.As16(), d.dst.As16()
		for w := 0; w < 16; w += 4 {
			a.op(bpfLdW, uint32(ip6Src+w))
			a.jmp(bpfJeqK, be32(src[w:w+4]), "", next)
		}
		a.op(bpfLdB, ip6Next)
		a.jmp(bpfJeqK, 6, "", next)
		a.op(bpfLdH, ip6TCP)
		a.jmp(bpfJeqK, d.sport, "", next)
		for w := 0; w < 16; w += 4 {
			a.op(bpfLdW, uint32(ip6Dst+w))
			a.jmp(bpfJeqK, be32(dst[w:w+4]), "", next)
		}
		a.op(bpfLdH, ip6TCP+2)
		a.jmp(bpfJeqK, d.dport, drop, next)
	}
	return nil // every path above has jumped
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// builtinProgram assembles the filters vmdump builds itself (BuildFilter
// without a user filter: payload-only and/or the own-session exclusion),
// for a machine without tcpdump to compile them. ok is false for any other
// filter: a user's filter — alone or combined with payload only's
// "not (empty TCP)" — needs a real compiler (agentProgram says so).
func builtinProgram(filter string, snaplen int, p probe.Probe) (prog []bpfInsn, ok bool, err error) {
	own := OwnSessionFilter(p) != ""
	for _, payload := range []bool{false, true} {
		if filter != BuildFilter("", payload, p) || (!payload && !own) {
			continue
		}
		a := &bpfAsm{}
		next := "accept"
		if own {
			next = "own"
		}
		if payload {
			emitPayload(a, next, "reject")
		}
		if own {
			a.label("own")
			if err := emitOwnSession(a, p, "accept", "reject"); err != nil {
				return nil, true, err
			}
		}
		a.label("accept")
		a.op(bpfRetK, uint32(snaplen))
		a.label("reject")
		a.op(bpfRetK, 0)
		prog, err := a.assemble()
		return prog, true, err
	}
	return nil, false, nil
}
