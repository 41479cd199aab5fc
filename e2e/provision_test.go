package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// fakeAptGet stands in for apt-get inside one lab VM, so that vmdump's
// provisioning runs end to end (SSH, sudo -n, the probe before and after)
// without touching this machine's packages.
//
// The lab VM shares the host's filesystem, and the host is Debian, so the
// probe reads ID=debian and vmdump picks apt-get. The lab's sshd (and so
// every session) runs in a private mount namespace where HideTcpdump covers
// tcpdump; the fake is bind-mounted over every apt-get in that namespace
// only (nsenter into sshd's mount namespace), so whichever PATH or sudo
// secure_path vmdump's command uses finds the fake, and the host's own
// apt-get never runs and is never shadowed. The fake records its
// environment, uid, stdin and arguments, and "installs" tcpdump by
// bind-mounting a copy of the host's tcpdump over the covered one, again in
// that namespace only. Everything is undone at the end of the test.
type fakeAptGet struct {
	dir    string // the fake, the tcpdump copy, the record
	record string
	pid    int // the lab's sshd, whose mount namespace the sessions share
}

const fakeAptGetMarker = "vmdump-e2e-fake-apt-get"

func installFakeAptGet(t *testing.T, l *lab.Lab) *fakeAptGet {
	t.Helper()
	f := &fakeAptGet{dir: t.TempDir()}
	f.record = filepath.Join(f.dir, "record")
	for _, p := range l.ProcessesInVM() {
		if isSSHD(p) && strings.Contains(p.Cmdline, " -D ") {
			f.pid = p.Pid
		}
	}
	if f.pid == 0 {
		t.Fatal("the lab's sshd is not among the VM's processes")
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err == nil {
		tcpdump, err = filepath.EvalSymlinks(tcpdump)
	}
	if err != nil {
		t.Fatalf("the host's tcpdump: %v", err)
	}
	copyFile(t, tcpdump, filepath.Join(f.dir, "tcpdump"), 0o755)
	script := fmt.Sprintf(`#!/bin/sh
# %s: records how vmdump ran it, then "installs" tcpdump in the lab VM.
echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND uid=$(id -u) stdin=$(cat | wc -c) args=$*" >>%s
if [ -e %s ]; then echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4711 (apt)" >&2; exit 100; fi
echo "Setting up tcpdump (fake) ..."
mount --bind %s %s
`, fakeAptGetMarker, f.record, filepath.Join(f.dir, "fail"), filepath.Join(f.dir, "tcpdump"), tcpdump)
	fake := filepath.Join(f.dir, "apt-get")
	writeFile(t, fake, script)
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}

	var covered []string
	seen := map[string]bool{}
	for _, d := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		real, err := filepath.EvalSymlinks(filepath.Join(d, "apt-get"))
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		if out, err := f.nsenter("mount", "--bind", fake, real); err != nil {
			t.Fatalf("covering %s in the lab VM: %v: %s", real, err, out)
		}
		covered = append(covered, real)
	}
	t.Cleanup(func() {
		f.nsenter("umount", tcpdump) // the fake's "install", if it ran
		for _, c := range covered {
			if out, err := f.nsenter("umount", c); err != nil {
				t.Errorf("uncovering %s in the lab VM: %v: %s", c, err, out)
			}
		}
	})
	if len(covered) == 0 {
		t.Fatal("no apt-get on this machine: the lab VM shares its filesystem, and this test needs it Debian-like")
	}
	// Before anything runs apt-get in the VM: is it the fake there?
	for _, c := range covered {
		if out, err := f.nsenter("cat", c); err != nil || !strings.Contains(string(out), fakeAptGetMarker) {
			t.Fatalf("%s in the lab VM is not the fake (%v); stopping before anything could run the real one", c, err)
		}
	}
	return f
}

// nsenter runs a command in the lab VM's mount namespace, as root.
func (f *fakeAptGet) nsenter(args ...string) ([]byte, error) {
	return exec.Command("nsenter", append([]string{"--mount", "--target", strconv.Itoa(f.pid), "--"}, args...)...).CombinedOutput()
}

// calls is what the fake recorded, one line per run.
func (f *fakeAptGet) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(f.record)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// aptGetCall is the line the fake records for vmdump's install: run as
// root through sudo -n, non-interactive, stdin empty, exactly these
// arguments.
const aptGetCall = "DEBIAN_FRONTEND=noninteractive uid=0 stdin=0 args=install -y tcpdump"

