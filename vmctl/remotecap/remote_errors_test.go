package remotecap

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl/probe"
)

func TestClassifyRemoteErrorMessages(t *testing.T) {
	debian := probe.Probe{UID: 1000, OSID: "debian", Interfaces: []string{"eth0", "lo"}, Label: "VM default"}
	root := probe.Probe{UID: 0, OSID: "alpine", Interfaces: []string{"eth0", "lo"}, Label: "VM rd"}
	spec := CaptureSpec{Interface: "eth1", Filter: "port 80"}
	for _, tc := range []struct {
		name   string
		stderr string
		exit   int
		p      probe.Probe
		spec   CaptureSpec
		want   []string // substrings; nil: want nil
	}{
		{"clean stop", "vmdump: wrapper pid 42\ntcpdump: listening on eth1, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n3 packets captured\n5 packets received by filter\n0 packets dropped by kernel\n", 0, debian, spec, nil},
		{"wrapper: no tcpdump, debian", "vmdump: wrapper pid 42\nvmdump: tcpdump: not found\n", 127, debian, spec, []string{"tcpdump is not installed on VM default", "sudo apt-get install -y tcpdump"}},
		{"bash: no tcpdump, alpine as root", "bash: line 1: tcpdump: command not found\n", 127, root, spec, []string{"tcpdump is not installed on VM rd", "apk add tcpdump"}},
		{"no tcpdump, boot2docker", "vmdump: tcpdump: not found\n", 127, probe.Probe{UID: 1000, OSID: "tinycore"}, spec, []string{"tce-load -wi tcpdump.tcz"}},
		{"no tcpdump, fcos", "vmdump: tcpdump: not found\n", 127, probe.Probe{UID: 1000, OSID: "fedora-coreos"}, spec, []string{"sudo rpm-ostree install -A tcpdump"}},
		{"no tcpdump, mint via ID_LIKE", "vmdump: tcpdump: not found\n", 127, probe.Probe{UID: 1000, OSID: "linuxmintx", OSLike: "ubuntu debian"}, spec, []string{"apt-get install"}},
		{"no tcpdump, unknown OS", "vmdump: tcpdump: not found\n", 127, probe.Probe{UID: 1000, OSID: "plan9"}, spec, []string{"package manager"}},
		{"sudo needs password", "sudo: a password is required\n", 1, debian, spec, []string{"sudo on VM default needs a password", "passwordless sudo", "log in as root"}},
		{"not in sudoers", "alice is not in the sudoers file.\n", 1, debian, spec, []string{"may not use sudo"}},
		{"no sudo binary", "sh: 1: exec: sudo: not found\n", 127, debian, spec, []string{"sudo is not installed on VM default"}},
		{"agent permission as user", "vmdump-agent: socket: operation not permitted\n", 1, probe.Probe{UID: 1000, Label: "VM x"}, CaptureSpec{Interface: "eth1", Priv: PrivNone, agent: &agentInvocation{}}, []string{"vmdump's capture agent on VM x may not capture on eth1 as the login user", "passwordless sudo for vmdump's capture agent"}},
		{"permission as user", "tcpdump: eth1: You don't have permission to perform this capture on that device\n(socket: Operation not permitted)\n", 1, probe.Probe{UID: 1000, Label: "VM x"}, CaptureSpec{Interface: "eth1", Priv: PrivNone}, []string{"may not capture on eth1 as the login user", "passwordless sudo"}},
		{"permission old libpcap", "tcpdump: eth1: You don't have permission to capture on that device\n(socket: Operation not permitted)\n", 1, probe.Probe{UID: 1000}, CaptureSpec{Interface: "eth1"}, []string{"may not capture on eth1"}},
		{"permission as root", "tcpdump: eth1: You don't have permission to perform this capture on that device\n(socket: Operation not permitted)\n", 1, root, spec, []string{"even with root rights", "don't have permission"}},
		{"no such interface", "tcpdump: eth1: No such device exists\n(No such device exists)\n", 1, debian, spec, []string{`VM default has no interface "eth1"`, "it has: eth0, lo"}},
		{"no such interface old", "tcpdump: eth1: SIOCGIFHWADDR: No such device\n", 1, probe.Probe{}, spec, []string{`has no interface "eth1"`, "options dialog"}},
		{"interface down", "tcpdump: eth1: That device is not up\n", 1, debian, spec, []string{"interface eth1 on VM default is down"}},
		{"filter syntax", "tcpdump: can't parse filter expression: syntax error\n", 1, debian, spec, []string{"capture filter does not compile on VM default", "can't parse filter expression: syntax error"}},
		{"filter old syntax", "tcpdump: syntax error in filter expression: syntax error\n", 1, debian, spec, []string{"does not compile", "syntax error in filter expression"}},
		{"filter unknown host", "tcpdump: unknown host 'nosuch'\n", 1, debian, spec, []string{"does not compile", "unknown host 'nosuch'"}},
		{"temp dir", "vmdump: cannot create a temporary directory in /tmp\n", 125, debian, spec, []string{"temporary directory on VM default", "/tmp"}},
		{"session lost", "", -1, debian, spec, []string{"without an exit status"}},
		{"killed", "", 137, debian, spec, []string{"killed by signal 9"}},
		{"other", "tcpdump: pcap_loop: The interface disappeared\n", 1, debian, spec, []string{"failed (exit 1)", "The interface disappeared"}},
		{"no label: hostname", "vmdump: tcpdump: not found\n", 127, probe.Probe{Hostname: "box", UID: -1}, spec, []string{"on VM box"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ClassifyRemoteError(tc.stderr, tc.exit, tc.p, tc.spec)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got nil, want %q", tc.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("not one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestRemoteInstallHintDropsSudoForRoot(t *testing.T) {
	if h := InstallHint(probe.Probe{UID: 0, OSID: "debian"}); h != "apt-get install -y tcpdump" {
		t.Errorf("root hint = %q", h)
	}
	if h := InstallHint(probe.Probe{UID: 1000, OSID: "arch"}); h != "sudo pacman -S --noconfirm tcpdump" {
		t.Errorf("user hint = %q", h)
	}
}

// runCaptureLocally runs a capture command the way sshd would (login shell
// -c command), with stdin closed at once, and returns stderr and the exit
// status. runAs, when set, wraps the shell (e.g. setpriv to drop root).
func runCaptureLocally(t *testing.T, cmd string, runAs ...string) (string, int) {
	t.Helper()
	argv := append(runAs, "/bin/sh", "-c", cmd)
	c := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	// stdin stays open, as vmdump keeps it: EOF would end the capture
	// before tcpdump has said why it failed. Closed after a while in
	// case the command does not fail.
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer time.AfterFunc(15*time.Second, func() { _ = stdin.Close() }).Stop()
	err = c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stderr.String(), 0
	case errors.As(err, &ee):
		return stderr.String(), ee.ExitCode()
	}
	t.Fatalf("run %q: %v", cmd, err)
	return "", 0
}

// TestClassifyRemoteErrorRealTcpdump feeds the classifier what the real
// tcpdump and sudo print on this machine through the real wrapper script.
func TestClassifyRemoteErrorRealTcpdump(t *testing.T) {
	tcpdump := vmtest.NeedTcpdump(t)
	if os.Getuid() != 0 {
		t.Skip("needs root to run tcpdump and drop to nobody")
	}
	base := probe.Probe{UID: 0, Tcpdump: tcpdump, Interfaces: []string{"lo"}, Label: "VM test"}
	nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
	if _, err := exec.LookPath("setpriv"); err != nil {
		nobody = nil
	}
	for _, tc := range []struct {
		name  string
		spec  CaptureSpec
		p     probe.Probe
		runAs []string
		want  string
	}{
		{"no such interface", CaptureSpec{Interface: "vmdumpnosuch0", Priv: PrivNone}, base, nil, `has no interface "vmdumpnosuch0"; it has: lo`},
		{"bad filter", CaptureSpec{Interface: "lo", Filter: "tcp port", Priv: PrivNone}, base, nil, "capture filter does not compile on VM test: can't parse filter expression"},
		{"hostile filter", CaptureSpec{Interface: "lo", Filter: "'; touch /nonexistent/x; '", Priv: PrivNone}, base, nil, "capture filter does not compile"},
		{"missing tcpdump", CaptureSpec{Interface: "lo", Priv: PrivNone}, probe.Probe{UID: 0, Tcpdump: "/nonexistent/tcpdump", OSID: "debian"}, nil, "install it there with: apt-get install -y tcpdump"},
		{"permission as nobody", CaptureSpec{Interface: "lo", Priv: PrivNone}, probe.Probe{UID: 65534, Tcpdump: tcpdump, Label: "VM test"}, nobody, "may not capture on lo as the login user"},
		{"sudo password as nobody", CaptureSpec{Interface: "lo", Priv: PrivSudo}, probe.Probe{UID: 65534, Tcpdump: tcpdump, Label: "VM test"}, nobody, "sudo on VM test needs a password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.runAs == nil && strings.Contains(tc.name, "nobody") {
				t.Skip("setpriv not installed")
			}
			cmd, err := CaptureCommand(tc.spec, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			stderr, exit := runCaptureLocally(t, cmd, tc.runAs...)
			err = ClassifyRemoteError(stderr, exit, tc.p, tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("exit %d stderr %q\nclassified as %v\nwant %q", exit, stderr, err, tc.want)
			}
		})
	}
}
