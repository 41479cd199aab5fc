package sshconn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kevinburke/ssh_config"
	"github.com/vmdump/vmdump/vmctl"
	"golang.org/x/crypto/ssh"
)

// DialOptions are the user's SSH settings for one capture. Empty fields mean
// "not set here": the VM's own fields, then ~/.ssh/config, then defaults apply.
type DialOptions struct {
	User          string // overrides VM.User and ~/.ssh/config
	Port          int    // overrides VM.Port and ~/.ssh/config
	KeyFile       string // tried before every other key
	Password      string // offered as password and keyboard-interactive; never logged
	KeyPassphrase string // for encrypted key files; never logged
	// KnownHostsFile is the user's known_hosts (default ~/.ssh/known_hosts).
	// When it is empty or that default, ~/.ssh/config's UserKnownHostsFile
	// for the host, if any, is used instead, as OpenSSH would.
	KnownHostsFile string
	// PinnedKeysFile is vmdump's own file of host keys pinned per VM
	// (Loopback VMs). Default: <user config dir>/vmdump/known_hosts.
	PinnedKeysFile string
	// AcceptNew records an unknown host's key in KnownHostsFile instead of
	// refusing it (OpenSSH's StrictHostKeyChecking=accept-new). A changed
	// key is refused regardless.
	AcceptNew bool
	// SSHConfigFile is the ssh client config to apply (default
	// ~/.ssh/config; none when Home is unknown too).
	SSHConfigFile string
	Home          string // the user's home ("" → os.UserHomeDir)
	// Timeout bounds TCP connect + SSH handshake + login of each hop
	// (default 10s).
	Timeout time.Duration
	// Keepalive is the interval of keepalive@openssh.com requests; a
	// request still unanswered three intervals after it was sent marks the
	// link lost (default 4s: a dead link is noticed 12-16 s after it went
	// down, within the 20 s vmdump promises).
	Keepalive time.Duration
	Log       *slog.Logger // nil: discard
	// Slow, when set, hears once per hop that the hop is not logged in
	// after 2 s, and what it is still waiting for ("VM lab at
	// 127.0.0.1:2222 accepted the connection but sent no SSH greeting in
	// 2 s ..."); the same line is logged as a warning either way. It is
	// called from another goroutine, never after Dial has returned.
	Slow func(msg string)
}

// defaultKeepalive is DialOptions.Keepalive's default. The link may go down
// just after an answer: the next request goes out up to one interval later
// and is given three more, so loss is noticed 3-4 intervals after it
// happened.
const defaultKeepalive = 4 * time.Second

