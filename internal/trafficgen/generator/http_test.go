package generator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// startHTTP serves on a loopback port until the test ends.
func startHTTP(t *testing.T) string {
	t.Helper()
	srv, ln, err := listenHTTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, srv, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveHTTP: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestHTTPServerAnswersJSON(t *testing.T) {
	addr := startHTTP(t)
	tests := []struct {
		method, path string
		status       int
		order        string
	}{
		{http.MethodGet, "/orders/42", 200, "42"},
		{http.MethodGet, "/", 200, "0"},
		{http.MethodPost, "/orders/1", 405, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, "http://"+addr+tt.path, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.order == "" {
			continue
		}
		var doc map[string]string
		if err := json.Unmarshal(body, &doc); err != nil || doc["order"] != tt.order {
			t.Errorf("%s %s: body %q, want order %q", tt.method, tt.path, body, tt.order)
		}
	}
}

func TestHTTPGetCounts(t *testing.T) {
	addr := startHTTP(t)
	sum, err := httpGet(context.Background(), httpConfig{Addr: addr, Path: "/orders/%d", Count: 4, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 4 || sum.Echoed != 4 {
		t.Fatalf("summary %+v, want 4 requests answered", sum)
	}
	// Without a server a request is counted as sent, not answered.
	sum, err = httpGet(context.Background(), httpConfig{Addr: "127.0.0.1:1", Path: "/", Count: 1, Timeout: time.Second})
	if err == nil || sum.Sent != 1 || sum.Echoed != 0 {
		t.Fatalf("no server: summary %+v, err %v; want 1 sent, 0 answered and an error", sum, err)
	}
}

func TestHTTPGetUntilStopped(t *testing.T) {
	addr := startHTTP(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Summary, 1)
	go func() {
		sum, err := httpGet(ctx, httpConfig{Addr: addr, Path: "/x", Interval: time.Millisecond, Timeout: time.Minute})
		if err != nil {
			t.Errorf("httpGet: %v", err)
		}
		done <- sum
	}()
	time.Sleep(50 * time.Millisecond) // let some requests through; nothing is asserted about time
	cancel()
	if sum := <-done; sum.Sent == 0 || sum.Echoed > sum.Sent {
		t.Fatalf("summary after stop %+v", sum)
	}
}

func TestHTTPArguments(t *testing.T) {
	addr := startHTTP(t)
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"missing addr", []string{"http-get"}, 1, `{"sent":0,"echoed":0}`, "-addr"},
		{"relative path", []string{"http-get", "-addr", addr, "-path", "x"}, 1, `{"sent":0,"echoed":0}`, "start with /"},
		{"negative count", []string{"http-get", "-addr", addr, "-n", "-2"}, 1, `{"sent":0,"echoed":0}`, "-n -2"},
		{"bad flag", []string{"http-serve", "-bogus"}, 2, "", "bogus"},
		{"port taken", []string{"http-serve", "-addr", addr}, 1, "", "listen"},
		{"two requests", []string{"http-get", "-addr", addr, "-n", "2", "-interval", "0s"}, 0, `{"sent":2,"echoed":2}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run("tg", c.args, &stdout, &stderr)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.wantCode, stderr.String())
			}
			if got := strings.TrimSpace(stdout.String()); got != c.wantOut {
				t.Errorf("stdout %q, want %q", got, c.wantOut)
			}
			if !strings.Contains(stderr.String(), c.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), c.wantErr)
			}
		})
	}
}

// The demo's own client must work against a real HTTP/1.1 server (net/http's),
// request after request over one connection.
func TestHTTPGetAgainstNetHTTP(t *testing.T) {
	var agents, paths []string
	var conns int
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agents = append(agents, r.UserAgent())
		paths = append(paths, r.URL.Path)
		w.Write([]byte(`{"ok":true}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns++
		}
	}
	srv.Start()
	defer srv.Close()
	sum, err := httpGet(context.Background(), httpConfig{Addr: srv.Listener.Addr().String(), Path: "/orders/%d", Count: 3, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 3 || sum.Echoed != 3 {
		t.Fatalf("summary %+v, want 3 answered", sum)
	}
	if strings.Join(paths, " ") != "/orders/0 /orders/1 /orders/2" || agents[0] != httpUserAgent || conns != 1 {
		t.Fatalf("server saw paths %v, agents %v over %d connections; want 3 requests by %s over 1", paths, agents, conns, httpUserAgent)
	}
}

// A HEAD answer has no body, and HTTP/1.0 without keep-alive is closed
// after one answer, as net/http's client expects.
func TestHTTPServerHeadAndClose(t *testing.T) {
	addr := startHTTP(t)
	resp, err := http.Head("http://" + addr + "/orders/7")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength <= 0 {
		t.Fatalf("HEAD: status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /orders/9 HTTP/1.0\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, err := io.ReadAll(c) // ends only if the server closes
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(all, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(all, []byte(`"order":"9"`)) {
		t.Fatalf("HTTP/1.0 answer %q", all)
	}
}
