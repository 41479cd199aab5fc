package vmtest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/vmdump/vmdump/vmctl"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const sshdPath = "/usr/sbin/sshd"

type SSHD struct {
	Port     int
	dir      string
	HostKeys map[string]ssh.PublicKey // by ssh-keygen type: "ed25519", "ecdsa"
	Client   Key                      // authorized for root
	cmd      *exec.Cmd
	log      *SyncBuffer
}

type SSHDOptions struct {
	HostKeyTypes []string // default ed25519
	extraConfig  string
	Authorized   []Key // in addition to the generated client key
}

// requireSSHD skips (fails under CI) unless a real sshd can run here.
func requireSSHD(t *testing.T) {
	t.Helper()
	var why string
	switch {
	case os.Getuid() != 0:
		why = "needs root to run sshd and log in as root"
	default:
		if _, err := os.Stat(sshdPath); err != nil {
			why = "sshd not installed"
		} else if _, err := exec.LookPath("ssh-keygen"); err != nil {
			why = "ssh-keygen not installed"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("integration test cannot run: %s (CI must provide it)", why)
	}
	t.Skip(why)
}

func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func StartSSHD(t *testing.T, o SSHDOptions) *SSHD {
	t.Helper()
	requireSSHD(t)
	// sshd refuses to start without its privilege separation directory,
	// which only the distribution's service unit creates.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &SSHD{dir: dir, HostKeys: map[string]ssh.PublicKey{}, log: &SyncBuffer{}}
	if len(o.HostKeyTypes) == 0 {
		o.HostKeyTypes = []string{"ed25519"}
	}
	var cfg strings.Builder
	for _, typ := range o.HostKeyTypes {
		path := filepath.Join(dir, "host_"+typ)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
		pubText, err := os.ReadFile(path + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey(pubText)
		if err != nil {
			t.Fatal(err)
		}
		s.HostKeys[typ] = pub
		fmt.Fprintf(&cfg, "HostKey %s\n", path)
	}
	s.Client = NewKeyFile(t, dir, "client_key", "")
	var auth strings.Builder
	for _, k := range append([]Key{s.Client}, o.Authorized...) {
		auth.Write(ssh.MarshalAuthorizedKey(k.Pub))
	}
	authFile := WriteFile(t, filepath.Join(dir, "authorized_keys"), auth.String())
	fmt.Fprintf(&cfg, `ListenAddress 127.0.0.1
PidFile none
UsePAM no
StrictModes no
AuthorizedKeysFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
AllowTcpForwarding yes
MaxSessions 50
MaxStartups 50
LogLevel VERBOSE
%s
`, authFile, o.extraConfig)
	cfgFile := WriteFile(t, filepath.Join(dir, "sshd_config"), cfg.String())

	s.Port = FreePort(t)
	s.cmd = exec.Command(sshdPath, "-D", "-e", "-f", cfgFile, "-p", strconv.Itoa(s.Port))
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM) // the listener we started, by pid
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.log)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			banner, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(banner, "SSH-2.0-") {
				return s
			}
		}
		select {
		case <-exited:
			t.Fatalf("sshd exited: %s", s.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not come up: %s", s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *SSHD) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// knownHostsLine is the known_hosts line for this server's key of typ.
func (s *SSHD) KnownHostsLine(typ string) string {
	return knownhosts.Line([]string{s.Addr()}, s.HostKeys[typ])
}

// testHome is an empty home directory for one test: no ~/.ssh/config,
// known_hosts or keys unless the test writes them; no ssh-agent.
func Home(t *testing.T) string {
	t.Helper()
	t.Setenv("SSH_AUTH_SOCK", "")
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	return home
}

// Proxy forwards 127.0.0.1:port to a target and can freeze the link (no
// byte passes either way, no connection closes: a link that went down) or
// cut every connection (the client host vanished).
type Proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
	conns  []net.Conn
}

func StartProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{l: l, target: target, thaw: make(chan struct{})}
	t.Cleanup(func() { p.Cut(); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go p.pipe(c, u)
			go p.pipe(u, c)
		}
	}()
	return p
}

func (p *Proxy) Port() int { return p.l.Addr().(*net.TCPAddr).Port }

func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen, thaw := p.frozen, p.thaw
			p.mu.Unlock()
			if frozen {
				<-thaw
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}
			return
		}
	}
}

func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	if p.frozen {
		close(p.thaw)
		p.frozen = false
		p.thaw = make(chan struct{})
	}
}

type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or fails after a generous bound.
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitNone polls left until it lists nothing, or fails within with
// "what: [what is left]" (a leak check, not a speed check).
func WaitNone(t *testing.T, within time.Duration, what string, left func() []string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		l := left()
		if len(l) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q", what, l)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func NeedRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root (it captures on lo); CI must run it as root")
		}
		t.Skip("needs root to capture on lo")
	}
}

// decodePcap parses a classic pcap byte stream (tcpdump -w -, this
// machine's byte order). A partial last packet is tolerated unless complete
// is set. (Read by hand: gopacket's pcapgo would pull golang.org/x/net into
// the module.)
func DecodePcap(t *testing.T, stream string, complete bool) []gopacket.Packet {
	t.Helper()
	b := []byte(stream)
	if len(b) < 24 {
		return nil
	}
	var order binary.ByteOrder = binary.LittleEndian
	nanos := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nanos = true
	case 0xd4c3b2a1:
		order = binary.BigEndian
	case 0x4d3cb2a1:
		order, nanos = binary.BigEndian, true
	default:
		t.Fatalf("not pcap: % x", b[:4])
	}
	link := layers.LinkType(order.Uint32(b[20:24]))
	var out []gopacket.Packet
	for b = b[24:]; len(b) > 0; {
		if len(b) < 16 || len(b) < 16+int(order.Uint32(b[8:12])) {
			if complete {
				t.Fatalf("pcap stream ends inside a packet (%d bytes left)", len(b))
			}
			return out
		}
		n := int(order.Uint32(b[8:12]))
		frac := time.Duration(order.Uint32(b[4:8]))
		if !nanos {
			frac *= time.Microsecond
		}
		pk := gopacket.NewPacket(b[16:16+n], link, gopacket.Default)
		pk.Metadata().Timestamp = time.Unix(int64(order.Uint32(b[0:4])), int64(frac))
		out = append(out, pk)
		b = b[16+n:]
	}
	return out
}

// VMFor is a plain (non-loopback) VM at this sshd with its client key.
func (s *SSHD) VMFor(name string) vmctl.VM {
	return vmctl.VM{ID: name, Manager: "test", Name: name, Host: "127.0.0.1", Port: s.Port, User: "root", KeyFiles: []string{s.Client.Path}}
}

// KnownHosts writes home's ~/.ssh/known_hosts with this server's ed25519
// key and returns its path.
func (s *SSHD) KnownHosts(t *testing.T, home string) string {
	t.Helper()
	return WriteFile(t, filepath.Join(home, ".ssh", "known_hosts"), s.KnownHostsLine("ed25519")+"\n")
}
