// Package generator is trafficgen's logic as a library, so that both the
// trafficgen command (built by the lab with the go command) and an installed
// vmdump binary (`vmdump demo-traffic ...`, for `vmdump demo`) can make the
// lab's traffic.
//
// Echo traffic has a known shape: each message is one data segment to the
// server and one back, because the client waits for each echo before the
// next message and TCP_NODELAY is on at both ends.
//
//	serve -addr :7007
//	    echo server on TCP and UDP; prints "listening <addr>" once both are bound
//	send -addr 172.31.1.3:7007 -n 10 -interval 10ms -size 64 [-udp]
//	    sends n messages (n=0: until SIGTERM/SIGINT), then prints one JSON line
//	    {"sent":N,"echoed":M}
//
// Every echo message carries its send time and sequence number; the layout
// is in package payload.
//
// HTTP traffic is for people watching a demo capture: real HTTP/1.1 that
// Wireshark dissects.
//
//	http-serve -addr :80
//	    HTTP server; prints "listening <addr>" once bound
//	http-get -url http://172.31.1.3/ -interval 1s -n 0
//	    GET requests (n=0: until SIGTERM/SIGINT), then prints one JSON line
//	    {"sent":N,"echoed":M} (M = answers with status 200)
package generator

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Run runs one command (args[0]) until it ends or SIGTERM/SIGINT arrives,
// and returns the exit status. name prefixes error messages ("trafficgen",
// "vmdump demo-traffic").
func Run(name string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: missing command: use serve, send, http-serve or http-get\n", name)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return runServe(ctx, name, args[1:], stdout, stderr)
	case "send":
		return runSend(ctx, name, args[1:], stdout, stderr)
	case "http-serve":
		return runHTTPServe(ctx, name, args[1:], stdout, stderr)
	case "http-get":
		return runHTTPGet(ctx, name, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "%s: unknown command %q: use serve, send, http-serve or http-get\n", name, args[0])
		return 2
	}
}

func runServe(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":7007", "TCP and UDP address to echo on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	srv, err := listen(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "listening %s\n", srv.Addr())
	if err := srv.Serve(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

func runSend(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg sendConfig
	fs.StringVar(&cfg.Addr, "addr", "", "server address host:port")
	fs.IntVar(&cfg.Count, "n", 1, "messages to send; 0 = until SIGTERM or SIGINT")
	fs.DurationVar(&cfg.Interval, "interval", 0, "time between the starts of two messages")
	fs.IntVar(&cfg.Size, "size", 64, "message size in bytes (at least the 20-byte header)")
	fs.BoolVar(&cfg.UDP, "udp", false, "use UDP datagrams instead of a TCP connection")
	fs.DurationVar(&cfg.EchoTimeout, "timeout", 2*time.Second, "how long to wait for each echo")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sum, err := send(ctx, cfg)
	return report(name, sum, err, stdout, stderr)
}

// report prints the summary line every client ends with, and the error.
func report(name string, sum Summary, err error, stdout, stderr io.Writer) int {
	line, _ := json.Marshal(sum)
	fmt.Fprintf(stdout, "%s\n", line)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
