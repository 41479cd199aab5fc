package remotecap

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/vmctl/probe"
)

// Payload only means "drop the TCP segments that carry no data": the bare
// ACKs, SYNs and FINs that make up most of a busy link. emptyTCPFilter
// matches exactly those segments, among the TCP that a filter expression can
// read:
//
//   - IPv4 TCP: IP total length − IP header length − TCP header length = 0.
//     A fragment after the first (fragment offset ≠ 0) is never empty: it
//     carries the rest of a segment that had data (and has no TCP header to
//     read; libpcap's tcp[] does not check for that).
//   - IPv6 TCP directly behind the fixed 40-byte header (next header 6, so
//     ip6[52] is the TCP data-offset byte): payload length − TCP header
//     length = 0.
//
// Limit: IPv6 TCP behind extension headers (hop-by-hop, routing,
// destination options, fragment) is not read — BPF cannot walk the header
// chain. It is never judged empty, so with a capture filter it arrives when
// that filter asks for it (libpcap's own "tcp" sees only TCP directly behind
// the header or behind one fragment header); without a capture filter it is
// dropped, as PayloadFilter keeps only TCP it has read.
const emptyTCPFilter = "(ip and tcp and (ip[6:2] & 0x1fff) == 0 and ((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) == 0)" +
	" or (ip6 and ip6[6] == 6 and (ip6[4:2] - ((ip6[52]&0xf0)>>2)) == 0)"

// PayloadFilter is payload only without a capture filter: the TCP segments
// that carry data (IPv4 TCP, IPv6 TCP directly behind the fixed header),
// nothing else — the filter is meant for "show me the data". See
// emptyTCPFilter for what counts as empty and for the IPv6 limit.
const PayloadFilter = "((ip and tcp) or (ip6 and ip6[6] == 6)) and not (" + emptyTCPFilter + ")"

// OwnSessionFilter excludes exactly vmdump's own SSH connection, as the VM
// sees it in $SSH_CONNECTION, in both directions. Capturing it would feed the
// capture back into itself (every captured packet makes a bigger one). Other
// SSH sessions to the VM, even from the same client address, stay visible.
// It returns "" when the probe has no usable SSH_CONNECTION: the values go
// into a filter expression, so anything that is not an address or a port is
// refused rather than quoted.
func OwnSessionFilter(p probe.Probe) string {
	c, okc := filterAddr(p.ClientAddr)
	s, oks := filterAddr(p.ServerAddr)
	cp, okcp := filterPort(p.ClientPort)
	sp, oksp := filterPort(p.ServerPort)
	if !okc || !oks || !okcp || !oksp {
		return ""
	}
	out := "src host " + c + " and tcp src port " + cp + " and dst host " + s + " and tcp dst port " + sp
	in := "src host " + s + " and tcp src port " + sp + " and dst host " + c + " and tcp dst port " + cp
	return "not ((" + out + ") or (" + in + "))"
}

// filterAddr normalises an address from $SSH_CONNECTION for a BPF filter:
// IPv4-mapped IPv6 becomes IPv4 (what the wire shows), a zone is dropped
// (libpcap does not accept one).
func filterAddr(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	return a.WithZone("").Unmap().String(), true
}

func filterPort(s string) (string, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return "", false
	}
	return strconv.Itoa(n), true
}

// BuildFilter combines the user's capture filter, the payload-only filter and
// the own-session exclusion, leaving out empty parts:
//
//   - no capture filter: "(PayloadFilter) and (own)": TCP data only;
//   - a capture filter: "(user) and (not (emptyTCPFilter)) and (own)":
//     payload only then drops only the TCP segments without data, so a
//     filter for UDP, ICMP, ARP... still captures what it asks for. ANDing
//     PayloadFilter instead would make "udp port 53" contradict it (tcpdump:
//     "expression rejects all packets"). A filter that compiles alone also
//     compiles combined, unless it selects nothing but empty TCP segments.
//
// Each part is parenthesised so that an "or" in the user's filter cannot
// escape the exclusion of vmdump's own session.
func BuildFilter(user string, payloadOnly bool, p probe.Probe) string {
	var parts []string
	u := strings.TrimSpace(user)
	if u != "" {
		parts = append(parts, "("+u+")")
	}
	switch {
	case payloadOnly && u != "":
		parts = append(parts, "(not ("+emptyTCPFilter+"))")
	case payloadOnly:
		parts = append(parts, "("+PayloadFilter+")")
	}
	if own := OwnSessionFilter(p); own != "" {
		parts = append(parts, "("+own+")")
	}
	return strings.Join(parts, " and ")
}
