package e2e

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vmdump/vmdump/internal/lab"
)

// The guarantees, as measured by the suite. Waits around them are
// generous; only these are promises.
const (
	// stopLimit: after a stop nothing of vmdump's runs in the VM, and
	// vmdump (unless killed) has exited.
	stopLimit = 2 * time.Second
	// watchdogLimit: after the link went down, the VM ends tcpdump itself.
	watchdogLimit = 30 * time.Second
	// noticeLimit: after the link went down, vmdump says so.
	noticeLimit = 20 * time.Second
)

// quietFilter matches nothing the lab sends: the capture is idle when it is
// stopped, the case where sshdump's tcpdump lives on forever.
const quietFilter = "tcp port 9"

// raiseParallel lets the package's parallel tests (each with its own lab,
// mostly waiting on the network and on timers) run more than GOMAXPROCS at
// a time, unless -parallel was given.
func raiseParallel() {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(max(6, runtime.GOMAXPROCS(0))))
	}
}

// isSSHD tells sshd's own processes (the listener, per-connection
// "sshd: user [priv]" / "sshd: user@notty") from what sessions run.
func isSSHD(p lab.Proc) bool {
	return strings.HasPrefix(p.Cmdline, "sshd") || strings.HasPrefix(p.Cmdline, "/usr/sbin/sshd")
}

// vmdumpInVM lists what runs in the lab VM besides sshd. Nothing else runs
// in a lab VM's namespace, so during a capture this is vmdump's: sudo, the
// wrapper shell, its heartbeat reader and watchdog subshells, the
// watchdog's sleep, tcpdump.
func vmdumpInVM(l *lab.Lab) []lab.Proc {
	var out []lab.Proc
	for _, p := range l.ProcessesInVM() {
		if !isSSHD(p) {
			out = append(out, p)
		}
	}
	return out
}

// tcpdumpsInVM lists the tcpdump processes themselves.
func tcpdumpsInVM(l *lab.Lab) []lab.Proc {
	var out []lab.Proc
	for _, p := range l.ProcessesInVM() {
		if f := strings.Fields(p.Cmdline); len(f) > 0 && filepath.Base(f[0]) == "tcpdump" {
			out = append(out, p)
		}
	}
	return out
}

