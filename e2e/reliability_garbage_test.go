package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestReliabilityLoginBanner (issue 5, guarantee 5, end to end): the lab
// user's login shell prints a banner on stdout before running any command
// (as a chatty ~/.bashrc or a MOTD script does on some images). That text
// arrives where the pcap stream should begin; vmdump's start marker skips
// it and the capture is exact. A banner of more than 64 KiB is refused with
// one clear line instead of being buffered without end. (The byte-level
// cases — truncated header, wrong magic, absurd caplen, mid-packet EOF,
// banner and sudo text in place of pcap — are the seed corpora of FuzzPump,
// FuzzAfterMarker and FuzzParseProbe, run by go test.)
func TestReliabilityLoginBanner(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "vmdump-shell-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The lab user must reach the script.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge")
	shell := filepath.Join(dir, "chatty-sh")
	writeFile(t, shell, fmt.Sprintf(`#!/bin/sh
echo "Welcome to the vmdump lab VM!"
echo "  * this banner goes to stdout, before any command"
echo "sudo: this is not a real sudo message" 
if [ -e %s ]; then head -c 70000 /dev/zero | tr "\0" "#"; echo; fi
exec /bin/sh "$@"
`, huge))
	if err := os.Chmod(shell, 0o755); err != nil {
		t.Fatal(err)
	}
	l := lab.Start(t, lab.Options{LoginShell: shell})
	u := newUser(t, l)

	t.Run("banner", func(t *testing.T) {
		faultCase(t)
		ts := u.startTshark("-a", "duration:6")
		u.waitRemoteCapture(ts)
		l.Send(t, 5, 20*time.Millisecond)
		ts.wait(t, 60*time.Second)
		checkStoppedQuietly(t, ts)
		if got := count(t, ts.out, "tcp.len > 0"); got != 10 {
			t.Errorf("%d data segments through a chatty login shell, want 10", got)
		}
	})

	t.Run("banner-over-64KiB", func(t *testing.T) {
		faultCase(t)
		writeFile(t, huge, "")
		defer os.Remove(huge)
		ts := u.startTshark("-a", "duration:30")
		ts.wait(t, 60*time.Second)
		checkTsharkOneLineError(t, ts, "printed more than 64 KiB", "quiet for non-interactive shells")
		if _, left := awaitVMClean(l, time.Now(), 10*time.Second); len(left) > 0 {
			t.Errorf("left in the VM: %v", left)
		}
	})
}
