//go:build unix

package extcap

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestStopWhenReaderGone: the context ends when the FIFO's reader closes
// its end, though nothing is written; not before.
func TestStopWhenReaderGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	reader, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	w, err := OpenFIFO(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := StopWhenReaderGone(context.Background(), w)
	select {
	case <-ctx.Done():
		t.Fatal("cancelled while the reader is still there")
	case <-time.After(3 * readerPollInterval):
	}
	reader.Close()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not cancelled 10s after the reader went away")
	}
}

// TestStopWhenReaderGoneFollowsParent: the watcher ends with its parent
// context, and a plain file (a capture into a file by hand) is not watched.
func TestStopWhenReaderGoneFollowsParent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	reader, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	w, err := OpenFIFO(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	parent, cancel := context.WithCancel(context.Background())
	ctx := StopWhenReaderGone(parent, w)
	cancel()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not cancelled with its parent")
	}

	file, err := OpenFIFO(filepath.Join(t.TempDir(), "by-hand.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	bg := context.Background()
	if got := StopWhenReaderGone(bg, file); got != bg {
		t.Error("a plain file got a watcher")
	}
}
