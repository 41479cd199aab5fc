// Command ctrapp is the one program of the container images that the
// end-to-end tests of container capture run (see internal/ctrlab): built
// static (CGO_ENABLED=0), it is the whole image, so no registry is needed.
// It runs any mix of these until SIGTERM or SIGINT, and never gives up on
// an error (a peer not up yet, a link not there yet): each failed request or
// datagram is only retried at the next tick.
//
//	ctrapp -tag web -http :80                    HTTP server ("ok <tag>")
//	ctrapp -tag br -echo :7007                   TCP and UDP echo server
//	ctrapp -tag db -get http://172.20.0.2/ -every 200ms
//	ctrapp -tag br -to 172.17.0.1:7007,127.0.0.1:7007 -every 100ms
//
// -to sends, at every tick and to each address, one UDP datagram and one
// message over a kept TCP connection (re-dialled after an error), each
// reading "vmdump-ctrapp <tag> <seq>\n", so that a capture can tell whose
// it is (frame contains "vmdump-ctrapp br "); the TCP message is a data
// segment, which a capture that keeps only TCP payload keeps too.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	tag := flag.String("tag", "ctrapp", "name put in answers and datagrams")
	httpAddr := flag.String("http", "", "serve HTTP on this address")
	echoAddr := flag.String("echo", "", "echo TCP streams and UDP datagrams on this address")
	get := flag.String("get", "", "GET this URL at every tick")
	udpTo := flag.String("to", "", "send a UDP datagram and a TCP message to each of these host:port (comma-separated) at every tick")
	every := flag.Duration("every", 100*time.Millisecond, "tick of -get and -udp-to")
	flag.Parse()
	if *httpAddr == "" && *echoAddr == "" && *get == "" && *udpTo == "" {
		fmt.Fprintln(os.Stderr, "ctrapp: nothing to do: give -http, -echo, -get or -to")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var wg sync.WaitGroup
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	if *httpAddr != "" {
		run(func() { serveHTTP(ctx, *httpAddr, *tag) })
	}
	if *echoAddr != "" {
		run(func() { echoUDP(ctx, *echoAddr) })
		run(func() { echoTCP(ctx, *echoAddr) })
	}
	if *get != "" {
		run(func() { getLoop(ctx, *get, *every) })
	}
	if *udpTo != "" {
		for _, to := range strings.Split(*udpTo, ",") {
			run(func() { sendLoop(ctx, to, *tag, *every) })
			run(func() { streamLoop(ctx, to, *tag, *every) })
		}
	}
	fmt.Printf("ctrapp %s running\n", *tag)
	<-ctx.Done()
	wg.Wait()
}

func serveHTTP(ctx context.Context, addr, tag string) {
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok %s %s\n", tag, r.URL.Path)
	})}
	go func() { <-ctx.Done(); srv.Close() }()
	for ctx.Err() == nil {
		if err := srv.ListenAndServe(); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "ctrapp: http:", err)
			sleep(ctx, time.Second)
		}
	}
}

func echoUDP(ctx context.Context, addr string) {
	for ctx.Err() == nil {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ctrapp: echo:", err)
			sleep(ctx, time.Second)
			continue
		}
		stop := context.AfterFunc(ctx, func() { pc.Close() })
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			pc.WriteTo(buf[:n], from)
		}
		stop()
		pc.Close()
	}
}

func echoTCP(ctx context.Context, addr string) {
	for ctx.Err() == nil {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ctrapp: echo:", err)
			sleep(ctx, time.Second)
			continue
		}
		stop := context.AfterFunc(ctx, func() { ln.Close() })
		for {
			c, err := ln.Accept()
			if err != nil {
				break
			}
			go func() {
				defer c.Close()
				stopConn := context.AfterFunc(ctx, func() { c.Close() })
				defer stopConn()
				io.Copy(c, c)
			}()
		}
		stop()
		ln.Close()
	}
}

// streamLoop writes a message at every tick over one TCP connection and
// reads the echo back; after any error it dials again at the next tick.
func streamLoop(ctx context.Context, to, tag string, every time.Duration) {
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	buf := make([]byte, 4096)
	for i := 0; sleep(ctx, every); i++ {
		if conn == nil {
			d := net.Dialer{Timeout: time.Second}
			c, err := d.DialContext(ctx, "tcp", to)
			if err != nil {
				continue
			}
			conn = c
		}
		msg := fmt.Sprintf("vmdump-ctrapp %s %d\n", tag, i)
		conn.SetDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write([]byte(msg)); err != nil {
			conn.Close()
			conn = nil
			continue
		}
		if _, err := io.ReadAtLeast(conn, buf, len(msg)); err != nil {
			conn.Close()
			conn = nil
		}
	}
}

func getLoop(ctx context.Context, url string, every time.Duration) {
	client := &http.Client{Timeout: 2 * time.Second}
	for i := 0; sleep(ctx, every); i++ {
		req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s%d", url, i), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ctrapp: get:", err)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// sendLoop sends from an unconnected socket, so that an ICMP error for one
// datagram (nobody listens yet) does not fail the next.
func sendLoop(ctx context.Context, to, tag string, every time.Duration) {
	var pc net.PacketConn
	for i := 0; sleep(ctx, every); i++ {
		dst, err := net.ResolveUDPAddr("udp", to)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ctrapp: to:", err)
			return
		}
		if pc == nil {
			if pc, err = net.ListenPacket("udp", ":0"); err != nil {
				continue
			}
			defer pc.Close()
		}
		pc.WriteTo([]byte(fmt.Sprintf("vmdump-ctrapp %s %d\n", tag, i)), dst)
	}
}

// sleep waits d; false once ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
