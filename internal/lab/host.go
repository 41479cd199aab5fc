package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Host is the machine's own root namespace made into a "Docker VM" that
// vmdump reaches the way it reaches any VM: an sshd of the lab's kind
// (config, host key and authorized key of its own, the shared user vmdlab)
// listening on 127.0.0.1:<free port> in the root network and mount
// namespaces, where the machine's real Docker engine runs. vmdlab gets
// passwordless sudo there through a sudoers file of the host's own in
// /etc/sudoers.d (the root namespace has no /etc/netns overlay), so
// `ssh -p PORT vmdlab@127.0.0.1 sudo -n docker ps` works. Close kills sshd
// (by pid, with what its sessions still run) and removes the file and the
// host's directory; the next lab or host built on the machine reaps those
// of a dead process (reap.go).
type Host struct {
	Name    string // vmd<pid>h<seq>: names the directory and the sudoers file
	Addr    string // 127.0.0.1
	Port    int    // sshd's port, picked free
	User    string // vmdlab
	KeyFile string // client private key (ed25519, no passphrase) authorized for User
	Dir     string // keys, sshd_config, sshd.log, known_hosts

	// BuildTime is how long NewHost took.
	BuildTime time.Duration

	sudoers    string // the host's /etc/sudoers.d file, once written
	hostKeyPub string
	sshd       *proc

	mu     sync.Mutex
	closed bool
}

// HostOptions choose what a Host offers beyond the default.
type HostOptions struct {
	// Env is set in every SSH session (sshd's SetEnv), "NAME=value" each,
	// e.g. the HOME and XDG_RUNTIME_DIR of a rootless container engine, as
	// a login with a session manager would have them. Values must not
	// contain white space or quotes.
	Env []string
	// SSHDConfig lines are appended to the host's sshd_config.
	SSHDConfig []string
}

// hostSudoersPrefix names the sudoers files of hosts:
// /etc/sudoers.d/vmdump-host-<pid>-<seq> (no dot: sudo skips such names).
const hostSudoersPrefix = "vmdump-host-"

// StartHost builds a Host for a test and closes it when the test ends. Like
// Start, it skips when the machine cannot host it, except under CI.
func StartHost(t testing.TB, opt HostOptions) *Host {
	t.Helper()
	return startForTest(t, "host", func() (*Host, error) { return NewHost(opt) })
}

// NewHost builds a Host; on failure it has torn down what it built. The
// caller must Close it.
func NewHost(opt HostOptions) (*Host, error) {
	if err := checkPrereqs(Options{}); err != nil {
		return nil, err
	}
	for _, kv := range opt.Env {
		if !strings.Contains(kv, "=") || strings.ContainsAny(kv, " \t\n\"'") {
			return nil, fmt.Errorf("host: Env entry %q is not NAME=value without blanks or quotes", kv)
		}
	}
	begin := time.Now()
	h := &Host{Addr: "127.0.0.1", User: labUser}
	if err := h.build(opt); err != nil {
		if cerr := h.Close(); cerr != nil {
			err = fmt.Errorf("%w; teardown after the failure: %v", err, cerr)
		}
		return nil, fmt.Errorf("build host: %w", err)
	}
	h.BuildTime = time.Since(begin)
	return h, nil
}

func (h *Host) build(opt HostOptions) error {
	release, err := labLock()
	if err != nil {
		return err
	}
	_ = reapStale()
	err = ensureUser()
	release()
	if err != nil {
		return err
	}
	seq := labSeq.Add(1)
	h.Name = fmt.Sprintf("vmd%dh%d", os.Getpid(), seq)
	dir, err := os.MkdirTemp("", h.Name+"-")
	if err != nil {
		return err
	}
	h.Dir = dir
	if err := os.Chmod(dir, 0o755); err != nil { // vmdlab reads authorized_keys here
		return err
	}
	if err := h.writeSudoers(seq); err != nil {
		return err
	}
	hostKey, authorized, err := makeSSHKeys(dir, "vmdump-host-"+h.Name)
	if err != nil {
		return err
	}
	h.KeyFile = filepath.Join(dir, "id_ed25519")
	if h.hostKeyPub, err = readPublicKey(hostKey + ".pub"); err != nil {
		return err
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	// A port that is free now; should another process take it before sshd
	// binds, sshd exits and the next port is tried.
	var lastErr error
	for range 5 {
		port, err := freeLoopbackPort()
		if err != nil {
			return err
		}
		h.Port = port
		if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(h.KnownHostsLine()+"\n"), 0o644); err != nil {
			return err
		}
		if lastErr = h.startSSHD(hostKey, authorized, opt); lastErr == nil {
			return nil
		}
		if h.sshd != nil && !h.sshd.exited() {
			return lastErr
		}
		h.sshd = nil
	}
	return lastErr
}

