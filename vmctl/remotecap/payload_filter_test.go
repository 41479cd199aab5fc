package remotecap

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/localtcpdump"
	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// payloadFrame is a crafted frame with what payload only must make of it:
// empty is a TCP segment without data (dropped whatever the capture
// filter), data is what payload only keeps without a capture filter.
type payloadFrame struct {
	name        string
	pkt         agentPkt
	empty, data bool
}

// The own session of payloadProbe: 10.0.2.2:5000 → 10.0.2.15:22.
var payloadProbe = probe.Probe{ClientAddr: "10.0.2.2", ClientPort: "5000", ServerAddr: "10.0.2.15", ServerPort: "22"}

func payloadFrames() []payloadFrame {
	v4 := func(proto byte, sport, dport uint16, payload int) agentPkt {
		return agentPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: proto, sport: sport, dport: dport, payload: payload}
	}
	v6 := func(proto byte, sport, dport uint16, payload int) agentPkt {
		return agentPkt{v6: true, src: "fd00::1", dst: "fd00::2", proto: proto, sport: sport, dport: dport, payload: payload}
	}
	with := func(p agentPkt, f func(*agentPkt)) agentPkt { f(&p); return p }
	own := agentPkt{src: "10.0.2.2", dst: "10.0.2.15", proto: 6, sport: 5000, dport: 22, payload: 48}
	return []payloadFrame{
		{name: "v4 tcp80 data", pkt: v4(6, 40000, 80, 100), data: true},
		{name: "v4 tcp80 ack", pkt: v4(6, 40000, 80, 0), empty: true},
		{name: "v4 tcp80 ack, tcp+ip options", pkt: with(v4(6, 40000, 80, 0), func(p *agentPkt) { p.tcpOptions, p.ipOptions = 3, 1 }), empty: true},
		{name: "v4 tcp80 1 byte, tcp+ip options", pkt: with(v4(6, 40000, 80, 1), func(p *agentPkt) { p.tcpOptions, p.ipOptions = 3, 1 }), data: true},
		{name: "v4 tcp80 ack padded to 60", pkt: with(v4(6, 40000, 80, 0), func(p *agentPkt) { p.padTo = 60 }), empty: true},
		{name: "v4 tcp later fragment", pkt: with(v4(6, 40000, 80, 40), func(p *agentPkt) { p.fragOffset = 185 }), data: true},
		{name: "v4 tcp first fragment", pkt: with(v4(6, 40000, 80, 40), func(p *agentPkt) { p.fragOffset = 0x2000 }), data: true},
		{name: "v4 tcp22 data", pkt: v4(6, 40000, 22, 48), data: true},
		{name: "v4 own session data", pkt: own, data: true},
		{name: "v4 own session ack", pkt: with(own, func(p *agentPkt) { p.payload = 0 }), empty: true},
		{name: "v4 dns", pkt: v4(17, 40000, 53, 30)},
		{name: "v4 udp other", pkt: v4(17, 40000, 123, 48)},
		{name: "v4 icmp", pkt: v4(1, 0, 0, 56)},
		{name: "arp", pkt: with(v4(6, 0, 0, 0), func(p *agentPkt) { p.etherType = 0x0806 })},
		{name: "v6 tcp80 data", pkt: v6(6, 40000, 80, 7), data: true},
		{name: "v6 tcp80 ack", pkt: v6(6, 40000, 80, 0), empty: true},
		{name: "v6 tcp80 ack, options", pkt: with(v6(6, 40000, 80, 0), func(p *agentPkt) { p.tcpOptions = 3 }), empty: true},
		{name: "v6 tcp80 2 bytes, options", pkt: with(v6(6, 40000, 80, 2), func(p *agentPkt) { p.tcpOptions = 3 }), data: true},
		// IPv6 TCP behind extension headers is not read (the documented
		// limit): never empty, and not data either.
		{name: "v6 frag-header tcp data", pkt: with(v6(6, 40000, 80, 10), func(p *agentPkt) { p.v6FragHeader = true })},
		{name: "v6 frag-header tcp ack", pkt: with(v6(6, 40000, 80, 0), func(p *agentPkt) { p.v6FragHeader = true })},
		{name: "v6 hop-by-hop tcp data", pkt: with(v6(6, 40000, 80, 10), func(p *agentPkt) { p.v6HopByHop = true })},
		{name: "v6 hop-by-hop tcp ack", pkt: with(v6(6, 40000, 80, 0), func(p *agentPkt) { p.v6HopByHop = true })},
		{name: "v6 dns", pkt: v6(17, 40000, 53, 30)},
		{name: "v6 icmp6", pkt: v6(58, 0, 0, 32)},
		{name: "v6 hop-by-hop icmp6 (MLD)", pkt: with(v6(58, 0, 0, 16), func(p *agentPkt) { p.v6HopByHop = true })},
	}
}