func (o DialOptions) withDefaults() DialOptions {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Keepalive <= 0 {
		o.Keepalive = defaultKeepalive
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Home == "" {
		o.Home, _ = os.UserHomeDir()
	}
	if o.SSHConfigFile == "" && o.Home != "" {
		o.SSHConfigFile = filepath.Join(o.Home, ".ssh", "config")
	}
	if o.PinnedKeysFile == "" {
		if dir, err := os.UserConfigDir(); err == nil {
			o.PinnedKeysFile = filepath.Join(dir, "vmdump", "known_hosts")
		}
	}
	return o
}

func (o DialOptions) defaultKnownHosts() string {
	if o.Home == "" {
		return ""
	}
	return filepath.Join(o.Home, ".ssh", "known_hosts")
}

// Conn is an SSH connection to a VM (through its jump hosts, if any), kept
// alive and watched: Dead tells the capture when the link is gone even
// though no packet flows. For a VM with Exec it is instead the local
// command that reaches the VM (transport_exec.go): no link to watch, each
// session a local process whose end ends the stream.
type Conn struct {
	Client *ssh.Client    // nil for the exec transport
	exec   *execTransport // nil for SSH
	jumps  []*ssh.Client  // outermost first; closed after client
	vm     vmctl.VM
	label  string // "VM default" for messages
	log    *slog.Logger

	dead      chan struct{}
	deadOnce  sync.Once
	deadWhy   string // why the link was lost; set before dead is closed
	closed    chan struct{}
	closeOnce sync.Once
}

// Dial connects and logs in to vm. Settings are taken, first set wins, from
// opt, the VM's fields, ~/.ssh/config for vm.Host, then defaults (port 22,
// the local user). Every error is one line saying what to do.
func Dial(ctx context.Context, vm vmctl.VM, opt DialOptions) (*Conn, error) {
	opt = opt.withDefaults()
	label := "VM " + cmp.Or(vm.Name, vm.Host)
	if len(vm.Exec) > 0 {
		return dialExec(vm, label, opt.Log)
	}
	if vm.Host == "" {
		return nil, fmt.Errorf("%s has no SSH address", label)
	}
	localUser := localUserName()
	cfg := loadUserSSHConfig(opt.SSHConfigFile, opt.Log)

	t := resolveSSHConfig(cfg, vm.Host, opt.Home, localUser)
	if vm.Loopback {
		// A manager's forward on this machine: never renamed or relayed
		// by a Host * block meant for remote machines.
		t.HostName, t.ProxyJump, t.ProxyCommand = vm.Host, "", ""
	}
	if vm.Port > 0 {
		t.Port = vm.Port
	}
	if opt.Port > 0 {
		t.Port = opt.Port
	}
	if vm.User != "" {
		t.User = vm.User
	}
	if opt.User != "" {
		t.User = opt.User
	}
	if vm.ProxyJump != "" {
		t.ProxyJump = vm.ProxyJump
	}
	hops, err := parseProxyJump(t.ProxyJump)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", label, err)
	}

	d := &dialer{opt: opt, cfg: cfg, localUser: localUser, vmLabel: label}
	var jumps []*ssh.Client
	closeJumps := func() {
		for i := len(jumps) - 1; i >= 0; i-- {
			_ = jumps[i].Close()
		}
	}
	var via *ssh.Client
	for _, h := range hops {
		ht := resolveSSHConfig(cfg, h.Host, opt.Home, localUser)
		if h.User != "" {
			ht.User = h.User
		}
		if h.Port > 0 {
			ht.Port = h.Port
		}
		hopLabel := fmt.Sprintf("jump host %s (for %s)", h.Host, label)
		c, err := d.connect(ctx, via, ht, hopLabel, d.hopAuth(ht), d.knownHostsFor(ht))
		if err != nil {
			closeJumps()
			return nil, err
		}
		jumps = append(jumps, c)
		via = c
	}

	var hk func() (hostKeyCheck, error)
	if vm.Loopback {
		hk = func() (hostKeyCheck, error) {
			if opt.PinnedKeysFile == "" {
				return hostKeyCheck{}, errors.New("no file to pin the VM's host key in (no user config directory)")
			}
			return pinnedHostKeyCheck(opt.PinnedKeysFile, vm.Manager, vm.Name, opt.Log)
		}
	} else {
		hk = d.knownHostsFor(t)
	}
	explicit := []string{}
	if opt.KeyFile != "" {
		explicit = append(explicit, sshTokens{home: opt.Home}.expand(opt.KeyFile))
	}
	for _, k := range vm.KeyFiles {
		explicit = append(explicit, sshTokens{home: opt.Home}.expand(k))
	}
	explicit = append(explicit, t.IdentityFiles...)
	auth := authInput{
		Explicit:       explicit,
		Defaults:       defaultKeyFiles(opt.Home),
		IdentitiesOnly: t.IdentitiesOnly,
		UseAgent:       true,
		Password:       opt.Password,
		Passphrase:     opt.KeyPassphrase,
	}
	client, err := d.connect(ctx, via, t, label, auth, hk)
	if err != nil {
		closeJumps()
		return nil, err
	}
	opt.Log.Debug("ssh connected", "vm", vm.ID, "addr", t.Addr(), "user", t.User, "jumps", len(jumps))
	c := &Conn{
		Client: client,
		jumps:  jumps,
		vm:     vm,
		label:  label,
		log:    opt.Log,
		dead:   make(chan struct{}),
		closed: make(chan struct{}),
	}
	go c.watch(opt.Keepalive)
	return c, nil
}

// Close ends the connection and its jump hosts (exec: kills the local
// processes still running). It does not close Dead.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		if c.exec != nil {
			c.exec.closeAll()
			return
		}
		err = c.Client.Close()
		for i := len(c.jumps) - 1; i >= 0; i-- {
			_ = c.jumps[i].Close()
		}
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