// TestProvisionTcpdump (issue 7): on a VM without tcpdump a tcpdump capture
// fails with the one line naming Debian's command and `vmdump provision`;
// `vmdump list --check` says the same; `vmdump provision --dry-run` runs
// nothing; `vmdump provision` runs the package manager once with
// non-interactive arguments under sudo -n, confirms tcpdump and says so;
// then the capture gets the lab's traffic.
func TestProvisionTcpdump(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{HideTcpdump: true})
	u := newUser(t, l)
	f := installFakeAptGet(t, l)
	tool := []string{"-o", "extcap." + u.vmID + ".capturetool:tcpdump"}

	ts := u.startTshark(append([]string{"-a", "duration:20"}, tool...)...)
	ts.wait(t, time.Minute)
	msg := checkTsharkOneLineError(t, ts, "tcpdump is not installed on VM lab", "sudo apt-get install -y tcpdump", "vmdump provision "+u.vmID, "Missing tcpdump")
	t.Logf("without tcpdump: %s", msg)

	stdout, stderr, code := u.vmdumpRun(t, time.Minute, "list", "--check")
	if want := "tcpdump missing: captures use vmdump's capture agent; to use tcpdump: sudo apt-get install -y tcpdump (or: vmdump provision " + u.vmID + ")"; code != 0 || !strings.Contains(stdout, want) {
		t.Errorf("vmdump list --check: exit %d, want a line holding %q; stdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}

	stdout, stderr, code = u.vmdumpRun(t, time.Minute, "provision", "--dry-run", u.vmID)
	if code != 0 || strings.TrimSpace(stdout) != "would run on VM lab: sudo apt-get install -y tcpdump" {
		t.Errorf("provision --dry-run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if calls := f.calls(t); len(calls) != 0 {
		t.Fatalf("apt-get ran before provisioning: %q", calls)
	}

	stdout, stderr, code = u.vmdumpRun(t, 4*time.Minute, "provision", u.vmID)
	if code != 0 || stderr != "" {
		t.Fatalf("vmdump provision: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"ran on VM lab: sudo apt-get install -y tcpdump\n", "installed tcpdump on VM lab with `sudo apt-get install -y tcpdump` ("} {
		if !strings.Contains(stdout, want) {
			t.Errorf("vmdump provision says\n%s\nwithout %q", stdout, want)
		}
	}
	if calls := f.calls(t); len(calls) != 1 || calls[0] != aptGetCall {
		t.Fatalf("apt-get ran as %q, want once as %q", calls, aptGetCall)
	}
	t.Logf("vmdump provision:\n%s", stdout)

	// Provisioning again finds tcpdump there and runs nothing.
	stdout, stderr, code = u.vmdumpRun(t, time.Minute, "provision", "lab")
	if code != 0 || !strings.Contains(stdout, "tcpdump is already installed on VM lab: ") || len(f.calls(t)) != 1 {
		t.Errorf("second provision: exit %d, apt-get runs %d; stdout %q stderr %q", code, len(f.calls(t)), stdout, stderr)
	}

	const messages = 10
	ts = u.startTshark(append([]string{"-a", "duration:8"}, tool...)...)
	u.waitRemoteCapture(ts)
	l.Send(t, messages, 20*time.Millisecond)
	ts.wait(t, 40*time.Second)
	u.assertNoOrphans()
	if n := count(t, ts.out, "tcp.len > 0"); n != 2*messages {
		t.Fatalf("%d data segments captured after provisioning, want %d; tshark stderr:\n%s", n, 2*messages, ts.stderr.String())
	}
}

// TestProvisionFromDialog (issue 7): with "Missing tcpdump" set to install,
// a capture on a VM without tcpdump installs it first, then captures; a
// failed install fails the capture with one line naming the command, its
// exit status and the package manager's message.
func TestProvisionFromDialog(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{HideTcpdump: true})
	u := newUser(t, l)
	f := installFakeAptGet(t, l)
	args := []string{"-o", "extcap." + u.vmID + ".capturetool:tcpdump", "-o", "extcap." + u.vmID + ".installtcpdump:on"}

	writeFile(t, filepath.Join(f.dir, "fail"), "")
	ts := u.startTshark(append([]string{"-a", "duration:20"}, args...)...)
	ts.wait(t, time.Minute)
	msg := checkTsharkOneLineError(t, ts, "installing tcpdump on VM lab with `sudo apt-get install -y tcpdump` failed (exit 100): E: Could not get lock")
	t.Logf("failed install: %s", msg)
	if calls := f.calls(t); len(calls) != 1 || calls[0] != aptGetCall {
		t.Fatalf("apt-get ran as %q, want once as %q", calls, aptGetCall)
	}

	if err := os.Remove(filepath.Join(f.dir, "fail")); err != nil {
		t.Fatal(err)
	}
	const messages = 10
	ts = u.startTshark(append([]string{"-a", "duration:10"}, args...)...)
	u.waitRemoteCapture(ts)
	l.Send(t, messages, 20*time.Millisecond)
	ts.wait(t, time.Minute)
	u.assertNoOrphans()
	if calls := f.calls(t); len(calls) != 2 || calls[1] != aptGetCall {
		t.Fatalf("apt-get ran as %q, want a second time as %q", calls, aptGetCall)
	}
	if n := count(t, ts.out, "tcp.len > 0"); n != 2*messages {
		t.Fatalf("%d data segments captured, want %d; tshark stderr:\n%s", n, 2*messages, ts.stderr.String())
	}
	if _, ok := extcapError(ts.stderr.String()); ok {
		t.Errorf("the capture that installed tcpdump reported an error:\n%s", ts.stderr.String())
	}
}
