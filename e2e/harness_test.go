// Package e2e drives vmdump the way users do: installed into Wireshark's
// extcap folder, run by the real tshark, capturing from the project's lab VM
// (a network namespace with the real sshd, tcpdump, a docker0 bridge and two
// container namespaces). Nothing here is mocked.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// vmdumpBin is the binary under test, built once for the package.
var vmdumpBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vmdump-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	vmdumpBin = filepath.Join(dir, "vmdump")
	build := exec.Command("go", "build", "-o", vmdumpBin, "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as the README builds it
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building vmdump:", err)
		os.Exit(1)
	}
	flag.Parse()
	raiseParallel()
	code := m.Run()
	printReliabilitySummary(os.Stdout)
	os.RemoveAll(dir)
	os.Exit(code)
}

// needTshark skips (or fails in CI) when tshark is missing.
func needTshark(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tshark is not installed; .ci/run must install it")
		}
		t.Skip("tshark is not installed (apt-get install tshark)")
	}
}

// user is a Wireshark user's machine: a home directory with vmdump
// installed into Wireshark's personal extcap folder by `vmdump install`,
// and a vmdump config file naming the lab VM.
type user struct {
	t    *testing.T
	home string
	env  []string
	lab  *lab.Lab
	vmID string
}

// vmConfig is one [[vm]] entry for the config file.
type vmConfig struct {
	Name, Host, User, Key, Interface, HostKey string
	Port                                      int
}

// newBareUser is a user with vmdump installed, the lab's host key in
// ~/.ssh/known_hosts and no vmdump config file: the test lays out a VM
// manager's files itself and sets vmID.
func newBareUser(t *testing.T, l *lab.Lab) *user {
	t.Helper()
	needTshark(t)
	home := t.TempDir()
	u := &user{t: t, home: home, lab: l}
	u.env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if out, err := u.vmdump("install"); err != nil {
		t.Fatalf("vmdump install: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(home, ".ssh", "known_hosts"), l.HostKeyLine()+"\n")
	return u
}

func newUser(t *testing.T, l *lab.Lab, vms ...vmConfig) *user {
	t.Helper()
	needTshark(t)
	home := t.TempDir()
	u := &user{t: t, home: home, lab: l}
	u.env = []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"LANG=C.UTF-8",
	}
	if out, err := u.vmdump("install"); err != nil {
		t.Fatalf("vmdump install: %v\n%s", err, out)
	}
	if len(vms) == 0 {
		vms = []vmConfig{{Name: "lab", Host: l.VMAddr, Port: l.SSHPort, User: l.User, Key: l.KeyFile, Interface: l.ContainerVeth(1)}}
	}
	var cfg strings.Builder
	for _, vm := range vms {
		fmt.Fprintf(&cfg, "[[vm]]\nname = %q\nhost = %q\nport = %d\nuser = %q\nkey = %q\ninterface = %q\n", vm.Name, vm.Host, vm.Port, vm.User, vm.Key, vm.Interface)
		if vm.HostKey != "" {
			fmt.Fprintf(&cfg, "host_key = %q\n", vm.HostKey)
		}
	}
	writeFile(t, filepath.Join(home, ".config", "vmdump", "config.toml"), cfg.String())
	writeFile(t, filepath.Join(home, ".ssh", "known_hosts"), l.HostKeyLine()+"\n")
	u.vmID = u.idOf("config", vms[0].Name)
	return u
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// vmdump runs the installed binary as the user would.
func (u *user) vmdump(args ...string) ([]byte, error) {
	cmd := exec.Command(vmdumpBin, args...)
	cmd.Env = u.env
	return cmd.CombinedOutput()
}

// idOf finds a VM's Wireshark interface name in `vmdump list --json`.
func (u *user) idOf(manager, name string) string {
	u.t.Helper()
	out, err := u.vmdump("list", "--json")
	if err != nil {
		u.t.Fatalf("vmdump list --json: %v\n%s", err, out)
	}
	var vms []struct{ ID, Manager, Name, Skip string }
	if err := json.Unmarshal(out, &vms); err != nil {
		u.t.Fatalf("vmdump list --json: %v\n%s", err, out)
	}
	for _, vm := range vms {
		if vm.Manager == manager && vm.Name == name {
			if vm.Skip != "" {
				u.t.Fatalf("VM %s/%s skipped: %s", manager, name, vm.Skip)
			}
			return vm.ID
		}
	}
	u.t.Fatalf("VM %s/%s not listed:\n%s", manager, name, out)
	return ""
}

// tshark is one running tshark capture.
type tshark struct {
	cmd    *exec.Cmd
	out    string // the pcapng file
	stderr bytes.Buffer
	done   chan struct{} // closed when tshark has exited
	err    error         // its exit status, once done
}

// startTshark starts `tshark -i <vm> -w out <args>` in its own process group
// (so that a SIGINT reaches it like Ctrl-C in a terminal, not ignored as in a
// background job).
func (u *user) startTshark(args ...string) *tshark {
	u.t.Helper()
	ts := &tshark{out: filepath.Join(u.t.TempDir(), "out.pcapng"), done: make(chan struct{})}
	argv := append([]string{"-i", u.vmID, "-w", ts.out}, args...)
	ts.cmd = exec.Command("tshark", argv...)
	ts.cmd.Env = u.env
	ts.cmd.Stderr = &ts.stderr
	ts.cmd.SysProcAttr = ownProcessGroup(false)
	if err := ts.cmd.Start(); err != nil {
		u.t.Fatal(err)
	}
	go func() { ts.err = ts.cmd.Wait(); close(ts.done) }()
	u.t.Cleanup(func() {
		select {
		case <-ts.done:
		default:
			signalGroup(ts.cmd.Process.Pid, syscall.SIGKILL)
			<-ts.done
		}
	})
	return ts
}

// wait waits for tshark to end by itself.
func (ts *tshark) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-ts.done:
	case <-time.After(limit):
		t.Fatalf("tshark still running after %v; stderr:\n%s", limit, ts.stderr.String())
	}
}