func (h *Host) writeSudoers(seq int64) error {
	final := filepath.Join(sudoersDir, fmt.Sprintf("%s%d-%d", hostSudoersPrefix, os.Getpid(), seq))
	tmp := filepath.Join(sudoersDir, "."+filepath.Base(final)+".tmp")
	body := fmt.Sprintf("%s%s\n%s ALL=(ALL) NOPASSWD: ALL\n", sudoersHeader, h.Name, h.User)
	if err := os.MkdirAll(sudoersDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, []byte(body), 0o440); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o440); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	h.sudoers = final
	return nil
}

func (h *Host) startSSHD(hostKey, authorized string, opt HostOptions) error {
	lines := []string{
		"# vmdump host " + h.Name,
		fmt.Sprintf("ListenAddress %s:%d", h.Addr, h.Port),
		"HostKey " + hostKey,
		"PidFile none",
		"UsePAM no",
		"PermitRootLogin no",
		"AllowUsers " + h.User,
		"PubkeyAuthentication yes",
		"AuthorizedKeysFile " + authorized,
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"StrictModes no",
		"UseDNS no",
		"PrintMotd no",
		"PrintLastLog no",
		"Subsystem sftp internal-sftp",
	}
	if len(opt.Env) > 0 {
		lines = append(lines, "SetEnv "+strings.Join(opt.Env, " "))
	}
	lines = append(lines, opt.SSHDConfig...)
	config := filepath.Join(h.Dir, "sshd_config")
	if err := os.WriteFile(config, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(h.Dir, "sshd.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", config)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = processAttrs()
	started := make(chan error)
	go func() { started <- cmd.Start() }() // see Lab.start: an unlocked thread for Pdeathsig
	if err := <-started; err != nil {
		return fmt.Errorf("start sshd: %w", err)
	}
	p := &proc{name: "sshd", cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	h.sshd = p
	return waitListening(p, h.Addr, h.Port, h.SSHDLog)
}

// Close kills sshd and every process still below it (SSH sessions and what
// they run), then removes the sudoers file and the directory. It is safe to
// call more than once and on a half-built Host.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	var errs []error
	if h.sshd != nil {
		if !h.sshd.exited() {
			parent, _ := processTable()
			below := descendants(h.sshd.cmd.Process.Pid, parent)
			h.sshd.cmd.Process.Kill()
			for _, pid := range below {
				killPid(pid)
			}
		}
		errs = append(errs, h.sshd.waitExit(5*time.Second))
	}
	if h.sudoers != "" {
		if err := os.Remove(h.sudoers); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if h.Dir != "" {
		errs = append(errs, os.RemoveAll(h.Dir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	return nil
}

// KnownHostsLine is the known_hosts line for the host's sshd,
// "[127.0.0.1]:PORT ssh-ed25519 AAAA…".
func (h *Host) KnownHostsLine() string {
	return fmt.Sprintf("[%s]:%d %s", h.Addr, h.Port, h.hostKeyPub)
}

// SSHDLog returns what sshd logged so far (it runs with -e).
func (h *Host) SSHDLog() string {
	b, _ := os.ReadFile(filepath.Join(h.Dir, "sshd.log"))
	return string(b)
}

// SSHDPid is the listening sshd's pid.
func (h *Host) SSHDPid() int { return h.sshd.cmd.Process.Pid }

// Sessions describes every process below the listening sshd: the
// per-connection sshds and whatever the sessions run (shell, sudo,
// nsenter, tcpdump, ...), while they are still its descendants.
func (h *Host) Sessions() []Proc {
	parent, _ := processTable()
	var out []Proc
	for _, pid := range descendants(h.SSHDPid(), parent) {
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// SSH runs a command on the host through its sshd with the OpenSSH client,
// as vmdlab with the host's key and known_hosts, and returns its stdout;
// the error carries its stderr.
func (h *Host) SSH(command string) ([]byte, error) {
	return run("ssh", "-F", "none", "-i", h.KeyFile, "-p", strconv.Itoa(h.Port),
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+filepath.Join(h.Dir, "known_hosts"),
		"-o", "ConnectTimeout=10",
		h.User+"@"+h.Addr, command)
}
