package generator

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// httpUserAgent names the demo's client in every request, so that a
// capture shows where the traffic comes from.
const httpUserAgent = "vmdump-demo/1"

// The demo speaks plain HTTP/1.1 with a few lines of its own rather than
// through net/http: this package is linked into vmdump (vmdump
// demo-traffic), and net/http with its TLS, HTTP/2 and compression would
// add about a tenth of a millisecond to every vmdump start, including the
// interface listing Wireshark waits for (BENCHMARKS.md, P1). The tests
// check it against net/http's client and server.

// httpServer answers GET requests on every connection it accepts until
// it is shut down.
type httpServer struct {
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

// httpAnswer is the response to one request line: a small JSON document
// about the "order" named by the path's last element for GET and HEAD, so
// that each request and response differs and a capture reads like an
// application's traffic; 405 otherwise.
func httpAnswer(method, target string) (status string, header []string, body []byte) {
	if method != "GET" && method != "HEAD" {
		return "405 Method Not Allowed", []string{"Allow: GET, HEAD", "Content-Type: text/plain; charset=utf-8"}, []byte("only GET here\n")
	}
	path, _, _ := strings.Cut(target, "?")
	id := path[strings.LastIndexByte(path, '/')+1:]
	if id == "" {
		id = "0"
	}
	body, _ = json.Marshal(map[string]string{"order": id, "status": "shipped", "served_by": "container 2"})
	body = append(body, '\n')
	if method == "HEAD" {
		return "200 OK", []string{"Content-Type: application/json", "Server: vmdump-demo", "Content-Length: " + strconv.Itoa(len(body))}, nil
	}
	return "200 OK", []string{"Content-Type: application/json", "Server: vmdump-demo"}, body
}

// listenHTTP binds addr and returns the server and its listener.
func listenHTTP(addr string) (*httpServer, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on tcp %s: %w", addr, err)
	}
	return &httpServer{conns: map[net.Conn]bool{}}, ln, nil
}

// serveHTTP serves on ln until ctx ends; then it closes the listener and
// every connection.
func serveHTTP(ctx context.Context, srv *httpServer, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		srv.mu.Lock()
		srv.closed = true
		for c := range srv.conns {
			c.Close()
		}
		srv.mu.Unlock()
		ln.Close()
	})
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		srv.mu.Lock()
		if srv.closed {
			srv.mu.Unlock()
			c.Close()
			return nil
		}
		srv.conns[c] = true
		srv.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.serveConn(c)
			srv.mu.Lock()
			delete(srv.conns, c)
			srv.mu.Unlock()
			c.Close()
		}()
	}
}

// serveConn answers the requests of one kept-alive connection.
func (srv *httpServer) serveConn(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		method, target, keepAlive, err := readHTTPRequest(r)
		if err != nil {
			if err != io.EOF {
				c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			}
			return
		}
		status, header, body := httpAnswer(method, target)
		var b strings.Builder
		b.WriteString("HTTP/1.1 " + status + "\r\n")
		for _, h := range header {
			b.WriteString(h + "\r\n")
		}
		if method != "HEAD" {
			b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
		}
		if !keepAlive {
			b.WriteString("Connection: close\r\n")
		}
		b.WriteString("\r\n")
		b.Write(body)
		if _, err := io.WriteString(c, b.String()); err != nil || !keepAlive {
			return
		}
	}
}

// readHTTPRequest reads one request: its line, its header and any body
// (discarded; only Content-Length bodies are understood).
func readHTTPRequest(r *bufio.Reader) (method, target string, keepAlive bool, err error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if line == "" {
			return "", "", false, io.EOF
		}
		return "", "", false, err
	}
	parts := strings.Fields(line)
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return "", "", false, fmt.Errorf("not an HTTP/1 request line: %q", line)
	}
	method, target = parts[0], parts[1]
	keepAlive = parts[2] == "HTTP/1.1"
	length, err := readHTTPHeader(r, func(name, value string) {
		if name == "connection" {
			keepAlive = !strings.EqualFold(value, "close") && (keepAlive || strings.EqualFold(value, "keep-alive"))
		}
	})
	if err != nil {
		return "", "", false, err
	}
	if length > 0 {
		if _, err := io.CopyN(io.Discard, r, length); err != nil {
			return "", "", false, err
		}
	}
	return method, target, keepAlive, nil
}

