// Command ctrapp is the one program of the container images that the
// end-to-end tests of container capture run (see internal/ctrlab): built
// static (CGO_ENABLED=0), it is the whole image, so no registry is needed.
// It runs any mix of these until SIGTERM or SIGINT, and never gives up on
// an error (a peer not up yet, a link not there yet): each failed request or
// datagram is only retried at the next tick.
//
//	ctrapp -tag web -http :80                    HTTP server ("ok <tag>")
//	ctrapp -tag br -udp-echo :7007               UDP echo server
//	ctrapp -tag db -get http://172.20.0.2/ -every 200ms
//	ctrapp -tag br -udp-to 172.17.0.1:7007,127.0.0.1:7007 -every 100ms
//
// A datagram sent by -udp-to reads "vmdump-ctrapp <tag> <seq>", so that a
// capture can tell whose it is (udp contains "vmdump-ctrapp br").
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
	echoAddr := flag.String("udp-echo", "", "echo UDP datagrams on this address")
	get := flag.String("get", "", "GET this URL at every tick")
	udpTo := flag.String("udp-to", "", "send a datagram to each of these host:port (comma-separated) at every tick")
	every := flag.Duration("every", 100*time.Millisecond, "tick of -get and -udp-to")
	flag.Parse()
	if *httpAddr == "" && *echoAddr == "" && *get == "" && *udpTo == "" {
		fmt.Fprintln(os.Stderr, "ctrapp: nothing to do: give -http, -udp-echo, -get or -udp-to")
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
	}
	if *get != "" {
		run(func() { getLoop(ctx, *get, *every) })
	}
	if *udpTo != "" {
		for _, to := range strings.Split(*udpTo, ",") {
			run(func() { sendLoop(ctx, to, *tag, *every) })
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
			fmt.Fprintln(os.Stderr, "ctrapp: udp-echo:", err)
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
			fmt.Fprintln(os.Stderr, "ctrapp: udp-to:", err)
			return
		}
		if pc == nil {
			if pc, err = net.ListenPacket("udp", ":0"); err != nil {
				continue
			}
			defer pc.Close()
		}
		pc.WriteTo([]byte(fmt.Sprintf("vmdump-ctrapp %s %d", tag, i)), dst)
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
