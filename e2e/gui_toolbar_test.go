package e2e

import (
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestGUIToolbar checks, in the real Wireshark under Xvfb, that vmdump's
// interface toolbar (View → Interface Toolbars → vmdump) is there during a
// capture and that its Log button shows the messages vmdump sends through
// the control pipes (issue 8: toolbar status messages appear).
func TestGUIToolbar(t *testing.T) {
	needGUI(t)
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l)
	writeFile(t, filepath.Join(u.home, ".config", "wireshark", "recent"), "gui.interface_toolbar_show: vmdump\n")
	x := startXvfb(t)
	l.StartSteady(t, 20)
	ws := u.startWireshark(x, "-k", "-i", u.vmID)
	x.mainWindow(t, ws)
	waitFor(t, x, ws, "vmdump's tcpdump to start in the VM", 60*time.Second, func() bool { return len(u.remoteCaptures()) > 0 })
	dir := os.Getenv("VMDUMP_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir)
	}

	// vmdump's "capturing <NIC> on <VM>" arrives as a status bar message,
	// which Wireshark shows on a yellow status bar.
	if got, ok := x.tryTint(t, statusBarProbe, "yellow", 30*time.Second); !ok {
		x.keepFailureShot(t)
		t.Fatalf("the status bar is %s, want vmdump's message on yellow", got)
	}
	x.pointerAway(t)
	x.saveShot(t, filepath.Join(dir, "wireshark-toolbar.png"), image.Rectangle{})

	// The toolbar's Log button (enabled once Wireshark has vmdump's
	// control pipes) opens the log vmdump wrote into the toolbar, in a
	// window Wireshark names "Wireshark · <interface> Log".
	for attempt := 1; ; attempt++ {
		x.click(t, logButton.X, logButton.Y)
		if _, ok := x.tryWindow(u.vmID+" Log", 5*time.Second); ok {
			break
		}
		if attempt == 6 {
			x.keepFailureShot(t)
			t.Fatalf("the toolbar's Log button opened no window; windows: %s", x.windowNames())
		}
	}
	x.pointerAway(t)
	x.settle(t, 10*time.Second)
	x.saveShot(t, filepath.Join(dir, "wireshark-toolbar-log.png"), image.Rectangle{})
}

// Where the full-screen main window (mainWindow) has the status bar's
// message and vmdump's toolbar button.
var (
	statusBarProbe = image.Point{X: 300, Y: screenH - 11}
	logButton      = image.Point{X: screenW - 54, Y: 106}
)