// payloadUserFilters are capture filters that payload only must not turn
// into an error or an empty capture; arrive and drop name frames each must
// (not) capture with payload only on.
var payloadUserFilters = []struct {
	filter       string
	arrive, drop []string
}{
	{"udp port 53", []string{"v4 dns", "v6 dns"}, []string{"v4 udp other", "v4 tcp80 data"}},
	{"icmp", []string{"v4 icmp"}, []string{"v6 icmp6", "arp"}},
	{"arp", []string{"arp"}, []string{"v4 icmp"}},
	{"ip6 and tcp", []string{"v6 tcp80 data", "v6 tcp80 2 bytes, options", "v6 frag-header tcp data"}, []string{"v6 tcp80 ack", "v6 tcp80 ack, options", "v4 tcp80 data", "v6 dns"}},
	{"not tcp", []string{"v4 dns", "v4 icmp", "arp", "v6 icmp6", "v6 hop-by-hop icmp6 (MLD)", "v6 hop-by-hop tcp data"}, []string{"v4 tcp80 data", "v4 tcp80 ack"}},
	{"tcp port 80", []string{"v4 tcp80 data", "v4 tcp first fragment", "v6 tcp80 data"}, []string{"v4 tcp80 ack", "v6 tcp80 ack", "v4 tcp22 data"}},
	{"ip6", []string{"v6 tcp80 data", "v6 dns", "v6 hop-by-hop tcp data"}, []string{"v6 tcp80 ack", "v4 dns"}},
	{"tcp port 22", []string{"v4 tcp22 data"}, []string{"v4 own session data", "v4 own session ack"}},
}

// tcpdumpVerdicts runs the real tcpdump -r over the frames: accepted[i] for
// frame i.
func tcpdumpVerdicts(t *testing.T, frames [][]byte, filter string) []bool {
	t.Helper()
	got := make([]bool, len(frames))
	for _, n := range matchingPackets(t, frames, filter) {
		got[n-1] = true
	}
	return got
}

// With payload only on, a capture filter keeps what it asks for minus the
// TCP segments without data: for every frame, combined = user && !empty,
// both read by the real tcpdump. Without a capture filter: TCP data only.
func TestPayloadOnlyWithCaptureFilter(t *testing.T) {
	vmtest.NeedTcpdump(t)
	fs := payloadFrames()
	var frames [][]byte
	byName := map[string]int{}
	for i, f := range fs {
		frames = append(frames, f.pkt.bytes())
		byName[f.name] = i
	}
	for _, p := range []probe.Probe{{}, payloadProbe} {
		ownSession := func(name string) bool { return p.ClientAddr != "" && strings.HasPrefix(name, "v4 own session") }
		got := tcpdumpVerdicts(t, frames, BuildFilter("", true, p))
		for i, f := range fs {
			if want := f.data && !ownSession(f.name); got[i] != want {
				t.Errorf("no capture filter, probe %q: %q accepted=%v, want %v", p.ClientAddr, f.name, got[i], want)
			}
		}
		for _, u := range payloadUserFilters {
			alone := tcpdumpVerdicts(t, frames, u.filter)
			combined := BuildFilter(u.filter, true, p)
			got := tcpdumpVerdicts(t, frames, combined)
			for i, f := range fs {
				if want := alone[i] && !f.empty && !ownSession(f.name); got[i] != want {
					t.Errorf("-f %q, probe %q: %q accepted=%v, want %v (filter alone: %v)", u.filter, p.ClientAddr, f.name, got[i], want, alone[i])
				}
			}
			for _, name := range u.arrive {
				if i, ok := byName[name]; !ok || !got[i] {
					t.Errorf("-f %q, probe %q: %q does not arrive", u.filter, p.ClientAddr, name)
				}
			}
			for _, name := range u.drop {
				if p.ClientAddr == "" && strings.HasPrefix(name, "v4 own session") {
					continue // no probe: the own session is not excluded
				}
				if i, ok := byName[name]; !ok || got[i] {
					t.Errorf("-f %q, probe %q: %q arrives", u.filter, p.ClientAddr, name)
				}
			}
		}
	}
}

