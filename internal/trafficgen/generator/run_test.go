package generator

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/trafficgen/payload"
)

// startServer runs the echo server on a loopback port until the test ends.
func startServer(t *testing.T) *echoServer {
	t.Helper()
	srv, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv
}

func TestSendCountsEchoes(t *testing.T) {
	addr := startServer(t).Addr().String()
	cases := []struct {
		name string
		cfg  sendConfig
	}{
		{"tcp", sendConfig{Count: 5, Size: 64}},
		{"tcp header only", sendConfig{Count: 3, Size: payload.HeaderLen}},
		{"tcp paced", sendConfig{Count: 3, Size: 100, Interval: time.Millisecond}},
		{"udp", sendConfig{Count: 4, Size: 64, UDP: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Addr = addr
			c.cfg.EchoTimeout = 5 * time.Second
			sum, err := send(context.Background(), c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Sent != c.cfg.Count || sum.Echoed != c.cfg.Count {
				t.Fatalf("summary %+v, want %d sent and echoed", sum, c.cfg.Count)
			}
		})
	}
}

func TestSendUntilStopped(t *testing.T) {
	srv := startServer(t)
	addr := srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Summary, 1)
	go func() {
		sum, err := send(ctx, sendConfig{Addr: addr, Size: 32, Interval: time.Millisecond, EchoTimeout: time.Minute})
		if err != nil {
			t.Errorf("send: %v", err)
		}
		done <- sum
	}()
	// Let some messages through, then stop as SIGTERM would. The server
	// echoes message 3 only after the client read echo 2.
	for srv.echoes.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	sum := <-done
	if sum.Echoed < 2 || sum.Echoed > sum.Sent || sum.Sent-sum.Echoed > 1 {
		t.Fatalf("summary after stop %+v: want some messages, all but the last echoed", sum)
	}
}

// The server must echo each segment as is, and the message must carry the
// documented header.
func TestEchoCarriesHeader(t *testing.T) {
	addr := startServer(t).Addr().String()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := make([]byte, 40)
	sent := time.Now()
	payload.Encode(msg, sent, 7)
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(got); err != nil {
		t.Fatal(err)
	}
	when, seq, ok := payload.Decode(got)
	if !ok || seq != 7 || !when.Equal(time.Unix(0, sent.UnixNano())) {
		t.Fatalf("echo decodes to %v %d %v", when, seq, ok)
	}
}

func TestRunArguments(t *testing.T) {
	addr := startServer(t).Addr().String()
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // JSON summary expected on stdout, "" for none
		wantErr  string
	}{
		{"no command", nil, 2, "", "missing command"},
		{"unknown command", []string{"flood"}, 2, "", "unknown command"},
		{"missing addr", []string{"send"}, 1, `{"sent":0,"echoed":0}`, "-addr"},
		{"size below header", []string{"send", "-addr", addr, "-size", "19"}, 1, `{"sent":0,"echoed":0}`, "header"},
		{"negative count", []string{"send", "-addr", addr, "-n", "-1"}, 1, `{"sent":0,"echoed":0}`, "-n -1"},
		{"bad flag", []string{"send", "-bogus"}, 2, "", "bogus"},
		{"two messages", []string{"send", "-addr", addr, "-n", "2"}, 0, `{"sent":2,"echoed":2}`, ""},
		{"two datagrams", []string{"send", "-udp", "-addr", addr, "-n", "2"}, 0, `{"sent":2,"echoed":2}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run("trafficgen", c.args, &stdout, &stderr)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.wantCode, stderr.String())
			}
			if got := strings.TrimSpace(stdout.String()); got != c.wantOut {
				t.Errorf("stdout %q, want %q", got, c.wantOut)
			}
			if c.wantOut != "" {
				var sum Summary
				if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
					t.Errorf("stdout is not a summary: %v", err)
				}
			}
			if !strings.Contains(stderr.String(), c.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), c.wantErr)
			}
		})
	}
}
