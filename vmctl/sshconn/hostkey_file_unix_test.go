//go:build unix

package sshconn

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
)

// TestPinnedKeysFIFO: a FIFO where the pinned-keys file should be is an
// error at once, not a capture blocked reading it.
func TestPinnedKeysFIFO(t *testing.T) {
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := syscall.Mkfifo(file, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := pinnedHostKeyCheck(file, "config", "lab", vmtest.DiscardLog())
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("got %v", err)
	}
}