// The capture agent runs the same program: with a capture filter,
// agentProgram compiles the combined expression with the local tcpdump;
// without one and without a local tcpdump it assembles its own. Either
// way, run by a BPF interpreter over the frames, the program accepts
// exactly what tcpdump -r accepts with the filter text.
func TestAgentProgramVerdictsMatchTcpdump(t *testing.T) {
	vmtest.NeedTcpdump(t)
	fs := payloadFrames()
	var frames [][]byte
	for _, f := range fs {
		frames = append(frames, f.pkt.bytes())
	}
	// A second session family and the generic packet set, for the
	// built-in programs' exclusion code.
	for _, p := range agentTestPackets("fd00::1", "fd00:0:0:1::2", 40000, 2222) {
		frames = append(frames, p.bytes())
	}
	p6 := probe.Probe{ClientAddr: "fd00::1", ClientPort: "40000", ServerAddr: "fd00:0:0:1::2", ServerPort: "2222"}
	check := func(t *testing.T, filter, text string) {
		t.Helper()
		prog, err := parseDDD(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		want := tcpdumpVerdicts(t, frames, filter)
		accepted := 0
		for i, b := range frames {
			got := runBPF(t, prog, b) != 0
			if got != want[i] {
				name := fmt.Sprintf("generic frame %d", i-len(fs))
				if i < len(fs) {
					name = fs[i].name
				}
				t.Errorf("%s: the agent's program accepts=%v, tcpdump -r %v", name, got, want[i])
			}
			if got {
				accepted++
			}
		}
		if accepted == 0 {
			t.Errorf("%q: nothing accepted", filter)
		}
	}
	for _, p := range []probe.Probe{{}, payloadProbe, p6} {
		for _, u := range payloadUserFilters {
			filter := normalizeFilter(BuildFilter(u.filter, true, p))
			t.Run(p.ClientAddr+"/"+u.filter, func(t *testing.T) {
				text, err := agentProgram(context.Background(), filter, 4096, p)
				if err != nil {
					t.Fatal(err)
				}
				check(t, filter, text)
			})
		}
		t.Run(p.ClientAddr+"/builtin", func(t *testing.T) {
			saved := findLocalTcpdump
			findLocalTcpdump = func() string { return "" }
			defer func() { findLocalTcpdump = saved }()
			filter := normalizeFilter(BuildFilter("", true, p))
			text, err := agentProgram(context.Background(), filter, 4096, p)
			if err != nil {
				t.Fatal(err)
			}
			check(t, filter, text)
			// A user filter still needs a compiler: the combined expression
			// is refused, not silently replaced by the built-in program.
			if _, err := agentProgram(context.Background(), normalizeFilter(BuildFilter("udp port 53", true, p)), 4096, p); err == nil || !strings.Contains(err.Error(), "install tcpdump") {
				t.Errorf("user filter without a local tcpdump: %v", err)
			}
		})
	}
}

// Wireshark's filter check compiles the capture filter alone (extcap's
// CheckFilter: tcpdump -d). The capture compiles it combined with payload
// only and the own-session exclusion: a filter the check accepts must
// compile combined too, and none may be "expression rejects all packets"
// (what ANDing the TCP-only payload filter did to udp port 53).
func TestPayloadOnlyKeepsCaptureFiltersCompiling(t *testing.T) {
	tcpdump := vmtest.NeedTcpdump(t)
	compile := func(filter string) (string, error) {
		_, reason, err := localtcpdump.Compile(context.Background(), tcpdump, "-d", filter, 262144)
		return reason, err
	}
	p6 := probe.Probe{ClientAddr: "fd00::1", ClientPort: "40000", ServerAddr: "fd00::2", ServerPort: "22"}
	filters := []string{"tcp[tcpflags] & tcp-syn != 0", "icmp6", "vlan and udp", "host 10.0.0.1 or arp", "port 53 or port 80"}
	for _, u := range payloadUserFilters {
		filters = append(filters, u.filter)
	}
	for _, u := range filters {
		if reason, err := compile(u); err != nil {
			t.Fatalf("%q does not compile alone: %s", u, reason)
		}
		for _, p := range []probe.Probe{{}, payloadProbe, p6} {
			combined := BuildFilter(u, true, p)
			if reason, err := compile(combined); err != nil {
				t.Errorf("-f %q, probe %q: the combined filter does not compile: %s\n%s", u, p.ClientAddr, reason, combined)
			}
		}
	}
	// The regression: the old "(user) and (payload filter)".
	const oldPayloadFilter = "(ip and tcp and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0))" +
		" or (ip6 and tcp and ((ip6[4:2] - ((ip6[52]&0xf0)>>2)) != 0))"
	if reason, err := compile("(udp port 53) and (" + oldPayloadFilter + ")"); err == nil || !strings.Contains(reason, "rejects all packets") {
		t.Errorf("ANDing the TCP-only payload filter: %v %q (the test no longer shows the bug it guards against)", err, reason)
	}
}
