package generator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// echoServer echoes TCP streams and UDP datagrams on one address, so that a
// client can pick either protocol without the lab starting two servers.
type echoServer struct {
	tcp net.Listener
	udp net.PacketConn
	// echoes counts writes back to clients, for tests that wait for traffic.
	echoes atomic.Int64
}

func listen(addr string) (*echoServer, error) {
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on tcp %s: %w", addr, err)
	}
	// The UDP socket takes the port the TCP listener got, so that ":0" in
	// tests still gives one port for both.
	udp, err := net.ListenPacket("udp", tcp.Addr().String())
	if err != nil {
		tcp.Close()
		return nil, fmt.Errorf("listen on udp %s: %w", tcp.Addr(), err)
	}
	return &echoServer{tcp: tcp, udp: udp}, nil
}

// Addr is the TCP (and UDP) address the server is bound to.
func (s *echoServer) Addr() net.Addr { return s.tcp.Addr() }

// Serve echoes until ctx ends.
func (s *echoServer) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.tcp.Close()
		s.udp.Close()
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.serveUDP()
	}()
	err := s.serveTCP(&wg)
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (s *echoServer) serveTCP(wg *sync.WaitGroup) error {
	for {
		conn, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.echoStream(conn)
		}()
	}
}

// echoStream writes back each read as it arrives: with TCP_NODELAY, one
// received segment gives one echoed segment.
func (s *echoServer) echoStream(conn net.Conn) {
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
			s.echoes.Add(1)
		}
		if err != nil {
			return
		}
	}
}

func (s *echoServer) serveUDP() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if _, err := s.udp.WriteTo(buf[:n], from); err == nil {
			s.echoes.Add(1)
		}
	}
}
