package sshconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/vmdump/vmdump/internal/oneline"

	"github.com/vmdump/vmdump/internal/lazyre"
)

type dialStage int

const (
	stageConnect   dialStage = iota // TCP (or the jump host's direct-tcpip channel)
	stageHandshake                  // SSH key exchange, host key, login
)

var peerOffered = lazyre.New(`peer offered: \[([^\]]*)\]`)

// StoppedError is Dial's error when its context ended (a capture's stop,
// the caller's deadline) before the login was done. Waiting says, for the
// user, what Dial was still waiting for; the error wraps the context's, so
// errors.Is(err, context.Canceled) tells a stop.
type StoppedError struct {
	Waiting string // e.g. "VM lab at 127.0.0.1:2222 accepted the connection but sent no SSH greeting in 5 s"
	Err     error  // the context's error
}

func (e *StoppedError) Error() string { return e.Waiting }
func (e *StoppedError) Unwrap() error { return e.Err }

// slowHint is how long one hop may take before Dial says what it waits for
// (DialOptions.Slow): a login normally takes well under a second, and the
// user of a short capture deserves the reason before the capture ends.
var slowHint = 2 * time.Second

// waitStep is the step of one hop's login that is under way.
type waitStep int

const (
	waitTCP      waitStep = iota // TCP connect (or the jump host's direct-tcpip channel)
	waitGreeting                 // connected; the server's "SSH-2.0-..." line has not come
	waitKex                      // greeting received; key exchange and host key check
	waitAuth                     // host key accepted; authentication
	waitDone
)

// dialProgress follows one hop's login as it goes (the connection's reads,
// the host key callback), so that a stop or a timeout can say what was
// still missing. Safe for concurrent use: the slow-hint timer reads it.
type dialProgress struct {
	start time.Time
	via   bool // through a jump host
	user  string

	mu       sync.Mutex
	step     waitStep
	line     []byte // the server's line being read before the greeting
	other    string // the first line that was not an SSH greeting
	greeting string
}

func newDialProgress(via bool, user string) *dialProgress {
	return &dialProgress{start: time.Now(), via: via, user: user}
}

func (p *dialProgress) set(s waitStep) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s > p.step {
		p.step = s
	}
}

// read watches what the server sent until its greeting line has come.
func (p *dialProgress) read(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.step != waitGreeting {
		return
	}
	for _, c := range b {
		if c != '\n' {
			if len(p.line) < 255 {
				p.line = append(p.line, c)
			}
			continue
		}
		line := strings.TrimSuffix(string(p.line), "\r")
		p.line = p.line[:0]
		if strings.HasPrefix(line, "SSH-") {
			p.greeting = line
			p.step = waitKex
			return
		}
		if p.other == "" {
			p.other = line
		}
	}
}

// waiting says what the hop was still waiting for after d, e.g. "VM lab
// at 127.0.0.1:2222 accepted the connection but sent no SSH greeting in
// 5 s".
func (p *dialProgress) waiting(where string, d time.Duration) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := seconds(d)
	switch p.step {
	case waitTCP:
		if p.via {
			return fmt.Sprintf("the jump host had not opened the connection to %s in %s", where, in)
		}
		return fmt.Sprintf("%s did not answer the TCP connection in %s — is the VM running and the address right?", where, in)
	case waitGreeting:
		sent := p.other
		if sent == "" && len(p.line) > 0 {
			sent = string(p.line)
		}
		if sent != "" {
			return fmt.Sprintf("%s accepted the connection but sent no SSH greeting in %s (it sent %s) — is this port an SSH server?", where, in, quoteSent(sent))
		}
		return fmt.Sprintf("%s accepted the connection but sent no SSH greeting in %s — is this port an SSH server, or is the VM still booting?", where, in)
	case waitKex:
		return fmt.Sprintf("%s sent its SSH greeting (%s) but the key exchange did not finish in %s", where, quoteSent(p.greeting), in)
	default:
		return fmt.Sprintf("logging in to %s as %s did not finish in %s (host key accepted, authentication pending)", where, ClipValue(p.user), in)
	}
}

