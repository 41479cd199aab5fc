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

	// vmdump's "capturing <NIC> on <VM>" arrives as a status bar message.
	// Wireshark flashes the whole bar yellow for about a second, then keeps
	// the message's own label yellow for 9 s: a row of that label, above
	// its text, is what is looked at.
	if got, ok := x.tryTint(t, statusLabel, "yellow", 30*time.Second); !ok {
		x.keepFailureShot(t)
		t.Fatalf("the status bar's message label is %s, want vmdump's message on yellow", got)
	}
	x.pointerAway(t)
	x.saveShot(t, filepath.Join(dir, "wireshark-toolbar.png"), image.Rectangle{})

	// The toolbar's Log button (enabled once Wireshark has vmdump's
	// control pipes) opens the log vmdump wrote into the toolbar, in a
	// window Wireshark names "Wireshark · <interface> Log".
	var logWindow string
	for attempt := 1; ; attempt++ {
		x.click(t, logButton.X, logButton.Y)
		var ok bool
		if logWindow, ok = x.tryWindow(u.vmID+" Log", 5*time.Second); ok {
			break
		}
		if attempt == 6 {
			x.keepFailureShot(t)
			t.Fatalf("the toolbar's Log button opened no window; windows: %s", x.windowNames())
		}
	}
	x.pointerAway(t)
	img := x.settle(t, 10*time.Second)
	// The log's first line is vmdump's "capturing …": text, where an empty
	// log is a white page.
	if n := darkPixels(img, x.windowRect(t, logWindow), logFirstLine); n < 20 {
		x.keepFailureShot(t)
		t.Fatalf("the toolbar's log window has no text in its first line (%d dark pixels), want vmdump's message", n)
	}
	x.saveShot(t, filepath.Join(dir, "wireshark-toolbar-log.png"), image.Rectangle{})
}

// darkPixels counts the pixels of img darker than mid grey (text) in the
// part part of the window at win.
func darkPixels(img image.Image, win, part image.Rectangle) int {
	n := 0
	r := part.Add(win.Min).Intersect(win)
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			cr, cg, cb, _ := img.At(px, py).RGBA()
			if cr>>8 < 128 && cg>>8 < 128 && cb>>8 < 128 {
				n++
			}
		}
	}
	return n
}

// Where the full-screen main window (mainWindow) has the status bar's
// message label (one pixel row above its text, right of the expert icon,
// as wide as the shortest message vmdump sends) and vmdump's toolbar
// button.
var (
	statusLabel = image.Rect(45, screenH-18, 165, screenH-17)
	logButton   = image.Point{X: screenW - 54, Y: 106}
)

// logFirstLine is where, inside the toolbar's log window, its first line
// of text is (Wireshark 4.0's text dialog, whatever its size).
var logFirstLine = image.Rect(12, 6, 300, 24)
