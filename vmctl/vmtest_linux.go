package vmctl

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
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const sshdPath = "/usr/sbin/sshd"

type testSSHD struct {
	port     int
	dir      string
	hostKeys map[string]ssh.PublicKey // by ssh-keygen type: "ed25519", "ecdsa"
	client   testKey                  // authorized for root
	cmd      *exec.Cmd
	log      *syncBuffer
}

type sshdOptions struct {
	hostKeyTypes []string // default ed25519
	extraConfig  string
	authorized   []testKey // in addition to the generated client key
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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startSSHD(t *testing.T, o sshdOptions) *testSSHD {
	t.Helper()
	requireSSHD(t)
	// sshd refuses to start without its privilege separation directory,
	// which only the distribution's service unit creates.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &testSSHD{dir: dir, hostKeys: map[string]ssh.PublicKey{}, log: &syncBuffer{}}
	if len(o.hostKeyTypes) == 0 {
		o.hostKeyTypes = []string{"ed25519"}
	}
	var cfg strings.Builder
	for _, typ := range o.hostKeyTypes {
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
		s.hostKeys[typ] = pub
		fmt.Fprintf(&cfg, "HostKey %s\n", path)
	}
	s.client = newKeyFile(t, dir, "client_key", "")
	var auth strings.Builder
	for _, k := range append([]testKey{s.client}, o.authorized...) {
		auth.Write(ssh.MarshalAuthorizedKey(k.pub))
	}
	authFile := writeFile(t, filepath.Join(dir, "authorized_keys"), auth.String())
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
	cfgFile := writeFile(t, filepath.Join(dir, "sshd_config"), cfg.String())

	s.port = freePort(t)
	s.cmd = exec.Command(sshdPath, "-D", "-e", "-f", cfgFile, "-p", strconv.Itoa(s.port))
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
		if c, err := net.DialTimeout("tcp", s.addr(), time.Second); err == nil {
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

func (s *testSSHD) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// knownHostsLine is the known_hosts line for this server's key of typ.
func (s *testSSHD) knownHostsLine(typ string) string {
	return knownhosts.Line([]string{s.addr()}, s.hostKeys[typ])
}

// testHome is an empty home directory for one test: no ~/.ssh/config,
// known_hosts or keys unless the test writes them; no ssh-agent.
func testHome(t *testing.T) string {
	t.Helper()
	t.Setenv("SSH_AUTH_SOCK", "")
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	return home
}

// tcpProxy forwards 127.0.0.1:port to a target and can freeze the link (no
// byte passes either way, no connection closes: a link that went down) or
// cut every connection (the client host vanished).
type tcpProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l, target: target, thaw: make(chan struct{})}
	t.Cleanup(func() { p.cut(); l.Close() })
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

func (p *tcpProxy) port() int { return p.l.Addr().(*net.TCPAddr).Port }

func (p *tcpProxy) pipe(dst, src net.Conn) {
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

func (p *tcpProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

func (p *tcpProxy) cut() {
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or fails after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func needRoot(t *testing.T) {
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
func decodePcap(t *testing.T, stream string, complete bool) []gopacket.Packet {
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
