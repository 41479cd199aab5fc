//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the capture loop and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

// records splits pcap records (no global header).
func records(t *testing.T, b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 16 {
			t.Fatalf("partial record header")
		}
		n := int(binary.LittleEndian.Uint32(b[8:]))
		if orig := int(binary.LittleEndian.Uint32(b[12:])); orig < n || len(b) < 16+n {
			t.Fatalf("bad record: caplen %d origlen %d, %d bytes left", n, orig, len(b)-16)
		}
		out = append(out, b[:16+n])
		b = b[16+n:]
	}
	return out
}

// needRoot skips (fails under CI) without root: packet sockets need it.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root (a packet socket); CI runs as root")
		}
		t.Skip("needs root for a packet socket")
	}
}

// TestCaptureOnLoopback: a packet socket on lo with a kernel filter passes
// the matching datagrams once each (not twice, as lo shows them), cut to
// the snapshot length with the original length kept.
func TestCaptureOnLoopback(t *testing.T) {
	needRoot(t)
	captureLoopbackDatagrams(t, "lo")
}

// TestCaptureOnAny: "any" sees the loopback datagrams once each too.
func TestCaptureOnAny(t *testing.T) {
	needRoot(t)
	captureLoopbackDatagrams(t, "any")
}

// captureLoopbackDatagrams captures on iface with a filter for one UDP
// port on 127.0.0.1, sends three datagrams there and three elsewhere, and
// checks exactly the three are captured, once each. It opens its sockets
// on the calling goroutine's thread (see TestJoinNetns).
func captureLoopbackDatagrams(t *testing.T, iface string) {
	t.Helper()
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	port := uint32(srv.LocalAddr().(*net.UDPAddr).Port)
	// ip and udp and udp dst port == port: ldh [12]; jeq 0x800; ldb [23];
	// jeq 17; ldxb 4*([14]&0xf); ldh [x+16]; jeq port; ret 64; ret 0
	prog := []insn{{0x28, 0, 0, 12}, {0x15, 0, 6, 0x800}, {0x30, 0, 0, 23}, {0x15, 0, 4, 17},
		{0xb1, 0, 0, 14}, {0x48, 0, 0, 16}, {0x15, 0, 1, port}, {0x06, 0, 0, 64}, {0x06, 0, 0, 0}}
	c, err := openCapture(iface, prog)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	var stop atomic.Bool
	var out lockedBuffer
	done := make(chan uint64)
	go func() { n, _ := c.loop(40, &stop, &out); done <- n }()

	conn, err := net.Dial("udp", srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	other, _ := net.Dial("udp", "127.0.0.1:9")
	defer other.Close()
	payload := bytes.Repeat([]byte("x"), 200)
	for range 3 {
		conn.Write(payload)
		other.Write(payload)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(records(t, out.Bytes())) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a duplicate would show up by now
	stop.Store(true)
	n := <-done
	recs := records(t, out.Bytes())
	if n != 3 || len(recs) != 3 {
		t.Fatalf("%s: %d packets (loop says %d), want 3", iface, len(recs), n)
	}
	for _, r := range recs {
		caplen, orig := binary.LittleEndian.Uint32(r[8:]), binary.LittleEndian.Uint32(r[12:])
		if caplen != 40 || orig != 14+20+8+200 {
			t.Errorf("caplen %d origlen %d, want 40 and %d", caplen, orig, 14+20+8+200)
		}
		if sec := int64(binary.LittleEndian.Uint32(r[0:])); time.Since(time.Unix(sec, 0)) > time.Minute {
			t.Errorf("timestamp %d", sec)
		}
	}
	if st := c.stats(); st.Packets < 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestJoinNetns: joinNetns moves the thread into a namespace of its own
// (an `unshare -n` this test starts, with lo up) and the capture opened
// there sees that namespace's loopback; a link that does not match, or a
// process that is gone, is netnsGone.
func TestJoinNetns(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	cmd := exec.Command("unshare", "-n", "sh", "-c", "ip link set lo up && echo up && exec sleep 600")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // by its pid: our own child
	line := make([]byte, 3)
	if _, err := io.ReadFull(stdout, line); err != nil || string(line) != "up\n" {
		t.Fatalf("unshare: %q %v", line, err)
	}
	path := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net"
	link, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	own, _ := os.Readlink("/proc/self/ns/net")
	if link == own {
		t.Fatalf("unshare -n did not make a namespace: %s", link)
	}

	if err := inThread(func() error { return joinNetns(path, "net:[1]") }); !isGone(err) {
		t.Errorf("wrong link: %v", err)
	}
	if err := inThread(func() error { return joinNetns("/proc/999999999/ns/net", "") }); !isGone(err) {
		t.Errorf("gone process: %v", err)
	}
	err = inThread(func() error {
		if err := joinNetns(path, link); err != nil {
			return err
		}
		if got, _ := os.Readlink("/proc/thread-self/ns/net"); got != link {
			return errString("thread in " + got + ", want " + link)
		}
		captureLoopbackDatagrams(t, "any")
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if got, _ := os.Readlink("/proc/thread-self/ns/net"); got != own {
		t.Errorf("the test's thread is in %s", got)
	}
}

// inThread runs f on a goroutine of its own and returns its error; the
// goroutine ends locked to its thread when f joined a namespace, so that
// thread ends with it. A t.Fatal inside f ends only that goroutine (the
// test is marked failed); the deferred send still reports.
func inThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		var e error = errString("ended by a test failure")
		defer func() { done <- e }()
		e = f()
	}()
	return <-done
}

func isGone(err error) bool {
	_, ok := err.(netnsGone)
	return ok
}

func TestOpenCaptureErrors(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for a packet socket")
	}
	if _, err := openCapture("nonexistent0", nil); err == nil {
		t.Error("a missing interface opened")
	}
	if _, err := openCapture("lo", []insn{{0x06, 0, 0, 0}, {0xff, 0, 0, 0}}); err == nil {
		t.Error("an invalid program was attached")
	}
}