// signal sends sig to tshark's whole process group, as a terminal's Ctrl-C
// does (tshark, dumpcap and the extcap all get it).
func (ts *tshark) signal(sig syscall.Signal) { signalGroup(ts.cmd.Process.Pid, sig) }

// waitRemoteCapture waits until vmdump's tcpdump runs in the VM, then gives
// it a moment to open its socket. This only synchronises the test with the
// capture; nothing is asserted about time.
func (u *user) waitRemoteCapture(ts *tshark) {
	u.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if u.tcpdumpListening() {
			time.Sleep(300 * time.Millisecond) // its filter is attached right after
			return
		}
		select {
		case <-ts.done:
			u.t.Fatalf("tshark ended before the capture started; stderr:\n%s", ts.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	u.t.Fatalf("no tcpdump started in the VM within 30s; tshark stderr:\n%s", ts.stderr.String())
}

// tcpdumpListening reports whether a tcpdump in the VM has opened its
// capture socket (a socket among its fds; the wrapper and sudo have none).
func (u *user) tcpdumpListening() bool {
	for _, p := range u.lab.ProcessesInVM() {
		if argv := strings.Fields(p.Cmdline); len(argv) == 0 || filepath.Base(argv[0]) != "tcpdump" {
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid))
		for _, fd := range fds {
			if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.Pid, fd.Name())); err == nil && strings.HasPrefix(link, "socket:") {
				return true
			}
		}
	}
	return false
}

// remoteCaptures lists the processes vmdump left or runs in the VM: tcpdump
// and the wrapper shell around it.
func (u *user) remoteCaptures() []string {
	var found []string
	for _, p := range u.lab.ProcessesInVM() {
		if strings.Contains(p.Cmdline, "tcpdump") {
			found = append(found, fmt.Sprintf("%d %s", p.Pid, p.Cmdline))
		}
	}
	return found
}

// assertNoOrphans fails if anything of vmdump's still runs in the VM 2 s
// after a stop (the promise sshdump breaks).
func (u *user) assertNoOrphans() {
	u.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := u.remoteCaptures()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("left running in the VM 2s after stop:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// read returns tshark's field output for the capture file.
func read(t *testing.T, file string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tshark", append([]string{"-r", file}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", file, err, stderr.String())
	}
	return string(out)
}

// count counts packets in file matching a display filter ("" = all).
func count(t *testing.T, file, displayFilter string) int {
	t.Helper()
	args := []string{"-T", "fields", "-e", "frame.number"}
	if displayFilter != "" {
		args = append(args, "-Y", displayFilter)
	}
	return len(strings.Fields(read(t, file, args...)))
}

// output runs a command with env and returns its combined output.
func output(name string, env []string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, _ := cmd.CombinedOutput()
	return string(out)
}
