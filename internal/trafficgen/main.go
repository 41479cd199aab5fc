// Command trafficgen makes small, countable TCP or UDP traffic between two of
// the lab's container namespaces (see internal/lab), so that a capture of it
// has a known shape: each message is one data segment to the server and one
// back, because the client waits for each echo before the next message and
// TCP_NODELAY is on at both ends.
//
//	trafficgen serve -addr :7007
//	    echo server on TCP and UDP; prints "listening <addr>" once both are bound
//	trafficgen send -addr 172.31.1.3:7007 -n 10 -interval 10ms -size 64 [-udp]
//	    sends n messages (n=0: until SIGTERM/SIGINT), then prints one JSON line
//	    {"sent":N,"echoed":M}
//
// Every message carries its send time and sequence number; the layout is in
// package payload.
package main

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

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process, so that tests drive it directly.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "trafficgen: missing command: use serve or send")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "send":
		return runSend(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "trafficgen: unknown command %q: use serve or send\n", args[0])
		return 2
	}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":7007", "TCP and UDP address to echo on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	srv, err := listen(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "trafficgen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "listening %s\n", srv.Addr())
	if err := srv.Serve(ctx); err != nil {
		fmt.Fprintf(stderr, "trafficgen: %v\n", err)
		return 1
	}
	return 0
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) int {
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
	line, _ := json.Marshal(sum)
	fmt.Fprintf(stdout, "%s\n", line)
	if err != nil {
		fmt.Fprintf(stderr, "trafficgen: %v\n", err)
		return 1
	}
	return 0
}
