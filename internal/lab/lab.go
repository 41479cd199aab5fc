package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options choose what a lab offers beyond the default (key login only, no
// forwarder, /bin/sh).
type Options struct {
	// Forward starts a loopback forwarder 127.0.0.1:ForwardPort → VMAddr:22,
	// as VM managers' NAT does (socat in the root namespace).
	Forward bool
	// Password, when not empty, becomes the lab user's password (chpasswd;
	// the lab then has a user of its own, see user.go) and turns sshd's
	// PasswordAuthentication on.
	Password string
	// LoginShell is the lab user's shell: an absolute path ("/bin/sh" when
	// empty), or a busybox program and applet ("/bin/busybox ash"). Another
	// than /bin/sh gives the lab a user of its own, like Password.
	LoginShell string
	// SSHDConfig lines are appended to the lab's sshd_config, e.g.
	// "ClientAliveInterval 1".
	SSHDConfig []string
	// Trafficgen is the command that makes the lab's traffic, with any
	// leading arguments, e.g. {"/usr/local/bin/vmdump", "demo-traffic"}: a
	// binary that takes trafficgen's commands (package
	// internal/trafficgen/generator). Empty: internal/trafficgen is built
	// with the go command, which only works from a source checkout.
	Trafficgen []string
	// SudoNeedsPassword gives the lab user sudo only with a password
	// (no NOPASSWD), as on a VM whose image did not set passwordless sudo
	// up: `sudo -n` then refuses with "a password is required".
	SudoNeedsPassword bool
	// HideTcpdump makes tcpdump missing inside the VM, as on a VM image
	// without it: sshd, and so every session, runs in a private mount
	// namespace where each tcpdump binary on the host is covered by an
	// empty, non-executable file, which the lab's /bin/sh (dash) does not
	// find on PATH. The host's own tcpdump is untouched.
	HideTcpdump bool
	// FakeDocker, an executable's path, stands in for the docker command
	// inside the VM, as on a hostile VM whose engine says anything: sshd,
	// and so every session, runs in a private mount namespace where each
	// docker binary of the host is covered by a bind mount of it, and each
	// podman and nerdctl by an empty, non-executable file (so that only the
	// fake engine answers). It must be readable and executable by the lab
	// user (and root, through sudo). The host's own docker is untouched.
	FakeDocker string
}

// Lab is one running stand-in VM. Its fields are read-only facts.
type Lab struct {
	Namespace   string // the VM's network namespace, e.g. "vmd4711n1"
	Index       int    // N in the addresses below, 1…250
	HostVeth    string // host end of the VM's link, e.g. "vmdh1"
	HostAddr    string // address of HostVeth, 10.231.N.1
	VMAddr      string // the VM's eth1 address, 10.231.N.2; sshd listens here
	BridgeAddr  string // docker0's address in the VM, 172.31.N.1
	SSHPort     int    // 22
	ForwardPort int    // loopback port forwarded to VMAddr:22; 0 unless Options.Forward
	User        string // lab user: vmdlab, shared by labs (its own with a Password or LoginShell, see user.go); passwordless sudo
	Password    string // the user's password; "" unless Options.Password
	KeyFile     string // client private key (ed25519, no passphrase) authorized for User
	Dir         string // the lab's directory: keys, sshd_config, sshd.log

	// BuildTime is how long New took.
	BuildTime time.Duration

	containers [2]container
	namespaces []string // created namespaces, VM first
	fallback   string   // destination of the unreachable route this lab added
	etcDir     string   // the lab's /etc/netns/<namespace>, once made
	ownUser    bool     // User is this lab's own (a password or shell): deleted on Close
	sshd       *proc
	hostKeyPub string // "ssh-ed25519 AAAA…"

	serverMu sync.Mutex // one echo server start at a time

	mu        sync.Mutex
	closed    bool
	procs     []*proc
	server    *proc  // trafficgen echo server in c2
	generator string // trafficgen binary, once acquired
	// generatorCmd is Options.Trafficgen; when set, nothing is built.
	generatorCmd []string
}

type container struct {
	ns   string
	addr string
	veth string // VM-side end, veth + 7 hex
}

// Start builds a lab for a test and tears it down when the test ends. It
// skips the test when the machine cannot host a lab (not Linux, not root, a
// program missing), unless the environment variable CI is set: there it
// fails, so that CI never silently skips the end-to-end tests.
func Start(t testing.TB, opt Options) *Lab {
	t.Helper()
	return startForTest(t, "lab", func() (*Lab, error) { return New(opt) })
}

// startForTest builds something of this package for a test and closes it
// when the test ends: a *PrereqError skips the test, except under CI (CI
// set), where it fails like any other error.
func startForTest[T interface{ Close() error }](t testing.TB, what string, build func() (T, error)) T {
	t.Helper()
	v, err := build()
	if err != nil {
		var pe *PrereqError
		if errors.As(err, &pe) && os.Getenv("CI") == "" {
			t.Skipf("%v", err)
		}
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Errorf("%s teardown: %v", what, err)
		}
	})
	return v
}

