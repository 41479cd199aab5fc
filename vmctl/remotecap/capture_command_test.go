package remotecap

import (
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl/probe"
)

func TestCaptureCommandRejects(t *testing.T) {
	p := probe.Probe{UID: 0, Tcpdump: "/usr/bin/tcpdump"}
	for _, tc := range []struct {
		name string
		spec CaptureSpec
		want string
	}{
		{"no interface", CaptureSpec{}, "no capture interface"},
		{"option as interface", CaptureSpec{Interface: "-w/tmp/x"}, "starts with '-'"},
		{"newline in interface", CaptureSpec{Interface: "eth0\ntouch x"}, "control character"},
		{"NUL in interface", CaptureSpec{Interface: "eth0\x00"}, "control character"},
		{"negative snaplen", CaptureSpec{Interface: "eth0", Snaplen: -1}, "snapshot length"},
		{"huge snaplen", CaptureSpec{Interface: "eth0", Snaplen: 1 << 20}, "snapshot length"},
		{"NUL in filter", CaptureSpec{Interface: "eth0", Filter: "port 1\x00"}, "NUL"},
		{"unknown priv", CaptureSpec{Interface: "eth0", Priv: "doas"}, "unknown privilege mode"},
	} {
		_, err := CaptureCommand(tc.spec, p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCaptureCommandPrivilege(t *testing.T) {
	for _, tc := range []struct {
		priv     Priv
		p        probe.Probe
		wantSudo bool
	}{
		{"", probe.Probe{UID: 0}, false},
		{PrivAuto, probe.Probe{UID: 0, SudoNoPassword: true}, false},
		{PrivAuto, probe.Probe{UID: 1000, SudoNoPassword: true}, true},
		{PrivAuto, probe.Probe{UID: 1000}, false}, // tcpdump may have capabilities; the error explains sudo
		{PrivAuto, probe.Probe{UID: -1}, true},
		{PrivSudo, probe.Probe{UID: 0}, true},
		{PrivNone, probe.Probe{UID: 1000, SudoNoPassword: true}, false},
	} {
		cmd, err := CaptureCommand(CaptureSpec{Interface: "eth0", Priv: tc.priv}, tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.HasPrefix(cmd, "exec sudo -n sh -c "); got != tc.wantSudo {
			t.Errorf("priv %q probe %+v: sudo=%v, want %v (%.40s)", tc.priv, tc.p, got, tc.wantSudo, cmd)
		}
		if !tc.wantSudo && !strings.HasPrefix(cmd, "exec sh -c ") {
			t.Errorf("command starts %.30q", cmd)
		}
	}
}

func TestCaptureCommandArguments(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spec     CaptureSpec
		p        probe.Probe
		wantArgs []string // positional args after "vmdump", unquoted
		wantImm  bool
		wantFilt bool
	}{
		{"defaults", CaptureSpec{Interface: "eth1"}, probe.Probe{UID: 0, Tcpdump: "/usr/sbin/tcpdump"},
			[]string{"/usr/sbin/tcpdump", "eth1", "262144", "10"}, false, false},
		{"all set", CaptureSpec{Interface: "br-x", Filter: " port 80\nand host 10.0.0.1\t", Snaplen: 96, Heartbeat: 30 * time.Second}, probe.Probe{UID: 0, Tcpdump: "/t d", ImmediateMode: true},
			[]string{"/t d", "br-x", "96", "60", "port 80 and host 10.0.0.1"}, true, true},
		{"tcpdump unknown", CaptureSpec{Interface: "eth0", Heartbeat: time.Second}, probe.Probe{UID: 0},
			[]string{"tcpdump", "eth0", "262144", "10"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := CaptureCommand(tc.spec, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			script, args := splitCaptureCommand(t, cmd)
			if strings.Join(args, "|") != strings.Join(tc.wantArgs, "|") {
				t.Errorf("args %q, want %q", args, tc.wantArgs)
			}
			if got := strings.Contains(script, "--immediate-mode"); got != tc.wantImm {
				t.Errorf("immediate mode %v, want %v", got, tc.wantImm)
			}
			if got := strings.Contains(script, `-- "$5"`); got != tc.wantFilt {
				t.Errorf("filter arg %v, want %v", got, tc.wantFilt)
			}
			if strings.Contains(script, "@") {
				t.Errorf("unreplaced placeholder in %q", script)
			}
		})
	}
}

// splitCaptureCommand parses "exec [sudo -n] sh -c <script> vmdump <args>"
// back into the script and the arguments.
func splitCaptureCommand(t *testing.T, cmd string) (string, []string) {
	t.Helper()
	rest := strings.TrimPrefix(strings.TrimPrefix(cmd, "exec "), "sudo -n ")
	rest, ok := strings.CutPrefix(rest, "sh -c ")
	if !ok {
		t.Fatalf("unexpected command %q", cmd)
	}
	words := splitQuotedWords(t, rest)
	if len(words) < 2 || words[1] != "vmdump" {
		t.Fatalf("unexpected words %q", words)
	}
	return words[0], words[2:]
}

// splitQuotedWords splits a string of space-separated ShellQuote words.
func splitQuotedWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	for s != "" {
		end := 0
		inQuote := false
		for end < len(s) && (inQuote || s[end] != ' ') {
			if s[end] == '\'' {
				inQuote = !inQuote
			}
			end++
		}
		w, ok := vmtest.UnquotePOSIX(s[:end])
		if !ok {
			t.Fatalf("not a quoted word: %q", s[:end])
		}
		words = append(words, w)
		s = strings.TrimPrefix(s[end:], " ")
	}
	return words
}

func TestCaptureWatchdogSeconds(t *testing.T) {
	for _, tc := range []struct {
		hb   time.Duration
		want int
	}{{0, 10}, {time.Second, 10}, {5 * time.Second, 10}, {7 * time.Second, 14}, {7500 * time.Millisecond, 15}} {
		if got := (CaptureSpec{Heartbeat: tc.hb}).watchdogSeconds(); got != tc.want {
			t.Errorf("heartbeat %v: watchdog %d, want %d", tc.hb, got, tc.want)
		}
	}
}
