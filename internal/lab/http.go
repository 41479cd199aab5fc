package lab

import (
	"fmt"
	"strings"
	"syscall"
	"time"
)

// HTTPPort is where StartHTTP's server listens in container 2.
const HTTPPort = 80

// StartHTTP starts HTTP traffic for people to watch (vmdump demo): a small
// HTTP server in container 2 and a client in container 1 that GETs
// /orders/<n> every interval over one kept-alive connection, until stop or
// Close. Unlike Send, its packets have no fixed shape; tests count Send's.
func (l *Lab) StartHTTP(interval time.Duration) (stop func() (Summary, error), err error) {
	if interval <= 0 {
		return nil, fmt.Errorf("lab: StartHTTP needs an interval above 0, got %v", interval)
	}
	l.serverMu.Lock()
	err = l.ensureGenerator()
	var server *proc
	if err == nil {
		server, err = l.startServer("http server", l.generatorCommand(2, "http-serve", "-addr", fmt.Sprintf(":%d", HTTPPort)))
	}
	l.serverMu.Unlock()
	if err != nil {
		return nil, err
	}
	out := &clientOutput{}
	cmd := l.generatorCommand(1, "http-get", "-addr", fmt.Sprintf("%s:%d", l.ContainerAddr(2), HTTPPort),
		"-n", "0", "-interval", interval.String())
	cmd.Stdout, cmd.Stderr = &out.stdout, &out.stderr
	client, err := l.start("http client", cmd)
	if err != nil {
		server.cmd.Process.Kill()
		return nil, err
	}
	return func() (Summary, error) {
		client.cmd.Process.Signal(syscall.SIGTERM)
		server.cmd.Process.Signal(syscall.SIGTERM)
		var errs []string
		for _, p := range []*proc{client, server} {
			if err := p.waitExit(10 * time.Second); err != nil {
				p.cmd.Process.Kill()
				<-p.done
				errs = append(errs, err.Error())
			}
		}
		sum, err := parseSummary(client, out)
		if err != nil {
			errs = append(errs, err.Error())
		}
		if len(errs) > 0 {
			return sum, fmt.Errorf("lab http traffic: %s", strings.Join(errs, "; "))
		}
		return sum, nil
	}, nil
}