// quoteSent quotes text the server sent for a message: clipped, and
// anything unprintable escaped.
func quoteSent(s string) string {
	const most = 60
	if len(s) > most {
		cut := most
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strconv.Quote(strings.ToValidUTF8(s, "?"))
}

// seconds words a wait for the user: "0.4 s", "2.5 s", "10 s".
func seconds(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
	s := strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " s"
}

// progressConn is the hop's connection, showing what it reads to its
// dialProgress.
type progressConn struct {
	net.Conn
	p *dialProgress
}

func (c progressConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.p.read(b[:n])
	}
	return n, err
}

// dialError turns a failed connect or handshake into one line that says what
// went wrong and what to do. ctx is the caller's context: when it ended
// (the capture is being stopped) the error is a *StoppedError saying what
// was still pending, which wraps ctx's error so that the caller can stay
// quiet.
func dialError(ctx, hctx context.Context, stage dialStage, label string, t sshTarget, err error, plan *authPlan, hk hostKeyCheck, timeout time.Duration, prog *dialProgress) error {
	where := fmt.Sprintf("%s at %s", label, t.Addr())
	if ctx.Err() != nil {
		return &StoppedError{Waiting: prog.waiting(where, time.Since(prog.start)), Err: ctx.Err()}
	}
	var hke *hostKeyError
	if errors.As(err, &hke) {
		return hke
	}
	msg := err.Error()
	lower := strings.ToLower(msg)
	proxyNote := ""
	if t.ProxyCommand != "" {
		proxyNote = fmt.Sprintf(" (~/.ssh/config sets a ProxyCommand for %s, which vmdump does not run: use ProxyJump instead)", t.Alias)
	}
	timedOut := errors.Is(hctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || isNetTimeout(err)

	switch {
	case strings.Contains(lower, "no common algorithm for host key") && hk.noCommonAlgorithm != nil:
		offered := ""
		if m := peerOffered().FindStringSubmatch(msg); m != nil {
			offered = strings.ReplaceAll(m[1], `"`, "")
		}
		return hk.noCommonAlgorithm(offered)
	case strings.Contains(lower, "unable to authenticate"):
		return fmt.Errorf("cannot log in to %s as %s: the server accepted none of the credentials: %s", where, ClipValue(t.User), plan.failureSummary())
	case strings.Contains(lower, "too many authentication failures"):
		return fmt.Errorf("cannot log in to %s as %s: the server gave up after too many rejected keys (MaxAuthTries); %s; set the VM's key file in the options dialog", where, ClipValue(t.User), plan.failureSummary())
	case timedOut && stage == stageConnect:
		return fmt.Errorf("cannot reach %s: no answer within %s — is the VM running and the address right?%s", where, timeout, proxyNote)
	case timedOut:
		return fmt.Errorf("%s%s", prog.waiting(where, timeout), proxyNote)
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(lower, "connection refused") || strings.Contains(lower, "actively refused"):
		return fmt.Errorf("cannot reach %s: connection refused — is the VM running?%s", where, proxyNote)
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("cannot reach %s: cannot resolve %s (%s) — check the host name%s", where, t.HostName, dnsErr.Err, proxyNote)
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) || strings.Contains(lower, "no route to host") || strings.Contains(lower, "network is unreachable"):
		return fmt.Errorf("cannot reach %s: no route to the host — is the VM running and its network up?%s", where, proxyNote)
	case stage == stageHandshake && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || strings.Contains(lower, "connection reset")):
		return fmt.Errorf("%s closed the connection before SSH login — is the VM still booting, or is this port not an SSH server?%s", where, proxyNote)
	case stage == stageConnect && strings.Contains(lower, "administratively prohibited"):
		return fmt.Errorf("cannot reach %s: the jump host refused to forward the connection (AllowTcpForwarding?)", where)
	case stage == stageConnect:
		return fmt.Errorf("cannot reach %s: %s%s", where, oneline.Err(err), proxyNote)
	}
	return fmt.Errorf("SSH to %s failed: %s%s", where, strings.TrimPrefix(oneline.Err(err), "ssh: handshake failed: "), proxyNote)
}

// clipValue shortens a value the user typed (a user name, a key path) for
// an error message: a 100 KB "user name" must not become a 100 KB line, of
// which Wireshark would show the first KiB.
func ClipValue(s string) string {
	const most = 80
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:cut], len(s))
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
