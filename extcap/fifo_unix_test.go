//go:build unix

package extcap

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/vmdump/vmdump/internal/pcaptest"
)

// OpenFIFO returns once the reader (dumpcap) opened its end; when the reader
// goes away, the next write is recognisably "reader gone".
func TestOpenFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	readerOpened := make(chan *os.File)
	go func() {
		r, err := os.Open(path) // blocks until OpenFIFO opens the write end
		if err != nil {
			t.Error(err)
		}
		readerOpened <- r
	}()
	w, err := OpenFIFO(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := <-readerOpened
	if _, err := w.Write([]byte("pcapng")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 6)
	io.ReadFull(r, got)
	if string(got) != "pcapng" {
		t.Errorf("read %q", got)
	}
	r.Close()
	_, err = w.Write(bytes.Repeat([]byte{1}, 1<<20))
	if !IsReaderGone(err) || !errors.Is(err, syscall.EPIPE) {
		t.Errorf("write after the reader left: %v (IsReaderGone %v)", err, IsReaderGone(err))
	}
}

func TestOpenFIFOErrors(t *testing.T) {
	if _, err := OpenFIFO(""); pcaptest.ErrText(err) != "--fifo is empty: start captures from Wireshark or tshark -i" {
		t.Errorf("empty path: %v", err)
	}
	if _, err := OpenFIFO(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Error("OpenFIFO in a missing directory succeeded")
	}
	// A plain file given by hand works (and is created).
	path := filepath.Join(t.TempDir(), "out.pcapng")
	w, err := OpenFIFO(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	w.Close()
	if b, _ := os.ReadFile(path); string(b) != "x" {
		t.Errorf("file holds %q", b)
	}
}

// OpenControl with real FIFOs, in the GUI's order: the GUI's main thread
// opens its write end of control-in (blocking) while a GUI thread opens the
// read end of control-out.
func TestOpenControlFIFOs(t *testing.T) {
	dir := t.TempDir()
	out, in := filepath.Join(dir, "ext_to_ws"), filepath.Join(dir, "ws_to_ext")
	for _, p := range []string{out, in} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gui := make(chan error, 1)
	var guiReader *os.File
	go func() {
		var err error
		guiReader, err = os.Open(out) // the GUI's reader thread
		gui <- err
	}()
	guiWriterOpened := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(in, os.O_WRONLY, 0) // the GUI's main thread
		if err != nil {
			t.Error(err)
		}
		guiWriterOpened <- f
	}()
	c, err := OpenControl(out, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-gui; err != nil {
		t.Fatal(err)
	}
	guiWriter := <-guiWriterOpened // would hang if vmdump never opened control-in
	if err := c.StatusBar("hello"); err != nil {
		t.Fatal(err)
	}
	if _, cmd, p := readFrame(t, guiReader); cmd != CtrlStatusbar || string(p) != "hello" {
		t.Errorf("GUI read %d %q", cmd, p)
	}
	guiWriter.Write([]byte{'T', 0, 0, 2, 0, CtrlInitialized})
	if m := <-c.Received(); m.Command != CtrlInitialized {
		t.Errorf("received %+v", m)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	guiWriter.Close()
	guiReader.Close()
}