// awaitVMClean looks at the VM until nothing of vmdump's runs there.
// orphans are the processes a look that began later than limit after since
// still found: those were alive after the limit, however slow the machine.
// A look that began late and found nothing proves nothing against vmdump,
// so the harness's own delays never make a stop fail. clean is when the
// first empty look began.
func awaitVMClean(l *lab.Lab, since time.Time, limit time.Duration) (clean time.Duration, orphans []lab.Proc) {
	for {
		look := time.Now()
		procs := vmdumpInVM(l)
		if len(procs) == 0 {
			return look.Sub(since), nil
		}
		if look.Sub(since) > limit {
			return 0, procs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkStop counts one stop of kind and fails t if vmdump left anything in
// the VM limit after since. Orphans are killed (they are this test's) so
// that the next stop starts clean.
func checkStop(t *testing.T, l *lab.Lab, kind string, since time.Time, limit time.Duration) {
	t.Helper()
	tl := stopTally(kind)
	tl.tried.Add(1)
	clean, orphans := awaitVMClean(l, since, limit)
	if len(orphans) == 0 {
		t.Logf("%s: VM clean %v after the stop", kind, clean.Round(time.Millisecond))
		return
	}
	tl.bad.Add(int64(len(orphans)))
	var list []string
	for _, p := range orphans {
		list = append(list, fmt.Sprintf("%d %s", p.Pid, shorten(p.Cmdline, 200)))
		signalPid(p.Pid, syscall.SIGKILL)
	}
	t.Errorf("%s: left running in the VM %v after the stop:\n%s", kind, limit, strings.Join(list, "\n"))
	awaitVMClean(l, time.Now(), 10*time.Second)
}

// procStat reads state, parent and command name of pid from /proc; ok is
// false when the process is gone.
func procStat(pid int) (state byte, ppid int, comm string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, "", false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return 0, 0, "", false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, "", false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, s[open+1 : end], true
}

// exited reports whether pid has ended (gone, or a zombie not yet reaped).
func exited(pid int) bool {
	state, _, _, ok := procStat(pid)
	return !ok || state == 'Z' || state == 'X'
}

// awaitExit waits for pid to end and fails t if a look that began later
// than limit after since still saw it running (as awaitVMClean: the
// harness's delays cannot fail it). It gives up after limit + 30 s.
func awaitExit(t *testing.T, pid int, since time.Time, limit time.Duration, what string) {
	t.Helper()
	for {
		look := time.Now()
		if exited(pid) {
			t.Logf("%s ended %v after the stop", what, look.Sub(since).Round(time.Millisecond))
			return
		}
		if look.Sub(since) > limit {
			t.Errorf("%s (pid %d) still running %v after the stop", what, pid, limit)
			for !exited(pid) && time.Since(since) < limit+30*time.Second {
				time.Sleep(50 * time.Millisecond)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// childOf returns a child of parent for which match(cmdline, comm) holds,
// or 0.
func childOf(parent int, match func(cmdline, comm string) bool) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		_, ppid, comm, ok := procStat(pid)
		if !ok || ppid != parent {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if match(strings.ReplaceAll(string(cmdline), "\x00", " "), comm) {
			return pid
		}
	}
	return 0
}

// capturePid is the pid of the vmdump --capture process tshark started.
func (ts *tshark) capturePid(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if pid := childOf(ts.cmd.Process.Pid, func(cmdline, _ string) bool {
			return strings.Contains(cmdline, "--capture")
		}); pid != 0 {
			return pid
		}
		select {
		case <-ts.done:
			t.Fatalf("tshark ended before its vmdump --capture was seen; stderr:\n%s", ts.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("tshark started no vmdump --capture within 30s; stderr:\n%s", ts.stderr.String())
	return 0
}

// dumpcapPid is the pid of tshark's dumpcap, 0 when there is none.
func (ts *tshark) dumpcapPid() int {
	return childOf(ts.cmd.Process.Pid, func(_, comm string) bool { return comm == "dumpcap" })
}

// extcapError returns what tshark relayed of vmdump's stderr, and whether
// there was any. tshark prints "tshark: Error by extcap pipe: " + the
// extcap's whole stderr + "\n", so the text ends at the first empty line
// (vmdump's own lines end in a newline).
func extcapError(tsharkStderr string) (string, bool) {
	const prefix = "Error by extcap pipe: "
	i := strings.Index(tsharkStderr, prefix)
	if i < 0 {
		return "", false
	}
	text := tsharkStderr[i+len(prefix):]
	if end := strings.Index(text, "\n\n"); end >= 0 {
		text = text[:end+1]
	}
	return text, true
}

// checkOneLineError fails t unless stderr (vmdump's own, or what tshark
// relayed of it) is exactly one line "vmdump: ..." holding every want, and
// shows no Go panic.
func checkOneLineError(t *testing.T, stderr string, want ...string) string {
	t.Helper()
	checkNoPanic(t, stderr)
	msg := strings.TrimRight(stderr, "\n")
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "vmdump: ") {
		t.Errorf("want one line \"vmdump: ...\", got:\n%s", shorten(stderr, 2000))
		return msg
	}
	// Wireshark shows the first 1024 bytes of an extcap's stderr: a
	// clear error fits.
	if len(msg) > 1024 {
		t.Errorf("the error is %d bytes long, more than the 1024 Wireshark shows:\n%s", len(msg), shorten(msg, 1500))
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("the error lacks %q:\n%s", w, shorten(msg, 2000))
		}
	}
	return msg
}

// checkTsharkOneLineError is checkOneLineError for vmdump's error as tshark
// shows it.
func checkTsharkOneLineError(t *testing.T, ts *tshark, want ...string) string {
	t.Helper()
	relayed, ok := extcapError(ts.stderr.String())
	if !ok {
		t.Errorf("tshark shows no error from vmdump; stderr:\n%s", shorten(ts.stderr.String(), 2000))
		return ""
	}
	return checkOneLineError(t, relayed, want...)
}

// checkNoPanic fails t when output shows a Go panic or a goroutine dump.
func checkNoPanic(t *testing.T, output string) {
	t.Helper()
	if strings.Contains(output, "panic:") || strings.Contains(output, "goroutine ") {
		t.Errorf("vmdump panicked:\n%s", shorten(output, 4000))
	}
}

// shorten cuts s to at most n bytes for a message.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... (%d bytes)", len(s))
}

// stampedBuffer is a stderr that remembers when the first byte came.
type stampedBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	first time.Time
}

func (s *stampedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first.IsZero() && len(p) > 0 {
		s.first = time.Now()
	}
	return s.b.Write(p)
}

func (s *stampedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *stampedBuffer) firstWrite() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

// directCapture is vmdump run the way Wireshark runs it, without Wireshark:
// a FIFO, a reader process copying it into a file (as dumpcap would), and
// `vmdump --capture --extcap-interface <id> --fifo <fifo>` with the user's
// environment, in its own process group, stdin /dev/null, no terminal.
type directCapture struct {
	cmd    *exec.Cmd
	reader *exec.Cmd
	out    string // what the reader copied out of the FIFO
	stdout bytes.Buffer
	stderr stampedBuffer
	done   chan struct{} // closed when vmdump has exited
	err    error         // vmdump's exit status, once done
	rdone  chan struct{} // closed when the reader has exited
}

// startDirect starts a direct capture of u's VM with more vmdump arguments.
func (u *user) startDirect(t *testing.T, args ...string) *directCapture {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	d := &directCapture{out: filepath.Join(dir, "out.pcapng"), done: make(chan struct{}), rdone: make(chan struct{})}
	outFile, err := os.Create(d.out)
	if err != nil {
		t.Fatal(err)
	}
	d.reader = exec.Command("cat", fifo)
	d.reader.Stdout = outFile
	if err := d.reader.Start(); err != nil {
		t.Fatal(err)
	}
	outFile.Close()
	go func() { d.reader.Wait(); close(d.rdone) }()

	argv := append([]string{"--capture", "--extcap-interface", u.vmID, "--fifo", fifo}, args...)
	d.cmd = exec.Command(vmdumpBin, argv...)
	d.cmd.Env = u.env
	d.cmd.Stdout, d.cmd.Stderr = &d.stdout, &d.stderr
	// Its own session: no controlling terminal to prompt on, and no
	// signal from the test's terminal.
	d.cmd.SysProcAttr = ownSession()
	if err := d.cmd.Start(); err != nil {
		d.reader.Process.Kill()
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		for _, c := range []struct {
			p    *os.Process
			done chan struct{}
		}{{d.cmd.Process, d.done}, {d.reader.Process, d.rdone}} {
			select {
			case <-c.done:
			default:
				c.p.Kill()
				<-c.done
			}
		}
	})
	return d
}

// wait waits for vmdump to end by itself and for the reader to see EOF.
func (d *directCapture) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(limit):
		t.Fatalf("vmdump still running after %v; stderr:\n%s", limit, shorten(d.stderr.String(), 2000))
	}
	select {
	case <-d.rdone:
	case <-time.After(10 * time.Second):
		t.Fatalf("the FIFO reader did not see EOF within 10s of vmdump's exit")
	}
}

func (d *directCapture) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// exitCode is vmdump's exit status (-1 when killed by a signal).
func (d *directCapture) exitCode() int {
	<-d.done
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		return ee.ExitCode()
	}
	if d.err != nil {
		return -1
	}
	return 0
}