// Dead is closed when the link to the VM is lost: a keepalive went
// unanswered for three intervals (12-16 s after the link went down with the
// default interval) or the SSH transport ended without Close. The connection is then closed, so every
// read on it ends too. Close itself never closes Dead. Over the exec
// transport Dead never closes: there is no link apart from the session's
// own process, and its end already ends the capture's stream.
func (c *Conn) Dead() <-chan struct{} { return c.dead }

// DeadReason says, once Dead is closed, how the link was lost: "no answer
// to 3 keepalives" (the VM or the network went silent) or "the SSH
// connection ended" (sshd or the VM closed it); "" before.
func (c *Conn) DeadReason() string {
	select {
	case <-c.dead:
		return c.deadWhy
	default:
		return ""
	}
}

func (c *Conn) markDead(reason string) {
	select {
	case <-c.closed:
		return
	default:
	}
	c.deadOnce.Do(func() {
		c.log.Warn("ssh link lost", "vm", c.vm.ID, "reason", reason)
		c.deadWhy = reason
		close(c.dead)
	})
	_ = c.Client.Close()
}

// watch sends keepalive@openssh.com every interval, one at a time, and marks
// the connection dead after three intervals without an answer. Any answer
// counts (OpenSSH replies "failure" to this request name): it proves the
// link and the server are alive.
func (c *Conn) watch(interval time.Duration) {
	ended := make(chan struct{})
	go func() {
		_ = c.Client.Wait()
		close(ended)
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	replies := make(chan error, 1)
	pending, missed := false, 0
	for {
		select {
		case <-c.closed:
			return
		case <-ended:
			c.markDead("the SSH connection ended")
			return
		case err := <-replies:
			pending = false
			if err != nil {
				c.markDead("keepalive failed: " + err.Error())
				return
			}
			missed = 0
		case <-tick.C:
			if pending {
				missed++
				if missed >= 3 {
					c.markDead(fmt.Sprintf("no answer to %d keepalives", missed))
					return
				}
				continue
			}
			pending = true
			go func() {
				_, _, err := c.Client.SendRequest("keepalive@openssh.com", true, nil)
				replies <- err
			}()
		}
	}
}

// dialer holds what every hop of one Dial shares.
type dialer struct {
	opt       DialOptions
	cfg       *ssh_config.Config
	localUser string
	vmLabel   string
}

// hopAuth is the login for a jump host: keys and agent, never the VM's
// password (it was typed for the VM, not for a bastion).
func (d *dialer) hopAuth(t sshTarget) authInput {
	explicit := []string{}
	if d.opt.KeyFile != "" {
		explicit = append(explicit, sshTokens{home: d.opt.Home}.expand(d.opt.KeyFile))
	}
	return authInput{
		Explicit:       append(explicit, t.IdentityFiles...),
		Defaults:       defaultKeyFiles(d.opt.Home),
		IdentitiesOnly: t.IdentitiesOnly,
		UseAgent:       true,
		Passphrase:     d.opt.KeyPassphrase,
	}
}

// knownHostsFor returns the known_hosts check for a non-loopback target.
// The user's file is the dialog's, else ~/.ssh/config's UserKnownHostsFile,
// else ~/.ssh/known_hosts; /etc/ssh/ssh_known_hosts is read as well.
// StrictHostKeyChecking accept-new (or no) in ~/.ssh/config for the host
// turns on accept-new, never acceptance of a changed key.
func (d *dialer) knownHostsFor(t sshTarget) func() (hostKeyCheck, error) {
	return func() (hostKeyCheck, error) {
		def := d.opt.defaultKnownHosts()
		files := []string{d.opt.KnownHostsFile}
		if d.opt.KnownHostsFile == "" || (def != "" && filepath.Clean(d.opt.KnownHostsFile) == filepath.Clean(def)) {
			files = []string{def}
			if len(t.KnownHostsFiles) > 0 {
				files = t.KnownHostsFiles
			}
		}
		kc := knownHostsConfig{
			WriteFile: files[0],
			AcceptNew: d.opt.AcceptNew || t.StrictHostKeyChecking == "accept-new" || t.StrictHostKeyChecking == "no" || t.StrictHostKeyChecking == "off",
		}
		kc.Files = append(append(kc.Files, files...), systemKnownHosts)
		return knownHostsCheck(kc, t.Addr(), d.opt.Log)
	}
}

// connect opens one SSH client to t, directly or through via, within
// opt.Timeout, and words any failure for the user.
func (d *dialer) connect(ctx context.Context, via *ssh.Client, t sshTarget, label string, in authInput, hostKey func() (hostKeyCheck, error)) (*ssh.Client, error) {
	hk, err := hostKey()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", label, err)
	}
	hctx, cancel := context.WithTimeout(ctx, d.opt.Timeout)
	defer cancel()
	deadline, _ := hctx.Deadline()
	in.Deadline = deadline
	plan := buildAuth(in, d.opt.Log)
	defer plan.close()

	addr := t.Addr()
	where := fmt.Sprintf("%s at %s", label, addr)
	prog := newDialProgress(via != nil, t.User)
	defer d.hintWhenSlow(prog, where)()
	var conn net.Conn
	if via == nil {
		conn, err = (&net.Dialer{}).DialContext(hctx, "tcp", addr)
	} else {
		conn, err = via.DialContext(hctx, "tcp", addr)
	}
	if err != nil {
		return nil, dialError(ctx, hctx, stageConnect, label, t, err, plan, hk, d.opt.Timeout, prog)
	}
	prog.set(waitGreeting)
	conn = progressConn{Conn: conn, p: prog}
	stop := context.AfterFunc(hctx, func() { _ = conn.Close() })
	config := &ssh.ClientConfig{
		User: t.User,
		Auth: plan.methods,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			prog.set(waitKex) // a greeting the watch missed cannot be missing
			if err := hk.callback(hostname, remote, key); err != nil {
				return err
			}
			prog.set(waitAuth)
			return nil
		},
		HostKeyAlgorithms: hk.algorithms,
		ClientVersion:     "SSH-2.0-vmdump",
		Timeout:           d.opt.Timeout,
	}
	config.Ciphers = preferredCiphers()
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	if !stop() {
		// The timeout or the caller's cancel closed the connection
		// under the handshake; whatever err says, that is the cause.
		if sc != nil {
			_ = sc.Close()
		}
		_ = conn.Close()
		if err == nil {
			err = hctx.Err()
		}
		return nil, dialError(ctx, hctx, stageHandshake, label, t, err, plan, hk, d.opt.Timeout, prog)
	}
	if err != nil {
		_ = conn.Close()
		return nil, dialError(ctx, hctx, stageHandshake, label, t, err, plan, hk, d.opt.Timeout, prog)
	}
	prog.set(waitDone)
	return ssh.NewClient(sc, chans, reqs), nil
}