// New builds a lab. On failure it has already torn down what it built. The
// caller must Close the lab. A *PrereqError means the machine cannot host
// labs at all.
func New(opt Options) (*Lab, error) {
	if err := checkPrereqs(opt); err != nil {
		return nil, err
	}
	begin := time.Now()
	l := &Lab{SSHPort: 22, generatorCmd: append([]string(nil), opt.Trafficgen...)}
	if err := l.build(opt); err != nil {
		if cerr := l.Close(); cerr != nil {
			err = fmt.Errorf("%w; teardown after the failure: %v", err, cerr)
		}
		return nil, fmt.Errorf("build lab: %w", err)
	}
	l.BuildTime = time.Since(begin)
	return l, nil
}

func (l *Lab) build(opt Options) error {
	if err := l.claim(opt); err != nil {
		return err
	}
	if err := l.buildNetwork(); err != nil {
		return err
	}
	if err := l.startSSHD(opt); err != nil {
		return err
	}
	if opt.Forward {
		return l.startForward()
	}
	return nil
}

// claim takes what is shared with other labs (index, host veth, the lab
// user) under labLock, after reaping the leftovers of dead labs.
func (l *Lab) claim(opt Options) error {
	release, err := labLock()
	if err != nil {
		return err
	}
	defer release()
	// A failed reap must not stop this lab; the next one tries again.
	_ = reapStale()
	if err := ensureUser(); err != nil {
		return err
	}

	ns, err := newNamespaceName()
	if err != nil {
		return err
	}
	for _, name := range []string{ns, ns + "c1", ns + "c2"} {
		if _, err := run("ip", "netns", "add", name); err != nil {
			return err
		}
		l.namespaces = append(l.namespaces, name)
	}
	l.Namespace = ns
	for i := range l.containers {
		l.containers[i] = container{ns: l.namespaces[1+i], veth: dockerVethName()}
	}

	n, err := claimIndex()
	if err != nil {
		return err
	}
	veth := fmt.Sprintf("%s%d", hostVethPrefix, n)
	if _, err := run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth1", "netns", ns); err != nil {
		return err
	}
	l.HostVeth = veth
	// The alias names the owner for the reaper.
	if _, err := run("ip", "link", "set", veth, "alias", ns); err != nil {
		return err
	}
	l.Index = n
	l.HostAddr = fmt.Sprintf("10.231.%d.1", n)
	l.VMAddr = fmt.Sprintf("10.231.%d.2", n)
	l.BridgeAddr = fmt.Sprintf("172.31.%d.1", n)
	for i := range l.containers {
		l.containers[i].addr = fmt.Sprintf("172.31.%d.%d", n, 2+i)
	}

	dir, err := os.MkdirTemp("", ns+"-")
	if err != nil {
		return err
	}
	l.Dir = dir
	// The lab user must reach authorized_keys and a busybox shell link here.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	shell, err := loginShell(opt.LoginShell, dir)
	if err != nil {
		return err
	}
	l.User = labUser
	l.Password = opt.Password
	if opt.Password != "" || shell != "/bin/sh" {
		l.User = ownUserName(ns)
		if err := setUpOwnUser(l.User, shell, opt.Password); err != nil {
			return err
		}
		l.ownUser = true
	}
	return l.writeEtc(!opt.SudoNeedsPassword)
}