// readHTTPHeader reads header lines up to the blank line, calling each
// with the lower-cased name, and returns the Content-Length (-1 if none).
func readHTTPHeader(r *bufio.Reader, each func(name, value string)) (int64, error) {
	length := int64(-1)
	for n := 0; ; n++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return length, nil
		}
		if n > 100 {
			return 0, errors.New("too many header lines")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return 0, fmt.Errorf("bad header line %q", line)
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if name == "content-length" {
			if length, err = strconv.ParseInt(value, 10, 64); err != nil || length < 0 || length > 1<<20 {
				return 0, fmt.Errorf("bad Content-Length %q", value)
			}
		}
		each(name, value)
	}
}

func runHTTPServe(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("http-serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":80", "TCP address to serve HTTP on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	srv, ln, err := listenHTTP(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	if err := serveHTTP(ctx, srv, ln); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// httpConfig is one run of the HTTP client.
type httpConfig struct {
	Addr     string        // server host:port
	Path     string        // request path; "%d" is replaced by the request number
	Count    int           // requests; 0 = until ctx ends
	Interval time.Duration // between the starts of two requests
	Timeout  time.Duration // per request
}

func runHTTPGet(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("http-get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg httpConfig
	fs.StringVar(&cfg.Addr, "addr", "", "server address host:port")
	fs.StringVar(&cfg.Path, "path", "/orders/%d", "request path; %d becomes the request number")
	fs.IntVar(&cfg.Count, "n", 1, "requests to make; 0 = until SIGTERM or SIGINT")
	fs.DurationVar(&cfg.Interval, "interval", time.Second, "time between the starts of two requests")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "how long to wait for each answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sum, err := httpGet(ctx, cfg)
	return report(name, sum, err, stdout, stderr)
}

// httpGet makes GET requests over one kept-alive connection on a fixed
// schedule, like send. Sent counts requests, Echoed answers with status 200.
func httpGet(ctx context.Context, cfg httpConfig) (Summary, error) {
	var sum Summary
	if cfg.Addr == "" {
		return sum, errors.New("http-get needs -addr host:port")
	}
	if !strings.HasPrefix(cfg.Path, "/") {
		return sum, fmt.Errorf("-path %q must start with /", cfg.Path)
	}
	if cfg.Count < 0 {
		return sum, fmt.Errorf("-n %d: must be 0 (until stopped) or more", cfg.Count)
	}
	var conn net.Conn
	var r *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	start := time.Now()
	for i := 0; cfg.Count == 0 || i < cfg.Count; i++ {
		if !sleepUntil(ctx, start.Add(time.Duration(i)*cfg.Interval)) {
			return sum, nil
		}
		path := strings.ReplaceAll(cfg.Path, "%d", strconv.Itoa(i))
		sum.Sent++
		status, err := func() (int, error) {
			if conn == nil {
				d := net.Dialer{Timeout: cfg.Timeout}
				c, err := d.DialContext(ctx, "tcp", cfg.Addr)
				if err != nil {
					return 0, err
				}
				conn, r = c, bufio.NewReader(c)
			}
			stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
			defer stop()
			if cfg.Timeout > 0 {
				conn.SetDeadline(time.Now().Add(cfg.Timeout))
			}
			req := "GET " + path + " HTTP/1.1\r\nHost: " + cfg.Addr + "\r\nUser-Agent: " + httpUserAgent + "\r\nAccept: */*\r\n\r\n"
			if _, err := io.WriteString(conn, req); err != nil {
				return 0, err
			}
			return readHTTPResponse(r)
		}()
		if err != nil {
			if conn != nil {
				conn.Close()
				conn = nil
			}
			if ctx.Err() != nil {
				return sum, nil
			}
			return sum, fmt.Errorf("request %d: %w", i, err)
		}
		if status == 200 {
			sum.Echoed++
		}
	}
	return sum, nil
}

// readHTTPResponse reads one response to a GET and returns its status
// code. The body must have a Content-Length (the demo's server and
// net/http's both send one for small bodies).
func readHTTPResponse(r *bufio.Reader) (int, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	parts := strings.Fields(line)
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "HTTP/1.") {
		return 0, fmt.Errorf("not an HTTP/1 status line: %q", line)
	}
	status, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0, fmt.Errorf("bad status %q", parts[1])
	}
	length, err := readHTTPHeader(r, func(string, string) {})
	if err != nil {
		return 0, err
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	if _, err := io.CopyN(io.Discard, r, length); err != nil {
		return 0, err
	}
	return status, nil
}
