package localtcpdump

import (
	"context"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	tcpdump := Find()
	if tcpdump == "" {
		t.Skip("no tcpdump on this machine")
	}
	out, reason, err := Compile(context.Background(), tcpdump, "-ddd", "tcp", 65535)
	if err != nil || reason != "" || len(strings.Fields(out)) < 5 {
		t.Fatalf("tcp: %q, %q, %v", out, reason, err)
	}
	if !strings.Contains(out, "65535") {
		t.Errorf("the accept value is not the snapshot length from the header:\n%s", out)
	}
	if _, reason, err := Compile(context.Background(), tcpdump, "-d", "tcp port 99999", 262144); err == nil || !strings.Contains(reason, "99999") {
		t.Fatalf("bad filter: reason %q, err %v", reason, err)
	}
}

func TestFindWithoutTcpdump(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := Paths
	Paths = nil
	defer func() { Paths = saved }()
	if p := Find(); p != "" {
		t.Fatalf("found %s with an empty PATH and no paths", p)
	}
}

func TestReason(t *testing.T) {
	tests := []struct{ stderr, want string }{
		{"reading from file -, link-type EN10MB (Ethernet), snapshot length 262144\ntcpdump: can't parse filter expression: syntax error\n", "can't parse filter expression: syntax error"},
		{"tcpdump: first\nnoise\ntcpdump: last\n", "last"},
		{"something else\n", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Reason(tt.stderr); got != tt.want {
			t.Errorf("Reason(%q) = %q, want %q", tt.stderr, got, tt.want)
		}
	}
}