// Close tears the lab down: every process it started and every process
// left in its namespaces is killed, then its etc directory (see user.go),
// veths, namespaces and directory are removed. It is safe to call more
// than once (later calls return nil) and on a half-built lab.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	procs := l.procs
	generator := l.generator
	l.mu.Unlock()

	var errs []error
	for _, p := range procs {
		p.cmd.Process.Kill()
	}
	for _, p := range procs {
		if err := p.waitExit(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if len(l.namespaces) > 0 {
		errs = append(errs, emptyNamespaces(l.namespaces))
	}
	if l.etcDir != "" {
		errs = append(errs, os.RemoveAll(l.etcDir))
	}
	if l.ownUser {
		// -f: its processes, all in the emptied namespaces, may still be
		// zombies waiting for their new parent.
		_, err := run("userdel", "-f", l.User)
		errs = append(errs, err)
	}
	if l.fallback != "" {
		_, err := run("ip", "route", "del", "unreachable", l.fallback, "metric", fallbackMetric)
		errs = append(errs, err)
	}
	if l.HostVeth != "" && exists(filepath.Join("/sys/class/net", l.HostVeth)) {
		_, err := run("ip", "link", "del", l.HostVeth)
		errs = append(errs, err)
	}
	for i := len(l.namespaces) - 1; i >= 0; i-- {
		if exists(filepath.Join(netnsDir, l.namespaces[i])) {
			_, err := run("ip", "netns", "del", l.namespaces[i])
			errs = append(errs, err)
		}
	}
	if l.Dir != "" {
		errs = append(errs, os.RemoveAll(l.Dir))
	}
	if generator != "" {
		releaseTrafficgen()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab %s: %w", l.Namespace, err)
	}
	return nil
}

// ContainerNS is the network namespace of container i (1 or 2).
func (l *Lab) ContainerNS(i int) string { return l.container(i).ns }

// ContainerAddr is container i's eth0 address (1 or 2).
func (l *Lab) ContainerAddr(i int) string { return l.container(i).addr }

// ContainerVeth is the VM-side veth of container i (1 or 2), named like
// Docker's ("veth" + 7 hex digits) and enslaved to docker0.
func (l *Lab) ContainerVeth(i int) string { return l.container(i).veth }

func (l *Lab) container(i int) container {
	if i < 1 || i > len(l.containers) {
		panic(fmt.Sprintf("lab: container %d does not exist; there are containers 1 and 2", i))
	}
	return l.containers[i-1]
}

// Exec runs a command inside the VM's namespace (as root, via ip netns exec)
// and returns its stdout; the error carries its stderr.
func (l *Lab) Exec(args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("lab: Exec needs a command")
	}
	return run("ip", append([]string{"netns", "exec", l.Namespace}, args...)...)
}

// PidsInVM lists the processes in the VM's namespace, as `ip netns pids`.
func (l *Lab) PidsInVM() []int {
	pids, _ := pidsInNamespace(l.Namespace)
	return pids
}

// ProcessesInVM describes the processes in the VM's namespace: sshd and
// whatever the SSH sessions run (a shell, sudo, tcpdump, ...). Processes
// that exit while it looks are left out.
func (l *Lab) ProcessesInVM() []Proc {
	var out []Proc
	for _, pid := range l.PidsInVM() {
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// SetLinkDown takes the host end of the VM's link down: the VM becomes
// unreachable and its packets to the host are dropped, like a suspended VM
// or a broken network. Nothing on either side is told (no RST, no ICMP):
// the host's packets for the VM meet an "unreachable" route, so an open
// connection just stops moving and a new one fails with "no route to host".
func (l *Lab) SetLinkDown() error {
	_, err := run("ip", "link", "set", l.HostVeth, "down")
	return err
}

// SetLinkUp undoes SetLinkDown.
func (l *Lab) SetLinkUp() error {
	_, err := run("ip", "link", "set", l.HostVeth, "up")
	return err
}

// SSHDLog returns what sshd logged so far (it runs with -e), for test
// failure messages.
func (l *Lab) SSHDLog() string {
	b, _ := os.ReadFile(filepath.Join(l.Dir, "sshd.log"))
	return string(b)
}

// proc is a long-running process the lab started.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when Wait returned
	err  error         // Wait's result, once done is closed
}

// start starts cmd, tied to this process's life (processAttrs), and keeps it
// for Close.
func (l *Lab) start(name string, cmd *exec.Cmd) (*proc, error) {
	cmd.SysProcAttr = processAttrs()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("lab is closed")
	}
	// The parent-death signal fires when the forking *thread* exits. A
	// caller's goroutine may be locked to a thread that ends with it; a
	// fresh goroutine runs on an unlocked thread, which Go keeps.
	started := make(chan error)
	go func() { started <- cmd.Start() }()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	l.procs = append(l.procs, p)
	return p, nil
}

// waitExit waits for a killed process to be reaped.
func (p *proc) waitExit(limit time.Duration) error {
	select {
	case <-p.done:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("%s (pid %d) did not exit within %v of SIGKILL", p.name, p.cmd.Process.Pid, limit)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// describe names a process and how it ended, with the tail of its log.
func describeExit(p *proc, log string) string {
	log = strings.TrimSpace(log)
	if i := strings.LastIndexByte(log, '\n'); i >= 0 {
		log = log[i+1:]
	}
	return fmt.Sprintf("%s exited (%v): %s", p.name, p.err, log)
}

func (l *Lab) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}
