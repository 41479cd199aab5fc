package sshconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
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

// dialError turns a failed connect or handshake into one line that says what
// went wrong and what to do. ctx is the caller's context: when it was
// cancelled the capture is being stopped, and the error wraps
// context.Canceled so that the caller can stay quiet.
func dialError(ctx, hctx context.Context, stage dialStage, label string, t sshTarget, err error, plan *authPlan, hk hostKeyCheck, timeout time.Duration) error {
	where := fmt.Sprintf("%s at %s", label, t.Addr())
	if ctx.Err() != nil {
		return fmt.Errorf("connecting to %s: %w", where, ctx.Err())
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
		return fmt.Errorf("%s accepted the connection but did not complete SSH login within %s — is the VM still booting?%s", where, timeout, proxyNote)
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
