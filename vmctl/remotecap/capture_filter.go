package remotecap

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/vmctl/probe"
)

// PayloadFilter keeps only TCP segments that carry data, dropping the bare
// ACKs, SYNs and FINs that make up most of a busy link.
//
// IPv4: IP total length − IP header length − TCP header length ≠ 0.
// IPv6: payload length − TCP header length ≠ 0, with the TCP header read at
// the fixed offset 40 (ip6[52] is the TCP data-offset byte). That only holds
// when TCP directly follows the fixed IPv6 header; `ip6 and tcp` in libpcap
// checks exactly that next-header value, so IPv6 TCP packets carrying
// extension headers (rare: hop-by-hop, routing, fragments) are dropped, not
// misjudged. Everything that is not TCP is dropped too: the filter is meant
// for "show me the data".
const PayloadFilter = "(ip and tcp and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0))" +
	" or (ip6 and tcp and ((ip6[4:2] - ((ip6[52]&0xf0)>>2)) != 0))"

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
// the own-session exclusion as "(a) and (b) and (c)", leaving out empty parts.
// Each part is parenthesised so that an "or" in the user's filter cannot
// escape the exclusion of vmdump's own session.
func BuildFilter(user string, payloadOnly bool, p probe.Probe) string {
	var parts []string
	if u := strings.TrimSpace(user); u != "" {
		parts = append(parts, "("+u+")")
	}
	if payloadOnly {
		parts = append(parts, "("+PayloadFilter+")")
	}
	if own := OwnSessionFilter(p); own != "" {
		parts = append(parts, "("+own+")")
	}
	return strings.Join(parts, " and ")
}
