package remotecap

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// StartAll starts one remote capture per spec, each in its own session
// over the same connection (one tcpdump per interface: each keeps its own
// link type and its own drop counters, which `tcpdump -i any` would merge).
// The captures are returned in the order of specs. If one cannot start, the
// ones already started are stopped and the error says which interface
// failed. Two specs for the same interface in the same namespace are
// refused; specs may capture in different container namespaces (Netns).
//
// sshd limits the sessions of one connection (OpenSSH's MaxSessions, 10 by
// default), which bounds how many interfaces one capture can take.
func StartAll(ctx context.Context, c *sshconn.Conn, specs []CaptureSpec, p probe.Probe) ([]*RemoteCapture, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("no capture interface given: set the remote interface in the options dialog")
	}
	// The link names the namespace: two processes of one container are
	// one namespace.
	type key struct{ iface, netns string }
	seen := make(map[key]bool, len(specs))
	for _, s := range specs {
		k := key{s.Interface, s.Netns.Link}
		if seen[k] {
			return nil, fmt.Errorf("interface %s is listed twice: capture each interface once", s.where())
		}
		seen[k] = true
	}
	// One upload of the capture agent serves every interface.
	specs, agent, err := prepareAgent(ctx, c, specs, p)
	if err != nil {
		return nil, err
	}
	if agent != nil {
		defer agent.release() // each capture holds its own reference
	}
	caps := make([]*RemoteCapture, 0, len(specs))
	for _, s := range specs {
		r, err := Start(ctx, c, s, p)
		if err != nil {
			for _, started := range caps {
				_ = started.Stop()
			}
			if len(specs) > 1 {
				err = multiStartError(c.Label(), s, len(caps), err)
			}
			return nil, err
		}
		caps = append(caps, r)
	}
	return caps, nil
}

// multiStartError names the interface that failed, and explains sshd's
// refusal of one more session.
func multiStartError(vm string, s CaptureSpec, started int, err error) error {
	if strings.Contains(err.Error(), "administratively prohibited") || strings.Contains(err.Error(), "open failed") {
		return fmt.Errorf("%s refused a session for interface %s after %d others (sshd's MaxSessions): capture fewer interfaces at once, or raise MaxSessions in the VM's sshd_config", vm, s.where(), started)
	}
	return fmt.Errorf("interface %s: %w", s.where(), err)
}
