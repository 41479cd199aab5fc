package generator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/vmdump/vmdump/internal/trafficgen/payload"
)

type sendConfig struct {
	Addr        string
	Count       int           // 0: until ctx ends
	Interval    time.Duration // between the starts of two messages
	Size        int
	UDP         bool
	EchoTimeout time.Duration
}

// Summary is what send prints: the lab parses it.
type Summary struct {
	Sent   int `json:"sent"`
	Echoed int `json:"echoed"`
}

// send runs the client side. Messages start on a fixed schedule
// (start + i*Interval) so that a steady rate does not drift with echo time;
// a message never starts before the previous one's echo came back.
func send(ctx context.Context, cfg sendConfig) (Summary, error) {
	var sum Summary
	if cfg.Addr == "" {
		return sum, errors.New("send needs -addr host:port")
	}
	if cfg.Size < payload.HeaderLen {
		return sum, fmt.Errorf("-size %d is below the %d-byte header", cfg.Size, payload.HeaderLen)
	}
	if cfg.Count < 0 {
		return sum, fmt.Errorf("-n %d: must be 0 (until stopped) or more", cfg.Count)
	}
	network := "tcp"
	if cfg.UDP {
		network = "udp"
	}
	var d net.Dialer
	dialCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := d.DialContext(dialCtx, network, cfg.Addr)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return sum, nil
		}
		return sum, err
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	// Stopping (SIGTERM) must not wait for an echo timeout.
	stopWatch := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stopWatch()

	msg := make([]byte, cfg.Size)
	echo := make([]byte, cfg.Size)
	start := time.Now()
	for i := 0; cfg.Count == 0 || i < cfg.Count; i++ {
		if !sleepUntil(ctx, start.Add(time.Duration(i)*cfg.Interval)) {
			return sum, nil
		}
		payload.Encode(msg, time.Now(), uint64(i))
		if _, err := conn.Write(msg); err != nil {
			if ctx.Err() != nil {
				return sum, nil
			}
			return sum, fmt.Errorf("write message %d: %w", i, err)
		}
		sum.Sent++
		ok, err := awaitEcho(conn, msg, echo, cfg)
		if ctx.Err() != nil {
			return sum, nil
		}
		if err != nil {
			return sum, fmt.Errorf("echo of message %d: %w", i, err)
		}
		if ok {
			sum.Echoed++
		}
	}
	return sum, nil
}

// awaitEcho reads the echo of msg. Over TCP a missing or different echo is
// an error; over UDP a lost datagram is only not counted, and stray echoes of
// earlier (late) messages are skipped.
func awaitEcho(conn net.Conn, msg, echo []byte, cfg sendConfig) (bool, error) {
	conn.SetReadDeadline(time.Now().Add(cfg.EchoTimeout))
	if !cfg.UDP {
		if _, err := io.ReadFull(conn, echo); err != nil {
			return false, err
		}
		if !bytes.Equal(echo, msg) {
			return false, errors.New("echo differs from the message sent")
		}
		return true, nil
	}
	for {
		n, err := conn.Read(echo)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if bytes.Equal(echo[:n], msg) {
			return true, nil
		}
	}
}

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