// waitDirectCapture waits until tcpdump runs in the VM for a direct
// capture, then gives it a moment to open its socket (synchronisation only).
func (u *user) waitDirectCapture(t *testing.T, d *directCapture) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if len(tcpdumpsInVM(u.lab)) > 0 {
			time.Sleep(500 * time.Millisecond)
			return
		}
		select {
		case <-d.done:
			t.Fatalf("vmdump ended before the capture started; stderr:\n%s", shorten(d.stderr.String(), 2000))
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no tcpdump started in the VM within 30s; vmdump stderr:\n%s", shorten(d.stderr.String(), 2000))
}

// newPlainUser is a home directory with only vmdump's config.toml (and
// known_hosts with the lab's host key): enough for vmdump run directly, no
// `vmdump install` (no Wireshark involved). vmID is the first [[vm]]'s id
// when the config lists one that vmdump accepts.
func newPlainUser(t *testing.T, l *lab.Lab, config string) *user {
	t.Helper()
	home := t.TempDir()
	u := &user{t: t, home: home, lab: l}
	u.env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	writeFile(t, filepath.Join(home, ".config", "vmdump", "config.toml"), config)
	if l != nil {
		writeFile(t, filepath.Join(home, ".ssh", "known_hosts"), l.HostKeyLine()+"\n")
	}
	return u
}

