package remotecap

import (
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl/probe"
)

func TestCaptureCommandReplay(t *testing.T) {
	hostile := `/tmp/a'b"c$(touch${IFS}/tmp/pwned)` + "`id`;x.pcap"
	for _, tc := range []struct {
		name     string
		env      string // VMDUMP_BENCH_REMOTE_FILE
		spec     CaptureSpec
		p        probe.Probe
		wantArgs []string // nil: a normal tcpdump capture
		wantSudo bool
	}{
		{"env unset: tcpdump", "", CaptureSpec{Interface: "eth1"}, probe.Probe{UID: 0, Tcpdump: "/usr/sbin/tcpdump"},
			nil, false},
		{"env", "/var/tmp/big.pcap", CaptureSpec{Interface: "eth1"}, probe.Probe{UID: 0, Tcpdump: "/usr/sbin/tcpdump"},
			[]string{"cat", "eth1", "0", "10", "/var/tmp/big.pcap"}, false},
		{"field wins over env", "/var/tmp/other.pcap", CaptureSpec{Interface: "eth1", BenchRemoteFile: "/data/f.pcap", Filter: "port 80"}, probe.Probe{UID: 0},
			[]string{"cat", "eth1", "0", "10", "/data/f.pcap"}, false},
		{"sudo as for tcpdump", "/f.pcap", CaptureSpec{Interface: "docker0", Snaplen: 96}, probe.Probe{UID: 1000, SudoNoPassword: true},
			[]string{"cat", "docker0", "96", "10", "/f.pcap"}, true},
		{"hostile path stays an argument", hostile, CaptureSpec{Interface: "eth0"}, probe.Probe{UID: 0},
			[]string{"cat", "eth0", "0", "10", hostile}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(BenchRemoteFileEnv, tc.env)
			cmd, err := CaptureCommand(tc.spec, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.HasPrefix(cmd, "exec sudo -n "); got != tc.wantSudo {
				t.Errorf("sudo %v, want %v: %s", got, tc.wantSudo, cmd)
			}
			script, args := splitCaptureCommand(t, cmd)
			if strings.Contains(script, "@") {
				t.Errorf("unreplaced placeholder in %q", script)
			}
			if tc.wantArgs == nil {
				if !strings.Contains(script, `-w -`) || strings.Contains(script, replayInvocation) {
					t.Errorf("not a tcpdump capture: %q", script)
				}
				return
			}
			if strings.Join(args, "|") != strings.Join(tc.wantArgs, "|") {
				t.Errorf("args %q, want %q", args, tc.wantArgs)
			}
			if !strings.Contains(script, replayInvocation+" 3<&- &") {
				t.Errorf("script does not run the replay in the background: %q", script)
			}
			if strings.Contains(script, "-w -") || strings.Contains(script, tc.spec.BenchRemoteFile+tc.env) {
				t.Errorf("script still runs tcpdump or holds the path: %q", script)
			}
			// The same stop machinery as a capture.
			for _, part := range []string{"vmdump-pcap-start", "read -r", `trap "kill $p`, "kill $p 2>/dev/null; exit 0"} {
				if !strings.Contains(script, part) {
					t.Errorf("script lacks %q: %q", part, script)
				}
			}
		})
	}
}

func TestCaptureCommandReplayRejects(t *testing.T) {
	for _, file := range []string{"/tmp/a\nb", "/tmp/a\x00b", "/tmp/a\rb"} {
		if _, err := CaptureCommand(CaptureSpec{Interface: "eth0", BenchRemoteFile: file}, probe.Probe{UID: 0}); err == nil {
			t.Errorf("%q accepted", file)
		}
	}
	if _, err := CaptureCommand(CaptureSpec{Interface: "-eth0", BenchRemoteFile: "/f"}, probe.Probe{UID: 0}); err == nil {
		t.Error("bad interface name accepted in replay mode")
	}
}
