package main

import (
	"errors"
	"strconv"
	"strings"
)

// insn is one classic BPF instruction (struct sock_filter).
type insn struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// maxInsns is the kernel's BPF_MAXINSNS.
const maxInsns = 4096

// parseProgram reads `tcpdump -ddd` text: the instruction count, then
// "code jt jf k" per instruction, with newlines or commas between them
// (iptables' xt_bpf takes the same text with commas).
func parseProgram(text string) ([]insn, error) {
	parts := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' })
	var lines []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			lines = append(lines, p)
		}
	}
	if len(lines) == 0 {
		return nil, errors.New("empty filter program")
	}
	n, err := strconv.Atoi(lines[0])
	if err != nil || n < 1 || n > maxInsns {
		return nil, errors.New("filter program: bad instruction count " + strconv.Quote(lines[0]))
	}
	if len(lines)-1 != n {
		return nil, errors.New("filter program: " + strconv.Itoa(len(lines)-1) + " instructions, the count says " + strconv.Itoa(n))
	}
	prog := make([]insn, n)
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 4 {
			return nil, errors.New("filter program: instruction " + strconv.Itoa(i+1) + " is not \"code jt jf k\": " + strconv.Quote(l))
		}
		code, e1 := strconv.ParseUint(f[0], 10, 16)
		jt, e2 := strconv.ParseUint(f[1], 10, 8)
		jf, e3 := strconv.ParseUint(f[2], 10, 8)
		k, e4 := strconv.ParseUint(f[3], 10, 32)
		if e1 != nil || e2 != nil || e3 != nil || e4 != nil {
			return nil, errors.New("filter program: instruction " + strconv.Itoa(i+1) + " has a bad number: " + strconv.Quote(l))
		}
		prog[i] = insn{Code: uint16(code), Jt: uint8(jt), Jf: uint8(jf), K: uint32(k)}
	}
	return prog, nil
}
