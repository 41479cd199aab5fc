package remotecap

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
)

// TestEndWatcher: the VM closing the stream is its end; vmdump refusing an
// endless login banner is not (the command runs on until vmdump stops it,
// and that stop must not be reported as the VM's failure).
func TestEndWatcher(t *testing.T) {
	var ended atomic.Bool
	banner := strings.NewReader(strings.Repeat("welcome\n", 10000))
	r := &endWatcher{r: &afterMarker{r: banner, log: vmtest.DiscardLog()}, ended: &ended}
	_, err := io.ReadAll(r)
	if err == nil || !strings.Contains(err.Error(), "printed more than 64 KiB") {
		t.Fatalf("err %v", err)
	}
	if ended.Load() {
		t.Error("a refused banner counted as the end of the stream")
	}
	r = &endWatcher{r: &afterMarker{r: strings.NewReader(pcapStartMarker + "x"), log: vmtest.DiscardLog()}, ended: &ended}
	if b, err := io.ReadAll(r); err != nil || string(b) != "x" {
		t.Fatalf("got %q, %v", b, err)
	}
	if !ended.Load() {
		t.Error("EOF did not count as the end of the stream")
	}
}
