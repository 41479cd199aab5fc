package remotecap

import (
	"testing"

	"github.com/vmdump/vmdump/vmctl/probe"
)

func TestParseRemoteStats(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stderr string
		want   RemoteStats
	}{
		{"tcpdump 4.99", "tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n12 packets captured\n15 packets received by filter\n3 packets dropped by kernel\n", RemoteStats{15, 3, true}},
		{"singular", "1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n", RemoteStats{1, 0, true}},
		{"crlf", "7 packets received by filter\r\n2 packets dropped by kernel\r\n", RemoteStats{7, 2, true}},
		{"last block wins", "1 packets received by filter\n0 packets dropped by kernel\n9 packets received by filter\n4 packets dropped by kernel\n", RemoteStats{9, 4, true}},
		{"big", "18446744073709551615 packets received by filter\n0 packets dropped by kernel\n", RemoteStats{18446744073709551615, 0, true}},
		{"overflow", "18446744073709551616 packets received by filter\n0 packets dropped by kernel\n", RemoteStats{}},
		{"killed before stats", "tcpdump: listening on lo\n", RemoteStats{}},
		{"only received", "5 packets received by filter\n", RemoteStats{}},
		{"not at line start", "x 5 packets received by filter\n0 packets dropped by kernel\n", RemoteStats{}},
	} {
		if got := parseRemoteStats(tc.stderr); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func FuzzParseRemoteStats(f *testing.F) {
	f.Add("15 packets received by filter\n3 packets dropped by kernel\n")
	f.Add("1 packet received by filter\n")
	f.Fuzz(func(t *testing.T, s string) {
		st := parseRemoteStats(s)
		if !st.Valid && (st.Received != 0 || st.Dropped != 0) {
			t.Fatalf("invalid stats with counts: %+v", st)
		}
		_ = ClassifyRemoteError(s, 1, probe.Probe{}, CaptureSpec{Interface: "eth0"})
	})
}
