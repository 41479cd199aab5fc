package remotecap

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

func TestClipValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"docker", "docker"},
		{strings.Repeat("a", 80), strings.Repeat("a", 80)},
		{strings.Repeat("a", 81), strings.Repeat("a", 80) + "... (81 bytes)"},
		{strings.Repeat("a", 100<<10), strings.Repeat("a", 80) + "... (102400 bytes)"},
		// Never cut inside a UTF-8 sequence.
		{strings.Repeat("a", 79) + strings.Repeat("é", 10), strings.Repeat("a", 79) + "... (99 bytes)"},
	} {
		got := sshconn.ClipValue(tc.in)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("clipValue(%d bytes) = %q, want %q", len(tc.in), got, tc.want)
		}
	}
}

// A huge user-typed value never comes back whole in an error: interface
// names are refused by length, key paths and users are clipped.
func TestHugeValuesAreClippedInErrors(t *testing.T) {
	huge := strings.Repeat("x", 100<<10)
	_, err := CaptureCommand(CaptureSpec{Interface: huge}, probe.Probe{UID: 0})
	if err == nil || len(err.Error()) > 300 {
		t.Errorf("100 KB interface name: %v", err)
	}
	_, note := sshconn.LoadKeyFile("/nonexistent/"+huge, "", true)
	if note == "" || len(note) > 300 {
		t.Errorf("100 KB key path note: %d bytes", len(note))
	}
}
