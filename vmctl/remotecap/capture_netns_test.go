package remotecap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

func TestNetnsCheck(t *testing.T) {
	if err := (Netns{}).check(); err != nil {
		t.Errorf("zero: %v", err)
	}
	if err := (Netns{PID: 4242, Link: "net:[4026532198]"}).check(); err != nil {
		t.Errorf("good: %v", err)
	}
	for _, bad := range []Netns{
		{PID: -1, Link: "net:[4026532198]"},
		{PID: 0, Link: "net:[4026532198]"},
		{PID: 1 << 30, Link: "net:[4026532198]"},
		{PID: 1, Link: "net:[1]; rm -rf /"},
		{PID: 1, Link: "$(touch /tmp/x)"},
		{PID: 1, Link: "net:[1]\n"},
		{PID: 1, Link: "mnt:[4026532198]"},
		{PID: 1, Link: "net:[]"},
		{PID: 1, Link: ""},
		{PID: 0, Link: "net:[1]"},
	} {
		err := bad.check()
		if err == nil {
			t.Errorf("%+v accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "choose the container again") {
			t.Errorf("%+v: %q is not one line saying what to do", bad, err)
		}
	}
}

// TestStartRefusesHostileNetns: a bad Netns is refused before anything
// runs: the zero Conn has no SSH client, so any session or upload would
// panic rather than return an error.
func TestStartRefusesHostileNetns(t *testing.T) {
	p := probe.Probe{UID: 0, Tcpdump: "/usr/bin/tcpdump", Arch: "x86_64", Label: "VM test"}
	for _, tool := range []Tool{ToolTcpdump, ToolAgent} {
		for _, n := range []Netns{{PID: 1, Link: "net:[1]; rm -rf /"}, {PID: -1, Link: "net:[1]"}} {
			_, err := Start(context.Background(), &sshconn.Conn{}, CaptureSpec{Interface: "eth0", Tool: tool, Netns: n}, p)
			if err == nil || !strings.Contains(err.Error(), "container network namespace") {
				t.Errorf("%s %+v: %v", tool, n, err)
			}
			_, err = StartAll(context.Background(), &sshconn.Conn{}, []CaptureSpec{{Interface: "eth0", Tool: tool, Netns: n}}, p)
			if err == nil || !strings.Contains(err.Error(), "container network namespace") {
				t.Errorf("StartAll %s %+v: %v", tool, n, err)
			}
		}
	}
}

func TestStartAllRefusesDuplicatesPerNamespace(t *testing.T) {
	n := Netns{PID: 7, Link: "net:[4026532198]"}
	_, err := StartAll(context.Background(), &sshconn.Conn{}, []CaptureSpec{{Interface: "eth0", Netns: n}, {Interface: "eth0", Netns: n}}, probe.Probe{})
	if err == nil || !strings.Contains(err.Error(), "eth0 in net:[4026532198] of process 7 is listed twice") {
		t.Errorf("duplicate: %v", err)
	}
	other := Netns{PID: 8, Link: n.Link} // another process of the same container
	_, err = StartAll(context.Background(), &sshconn.Conn{}, []CaptureSpec{{Interface: "eth0", Netns: n}, {Interface: "eth0", Netns: other}}, probe.Probe{})
	if err == nil || !strings.Contains(err.Error(), "is listed twice") {
		t.Errorf("same namespace by two processes: %v", err)
	}
}

func TestCaptureCommandNetns(t *testing.T) {
	n := Netns{PID: 4242, Link: "net:[4026532198]"}
	p := probe.Probe{UID: 0, Tcpdump: "/usr/sbin/tcpdump", ImmediateMode: true}
	for _, tc := range []struct {
		name     string
		spec     CaptureSpec
		wantArgs []string
		want     []string // in the script
		dont     []string // not in the script
	}{
		{"tcpdump", CaptureSpec{Interface: "eth0", Netns: n},
			[]string{"/usr/sbin/tcpdump", "eth0", "262144", "10", "", "4242", "net:[4026532198]"},
			[]string{`nsenter -t "$6" -n "$1" -U --immediate-mode -B 16384 -s "$3" -i "$2" -w -  3<&- &`, "command -v nsenter", `readlink "/proc/$6/ns/net"`, `kill $r $w $n 2>/dev/null`, "exit 75"},
			[]string{`-- "$5"`, "-netns"}},
		{"tcpdump any with filter", CaptureSpec{Interface: "any", Filter: "port 80 and\nhost 10.0.0.1", Netns: n},
			[]string{"/usr/sbin/tcpdump", "any", "262144", "10", "port 80 and host 10.0.0.1", "4242", "net:[4026532198]"},
			[]string{`nsenter -t "$6" -n "$1"`, `-w - -- "$5" 3<&- &`},
			nil},
		{"agent", CaptureSpec{Interface: "eth0", Netns: n, agent: &agentInvocation{path: "/tmp/vmdump-agent.x/vmdump-agent", program: "1,6 0 0 262144"}},
			[]string{"/tmp/vmdump-agent.x/vmdump-agent", "eth0", "262144", "10", "1,6 0 0 262144", "4242", "net:[4026532198]"},
			[]string{`"$1" -netns "/proc/$6/ns/net" -netns-link "$7" -i "$2" -s "$3" -f "$5" 3<&- &`, `kill $r $w $n 2>/dev/null`, "exit 75", "agent in $a"},
			[]string{"nsenter"}},
		{"agent without filter", CaptureSpec{Interface: "any", Netns: n, agent: &agentInvocation{path: "/a/vmdump-agent"}},
			[]string{"/a/vmdump-agent", "any", "262144", "10", "", "4242", "net:[4026532198]"},
			[]string{`-netns-link "$7" -i "$2" -s "$3"  3<&- &`},
			[]string{"nsenter", `"$5"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := CaptureCommand(tc.spec, p)
			if err != nil {
				t.Fatal(err)
			}
			script, args := splitCaptureCommand(t, cmd)
			if strings.Join(args, "|") != strings.Join(tc.wantArgs, "|") {
				t.Errorf("args %q, want %q", args, tc.wantArgs)
			}
			for _, w := range tc.want {
				if !strings.Contains(script, w) {
					t.Errorf("script lacks %q:\n%s", w, script)
				}
			}
			for _, d := range tc.dont {
				if strings.Contains(script, d) {
					t.Errorf("script has %q", d)
				}
			}
			// The values are arguments only, never script text.
			if strings.Contains(script, "4242") || strings.Contains(script, "4026532198") || strings.ContainsAny(script, "'@") {
				t.Errorf("PID, link, a quote or a placeholder in the script:\n%s", script)
			}
			// The start check comes before the temporary directory, the
			// watcher before the trap, the gone check before the cleanup.
			order := []string{`if [ "$g" != "$7" ]`, "mktemp", "w=$!", `sleep 1 & y=$!`, `trap "kill $p 2>/dev/null" TERM HUP INT`, "wait $p", `!= "$7" ]; then echo "vmdump: netns gone: process $6 left $7"`, "kill $r $w $n", `rm -rf "$d"`}
			last := -1
			for _, o := range order {
				i := strings.Index(script, o)
				if i <= last {
					t.Errorf("%q at %d, after %d: out of order", o, i, last)
				}
				last = i
			}
		})
	}
	// The benchmark's replay knows no namespace and stays as it was.
	cmd, _ := CaptureCommand(CaptureSpec{Interface: "eth0", BenchRemoteFile: "/x.pcap", Netns: n}, p)
	if strings.Contains(cmd, "4242") || strings.Contains(cmd, "nsenter") {
		t.Errorf("replay with netns: %s", cmd)
	}
}

func TestClassifyNetns(t *testing.T) {
	p := probe.Probe{Label: "VM test", UID: 1000, SudoNoPassword: true, Interfaces: []string{"eth0", "docker0"}}
	n := Netns{PID: 4242, Link: "net:[4026532198]"}
	spec := CaptureSpec{Interface: "eth0", Netns: n}
	for _, tc := range []struct {
		stderr string
		exit   int
		gone   bool
		want   string
	}{
		{"vmdump: wrapper pid 12\nvmdump: netns gone: process 4242 is no longer in net:[4026532198]\n", 75, true, "VM test"},
		{"vmdump: wrapper pid 12\ntcpdump: listening on eth0\ntcpdump: pcap_loop: The interface disappeared\n3 packets captured\nvmdump: netns gone: process 4242 left net:[4026532198]\n", 75, true, "start the capture again"},
		{"vmdump: wrapper pid 12, agent in /tmp/a\nvmdump-agent: netns gone: /proc/4242/ns/net is net:[5], not net:[4026532198]\nvmdump: netns gone: process 4242 is no longer in net:[4026532198]\n", 75, true, "container stopped"},
		{"vmdump: wrapper pid 12\nvmdump: nsenter: not found\n", 127, false, "VM test has no nsenter to capture inside the container's network namespace: install util-linux there, or choose Capture program: agent"},
		{"vmdump: wrapper pid 12\nvmdump: cannot read the network namespace of process 4242 as uid 1000\n", 126, false, "set privilege to auto or sudo"},
		{"tcpdump: eth7: No such device exists\n", 1, false, `has no interface "eth7": choose the container's interface (eth0) or any`},
	} {
		s := spec
		if strings.Contains(tc.stderr, "eth7") {
			s.Interface = "eth7"
		}
		err := ClassifyRemoteError(tc.stderr, tc.exit, p, s)
		if err == nil || errors.Is(err, ErrNetnsGone) != tc.gone || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q exit %d: %v (gone %v, want %q)", tc.stderr, tc.exit, err, tc.gone, tc.want)
		}
	}
	// Without a namespace the same words are nobody's: status 75 is just
	// a failure, and nsenter is not the matter.
	if err := ClassifyRemoteError("vmdump: netns gone: x\n", 75, p, CaptureSpec{Interface: "eth0"}); err == nil || errors.Is(err, ErrNetnsGone) {
		t.Errorf("without netns: %v", err)
	}
}
