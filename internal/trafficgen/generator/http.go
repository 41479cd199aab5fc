package generator

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// httpUserAgent names the demo's client in every request, so that a
// capture shows where the traffic comes from.
const httpUserAgent = "vmdump-demo/1"

// httpHandler answers every GET with a small JSON document about the
// "order" named by the path's last element, so that each request and
// response differs and a capture reads like an application's traffic.
func httpHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET here", http.StatusMethodNotAllowed)
		return
	}
	id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if id == "" {
		id = "0"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Server", "vmdump-demo")
	json.NewEncoder(w).Encode(map[string]string{"order": id, "status": "shipped", "served_by": "container 2"})
}

// listenHTTP binds addr and returns the server and its listener.
func listenHTTP(addr string) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on tcp %s: %w", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(httpHandler), ReadHeaderTimeout: 10 * time.Second}
	return srv, ln, nil
}

// serveHTTP serves on ln until ctx ends.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	})
	defer stop()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
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
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.Timeout}
	start := time.Now()
	for i := 0; cfg.Count == 0 || i < cfg.Count; i++ {
		if !sleepUntil(ctx, start.Add(time.Duration(i)*cfg.Interval)) {
			return sum, nil
		}
		path := strings.ReplaceAll(cfg.Path, "%d", strconv.Itoa(i))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+cfg.Addr+path, nil)
		if err != nil {
			return sum, err
		}
		req.Header.Set("User-Agent", httpUserAgent)
		sum.Sent++
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return sum, nil
			}
			return sum, fmt.Errorf("request %d: %w", i, err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			sum.Echoed++
		}
	}
	return sum, nil
}
