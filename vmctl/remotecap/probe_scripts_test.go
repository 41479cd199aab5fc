package remotecap

import (
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl/probe"
)

func TestProbeScriptHasNoSingleQuote(t *testing.T) {
	if strings.Contains(probe.ProbeScript, "'") || strings.Contains(CaptureScript, "'") {
		t.Fatal("remote scripts must not contain a single quote (they travel as one single-quoted word)")
	}
}

// FuzzOwnSessionFilter: whatever the VM says in $SSH_CONNECTION, the filter
// built from the probe compiles to either nothing or addresses and ports
// only (this half of the probe's fuzz lives here, beside the filter).
func FuzzOwnSessionFilter(f *testing.F) {
	f.Add("192.0.2.1 40000 192.0.2.2 22")
	f.Add("fe80::1%eth0 40000 fe80::2 22")
	f.Add("1.2.3.4 1 5.6.7.8 2; rm -rf /")
	f.Fuzz(func(t *testing.T, conn string) {
		p, err := probe.ParseProbe([]byte("vmdump-probe=1\nssh_connection=" + conn + "\nend=1\n"))
		if err != nil {
			return
		}
		if f := OwnSessionFilter(p); f != "" && strings.ContainsAny(f, "'\";$`|&\n") {
			t.Fatalf("unsafe own-session filter %q", f)
		}
	})
}