// labID is the Wireshark interface of the [[vm]] named "lab" (labVM).
const labID = "vmdump_cfg_lab"

// labVM is the [[vm]] entry naming the lab VM as the config provider sees
// it, capturing container 1's veth.
func labVM(l *lab.Lab, name string) vmConfig {
	return vmConfig{Name: name, Host: l.VMAddr, Port: l.SSHPort, User: l.User, Key: l.KeyFile, Interface: l.ContainerVeth(1)}
}

// loopbackVM is the lab VM reached through its loopback forward, its host
// key pinned per VM as for a VM manager's NAT port.
func loopbackVM(l *lab.Lab, name string) vmConfig {
	return vmConfig{Name: name, Host: "127.0.0.1", Port: l.ForwardPort, User: l.User, Key: l.KeyFile, Interface: l.ContainerVeth(1), HostKey: "pin"}
}

// configTOML renders config.toml: top-level lines, then one [[vm]] table
// per VM. Values are TOML strings, so even NUL and newlines can be written.
func configTOML(top string, vms ...vmConfig) string {
	var b strings.Builder
	b.WriteString(top)
	for _, vm := range vms {
		b.WriteString("\n[[vm]]\n")
		for _, kv := range [][2]string{{"name", vm.Name}, {"host", vm.Host}, {"user", vm.User}, {"key", vm.Key}, {"interface", vm.Interface}, {"host_key", vm.HostKey}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "%s = %s\n", kv[0], tomlString(kv[1]))
			}
		}
		if vm.Port != 0 {
			fmt.Fprintf(&b, "port = %d\n", vm.Port)
		}
	}
	return b.String()
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writeConfig replaces u's config.toml and, when the first VM is named,
// looks its id up again.
func (u *user) writeConfig(t *testing.T, config string, manager, name string) {
	t.Helper()
	writeFile(t, filepath.Join(u.home, ".config", "vmdump", "config.toml"), config)
	if name != "" {
		u.vmID = u.idOf(manager, name)
	}
}

// pinnedKeysFile is vmdump's file of host keys pinned per VM.
func (u *user) pinnedKeysFile() string {
	return filepath.Join(u.home, ".config", "vmdump", "known_hosts")
}

// markerDir is a directory anyone may write to (an injected command runs as
// the lab user, not root, and the lab shares this machine's file system),
// for files that must never appear.
func markerDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vmdump-marker-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// vmdumpRun runs vmdump with args in u's environment (stdin /dev/null, no
// terminal), with a time limit, and returns stdout, stderr and exit code.
func (u *user) vmdumpRun(t *testing.T, limit time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(vmdumpBin, args...)
	cmd.Env = u.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = ownSession()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("vmdump %s did not finish within %v (hangs)", shorten(strings.Join(args, " "), 200), limit)
	}
	return out.String(), errb.String(), code
}
