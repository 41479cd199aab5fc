package remotecap

import (
	"os"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl/probe"
)

// TestCaptureCommandWithoutNetnsUnchanged: a spec without a Netns builds
// exactly the command vmdump built before container namespaces existed
// (testdata/capture_commands.golden, recorded then), byte for byte.
func TestCaptureCommandWithoutNetnsUnchanged(t *testing.T) {
	raw, err := os.ReadFile("testdata/capture_commands.golden")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	cases := goldenCases()
	if len(want) != len(cases) {
		t.Fatalf("%d golden commands for %d cases", len(want), len(cases))
	}
	for i, c := range cases {
		cmd, err := CaptureCommand(c.spec, c.p)
		if err != nil {
			t.Fatal(err)
		}
		if cmd != want[i] {
			t.Errorf("case %d (%s): command changed:\n got %s\nwant %s", i, c.spec.Interface, cmd, want[i])
		}
	}
}

// goldenCases are the specs of testdata/capture_commands.golden.
type goldenCase struct {
	spec CaptureSpec
	p    probe.Probe
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{CaptureSpec{Interface: "eth0"}, probe.Probe{UID: 0, Tcpdump: "/usr/sbin/tcpdump"}},
		{CaptureSpec{Interface: "docker0", Filter: "port 80 and host 10.0.0.1", Snaplen: 96}, probe.Probe{UID: 1000, SudoNoPassword: true, Tcpdump: "/usr/bin/tcpdump", ImmediateMode: true}},
		{CaptureSpec{Interface: "any", Filter: "'; touch x", Priv: PrivSudo}, probe.Probe{UID: 0, Tcpdump: "/usr/sbin/tcpdump", ImmediateMode: true}},
		{CaptureSpec{Interface: "eth0", agent: &agentInvocation{path: "/tmp/vmdump-agent.abc/vmdump-agent", program: "2,6 0 0 262144,6 0 0 0"}}, probe.Probe{UID: 0}},
		{CaptureSpec{Interface: "eth0", agent: &agentInvocation{path: "/tmp/vmdump-agent.abc/vmdump-agent"}}, probe.Probe{UID: 1000, SudoNoPassword: true}},
		{CaptureSpec{Interface: "eth0", BenchRemoteFile: "/tmp/x.pcap"}, probe.Probe{UID: 0}},
	}
}