// hintWhenSlow says, once, what the hop is still waiting for when its login
// takes longer than slowHint: in the log, and to DialOptions.Slow (the
// capture's status bar), so that even a capture stopped before the login
// timeout has shown why no packet comes. The returned func ends the watch
// and returns only once no hint can be given any more.
func (d *dialer) hintWhenSlow(prog *dialProgress, where string) func() {
	var mu sync.Mutex
	over := false
	timer := time.AfterFunc(slowHint, func() {
		mu.Lock()
		defer mu.Unlock()
		if over {
			return
		}
		prog.mu.Lock()
		done := prog.step == waitDone
		prog.mu.Unlock()
		if done {
			return
		}
		msg := "still connecting: " + prog.waiting(where, time.Since(prog.start))
		d.opt.Log.Warn("slow login", "msg", msg)
		if d.opt.Slow != nil {
			d.opt.Slow(msg)
		}
	})
	return func() {
		timer.Stop()
		mu.Lock()
		over = true
		mu.Unlock()
	}
}

func localUserName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		name := u.Username
		if i := strings.LastIndexByte(name, '\\'); i >= 0 { // Windows DOMAIN\user
			name = name[i+1:]
		}
		return name
	}
	return cmp.Or(os.Getenv("USER"), os.Getenv("USERNAME"))
}

// VM is the VM this connection reaches.
func (c *Conn) VM() vmctl.VM { return c.vm }

// Label names the VM in messages ("VM default").
func (c *Conn) Label() string { return c.label }

// Log is the logger the connection's users log to.
func (c *Conn) Log() *slog.Logger { return c.log }

// Closed is closed once Close was called.
func (c *Conn) Closed() <-chan struct{} { return c.closed }
