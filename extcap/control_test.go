package extcap

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// readFrame reads one frame the way Wireshark's sync-pipe reader does.
func readFrame(t *testing.T, r io.Reader) (number, command byte, payload []byte) {
	t.Helper()
	m, err := readControlMessage(r)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	return m.Number, m.Command, m.Payload
}

func TestControlFraming(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := newControl(w, nil)
	go func() {
		c.StatusBar("connected to default (boot2docker)")
		c.ErrorMessage("tcpdump: eth9: No such device")
		c.Send(3, CtrlSet, []byte{1})
		c.StatusBar(strings.Repeat("x", 40000))
		c.StatusBar("bad \xff utf8")
		c.Close()
	}()
	// The exact bytes of the first frame: 'T', 24-bit length = payload+2,
	// control number, command, payload.
	var first [6]byte
	if _, err := io.ReadFull(r, first[:]); err != nil {
		t.Fatal(err)
	}
	msg := "connected to default (boot2docker)"
	if want := []byte{'T', 0, 0, byte(len(msg) + 2), 0, CtrlStatusbar}; !bytes.Equal(first[:], want) {
		t.Fatalf("frame header % x, want % x", first, want)
	}
	rest := make([]byte, len(msg))
	io.ReadFull(r, rest)
	if string(rest) != msg {
		t.Fatalf("payload %q", rest)
	}
	if n, cmd, p := readFrame(t, r); n != 0 || cmd != CtrlError || string(p) != "tcpdump: eth9: No such device" {
		t.Errorf("error frame %d %d %q", n, cmd, p)
	}
	if n, cmd, p := readFrame(t, r); n != 3 || cmd != CtrlSet || !bytes.Equal(p, []byte{1}) {
		t.Errorf("set frame %d %d %v", n, cmd, p)
	}
	if _, _, p := readFrame(t, r); len(p) != maxControlText {
		t.Errorf("long status of %d bytes, want it cut to %d", len(p), maxControlText)
	}
	if _, _, p := readFrame(t, r); string(p) != "bad \uFFFD utf8" {
		t.Errorf("invalid UTF-8 sent as %q", p)
	}
	if rest, _ := io.ReadAll(r); len(rest) != 0 {
		t.Errorf("%d stray bytes after the last frame", len(rest))
	}
}

func TestControlSendErrors(t *testing.T) {
	c := newControl(nil, nil)
	if err := c.StatusBar("nobody listens"); err != nil {
		t.Errorf("StatusBar without a toolbar pipe: %v", err)
	}
	if err := c.Send(0, CtrlSet, make([]byte, 0x10000)); err == nil {
		t.Error("a payload over 65535 bytes was sent")
	}
	c.Close()
	if err := c.StatusBar("x"); !IsReaderGone(err) {
		t.Errorf("StatusBar after Close: %v", err)
	}
	r, w, _ := os.Pipe()
	r.Close()
	c = newControl(w, nil)
	if err := c.StatusBar("x"); !IsReaderGone(err) {
		t.Errorf("StatusBar to a closed GUI: %v", err)
	}
	c.Close()
}

// The GUI's messages are parsed and offered on Received; the reader stops
// when the pipe closes, and Close waits for it.
func TestControlReceives(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := newControl(nil, r)
	frame := func(num, cmd byte, p string) []byte {
		n := len(p) + 2
		return append([]byte{'T', byte(n >> 16), byte(n >> 8), byte(n), num, cmd}, p...)
	}
	w.Write(frame(2, CtrlSet, "2\x002 sec"))
	w.Write(frame(0, CtrlInitialized, ""))
	m := <-c.Received()
	if m.Number != 2 || m.Command != CtrlSet || string(m.Payload) != "2\x002 sec" {
		t.Errorf("first message %+v", m)
	}
	if m := <-c.Received(); m.Command != CtrlInitialized || len(m.Payload) != 0 {
		t.Errorf("second message %+v", m)
	}
	// Garbage and more messages than anyone reads must not block the GUI.
	for i := 0; i < 100; i++ {
		w.Write(frame(1, CtrlSet, "x"))
	}
	w.Write([]byte("garbage"))
	w.Close()
	<-c.done
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
