package remotecap

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

func TestAgentArch(t *testing.T) {
	for in, want := range map[string]string{"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", " x86_64\n": "amd64"} {
		if got, err := agentArch(in); got != want || err != nil {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"", "armv7l", "riscv64", "i686", "s390x"} {
		if _, err := agentArch(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestProbeParsesArch(t *testing.T) {
	p, err := probe.ParseProbe([]byte("vmdump-probe=1\narch=aarch64\nend=1\n"))
	if err != nil || p.Arch != "aarch64" {
		t.Fatalf("%+v %v", p, err)
	}
	if !strings.Contains(probe.ProbeScript, `echo "arch=$(uname -m)"`) {
		t.Error("the probe does not ask uname -m")
	}
}

// The capture tool choice: the agent always, never, or when the VM has no
// tcpdump.
func TestUsesAgent(t *testing.T) {
	with, without := probe.Probe{Tcpdump: "/usr/bin/tcpdump"}, probe.Probe{}
	for _, tc := range []struct {
		tool      Tool
		p         probe.Probe
		bench     string
		want, err bool
	}{
		{ToolAgent, with, "", true, false},
		{ToolAgent, without, "", true, false},
		{ToolTcpdump, without, "", false, false},
		{ToolTcpdump, with, "", false, false},
		{ToolAuto, with, "", false, false},
		{ToolAuto, without, "", true, false},
		{"", without, "", true, false},
		{"", with, "", false, false},
		{ToolAgent, without, "/x.pcap", false, false},
		{"dumpcap", with, "", false, true},
	} {
		got, err := CaptureSpec{Tool: tc.tool, BenchRemoteFile: tc.bench}.usesAgent(tc.p)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%+v: %v %v", tc, got, err)
		}
	}
}

// Inside a container's namespace, auto takes the agent (which joins the
// namespace itself) on a VM with tcpdump but no nsenter; tcpdump when
// nsenter is there, or the probe did not say, or the agent cannot run.
func TestUsesAgentForNetns(t *testing.T) {
	ns := Netns{PID: 42, Link: "net:[4026532201]"}
	for _, tc := range []struct {
		name  string
		p     probe.Probe
		netns Netns
		want  bool
	}{
		{"nsenter there", probe.Probe{Tcpdump: "/usr/bin/tcpdump", Arch: "x86_64", Nsenter: true, NsenterKnown: true}, ns, false},
		{"no nsenter", probe.Probe{Tcpdump: "/usr/bin/tcpdump", Arch: "x86_64", NsenterKnown: true}, ns, true},
		{"no nsenter, VM's own namespace", probe.Probe{Tcpdump: "/usr/bin/tcpdump", Arch: "x86_64", NsenterKnown: true}, Netns{}, false},
		{"an older probe", probe.Probe{Tcpdump: "/usr/bin/tcpdump", Arch: "x86_64"}, ns, false},
		{"no agent for the VM", probe.Probe{Tcpdump: "/usr/bin/tcpdump", Arch: "riscv64", NsenterKnown: true}, ns, false},
	} {
		got, err := CaptureSpec{Netns: tc.netns}.usesAgent(tc.p)
		if got != tc.want || err != nil {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestParseAgentUpload(t *testing.T) {
	bin := []byte("\x7fELF pretend agent")
	sum := sha256.Sum256(bin)
	out := "motd noise\ndir=/tmp/vmdump-agent.Ab12Cd\nsize=   " + strconv.Itoa(len(bin)) + "\nsha256=" + hex.EncodeToString(sum[:]) + "  -\nversion=vmdump-agent linux/arm64\n"
	u := parseAgentUpload(out)
	if u.dir != "/tmp/vmdump-agent.Ab12Cd" || u.size != int64(len(bin)) || u.version != "vmdump-agent linux/arm64" {
		t.Fatalf("%+v", u)
	}
	if err := u.check(bin, "arm64"); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*agentUpload){
		"short":    func(u *agentUpload) { u.size-- },
		"sha":      func(u *agentUpload) { u.sha256 = strings.Repeat("0", 64) },
		"arch":     func(u *agentUpload) { u.version = "vmdump-agent linux/amd64" },
		"no dir":   func(u *agentUpload) { u.dir = "" },
		"relative": func(u *agentUpload) { u.dir = "tmp/x" },
	} {
		bad := u
		mod(&bad)
		if err := bad.check(bin, "arm64"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// busybox without sha256sum: the size and the version still count.
	noSum := u
	noSum.sha256 = ""
	if err := noSum.check(bin, "arm64"); err != nil {
		t.Errorf("without sha256: %v", err)
	}
	failed := parseAgentUpload("failed=/tmp: Permission denied\nfailed=/var/tmp: Exec format error\n")
	if err := failed.check(bin, "arm64"); err == nil || !strings.Contains(err.Error(), "Exec format error") || !strings.Contains(err.Error(), "install tcpdump") {
		t.Errorf("no exec: %v", err)
	}
}

func TestAgentUploadScriptIsOneQuotedWord(t *testing.T) {
	if strings.Contains(agentUploadScript, "'") {
		t.Error("the upload script contains a single quote")
	}
	for _, want := range []string{"umask 077", "mktemp -d", "cat >", "chmod 700", "-version", "wc -c", "sha256sum"} {
		if !strings.Contains(agentUploadScript, want) {
			t.Errorf("upload script lacks %q", want)
		}
	}
}

// The wrapper around the agent is the tcpdump wrapper (same stop machinery)
// with the agent's invocation, the program as one argument, and the EXIT
// trap that removes the agent's directory.
func TestAgentCommand(t *testing.T) {
	spec := CaptureSpec{Interface: "veth1234567", Snaplen: 1500, Filter: "tcp",
		agent: &agentInvocation{path: "/tmp/vmdump-agent.X1/vmdump-agent", program: "1,6 0 0 1500"}}
	cmd, err := CaptureCommand(spec, probe.Probe{UID: 1000, SudoNoPassword: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"exec sudo -n sh -c '",
		`"$1" -i "$2" -s "$3" -f "$5" 3<&- &`,
		`trap "rm -rf \"\$a\"" EXIT`,
		`vmdump: wrapper pid $$, agent in $a`,
		"kill $p", // the stdin-EOF reader and the watchdog are there
		" vmdump /tmp/vmdump-agent.X1/vmdump-agent veth1234567 1500 10 '1,6 0 0 1500'",
	} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command lacks %q:\n%s", want, cmd)
		}
	}
	if strings.Contains(cmd, "tcpdump") || strings.Contains(cmd, "@") {
		t.Errorf("tcpdump or a placeholder left in the agent's command:\n%s", cmd)
	}
	spec.agent.program = ""
	cmd, _ = CaptureCommand(spec, probe.Probe{UID: 0})
	if strings.Contains(cmd, `-f "$5"`) || strings.HasSuffix(cmd, "''") || strings.HasPrefix(cmd, "exec sudo") {
		t.Errorf("no program: %s", cmd)
	}
	spec.Interface = "-x"
	if _, err := CaptureCommand(spec, probe.Probe{}); err == nil {
		t.Error("an interface starting with - accepted")
	}
}

func TestAgentDirOf(t *testing.T) {
	if d := agentDirOf("x\nvmdump: wrapper pid 42, agent in /tmp/a b/vmdump-agent.Q\nlistening on"); d != "/tmp/a b/vmdump-agent.Q" {
		t.Errorf("%q", d)
	}
	if d := agentDirOf("vmdump: wrapper pid 42\n"); d != "" {
		t.Errorf("%q", d)
	}
	// The line is one vmdump's error reports skip.
	if l := meaningfulLines("vmdump: wrapper pid 42, agent in /tmp/vmdump-agent.Q\n"); len(l) != 0 {
		t.Errorf("meaningful: %q", l)
	}
	r := &RemoteCapture{stderr: &sshconn.TailBuffer{Max: 100}}
	r.stderr.Write([]byte("vmdump: wrapper pid 42, agent in /tmp/x\n"))
	if r.wrapperPID() != 42 {
		t.Errorf("pid %d", r.wrapperPID())
	}
}
