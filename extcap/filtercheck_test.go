package extcap

import (
	"context"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/localtcpdump"
)

func TestCheckFilterWithTcpdump(t *testing.T) {
	if localtcpdump.Find() == "" {
		t.Skip("tcpdump not installed")
	}
	tests := []struct {
		filter  string
		problem string
		known   bool
	}{
		{"tcp port 80", "", true},
		{"", "", true},
		{"   ", "", true},
		{"(tcp or udp) and not port 22", "", true},
		{"vlan and tcp", "", true},
		{"tcp port", "can't parse filter expression: syntax error", true},
		{"foo bar", "can't parse filter expression: syntax error", true},
		{"port foo", "unknown port 'foo'", true},
		{"net 10.0.0.0/33", "mask length must be <= 32", true},
		{"-x", "can't parse filter expression: syntax error", true}, // not taken as a tcpdump option
		{"tcp) or (udp", "unbalanced parentheses: ')' at position 4 has no matching '('", true},
		{"((tcp)", "unbalanced parentheses: 1 '(' not closed", true},
		{"host no-such-host.invalid", "", false}, // only the VM might resolve it
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		problem, known := CheckFilter(ctx, tt.filter)
		cancel()
		if problem != tt.problem || known != tt.known {
			t.Errorf("CheckFilter(%q) = %q, %v; want %q, %v", tt.filter, problem, known, tt.problem, tt.known)
		}
	}
}

func TestCheckFilterWithoutTcpdump(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := localtcpdump.Paths
	localtcpdump.Paths = nil
	defer func() { localtcpdump.Paths = saved }()
	if p, known := CheckFilter(context.Background(), "tcp"); p != "" || known {
		t.Errorf("without tcpdump: %q, %v; want unknown", p, known)
	}
	// What needs no tcpdump is still known.
	if p, known := CheckFilter(context.Background(), ""); p != "" || !known {
		t.Errorf("empty filter: %q, %v", p, known)
	}
	if p, known := CheckFilter(context.Background(), "tcp)"); p == "" || !known {
		t.Errorf("unbalanced: %q, %v", p, known)
	}
}

func TestCheckFilterCancelled(t *testing.T) {
	if localtcpdump.Find() == "" {
		t.Skip("tcpdump not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p, known := CheckFilter(ctx, "tcp"); p != "" || known {
		t.Errorf("cancelled check: %q, %v; want unknown", p, known)
	}
}
