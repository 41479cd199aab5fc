package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real Wireshark GUI, driven on a virtual X server (Xvfb) with xdotool
// and photographed with ImageMagick's import. Everything here is started in
// its own process group and killed by pid when the test ends.

// Screen size of the virtual display; the GUI window is resized to fill it,
// so that positions in screenshots are the same on every machine.
const (
	screenW = 1280
	screenH = 800
)

// guiPrograms are what the GUI tests run besides vmdump, tshark and the lab.
var guiPrograms = []string{"Xvfb", "wireshark", "xdotool", "import"}

// needGUI skips the test when the machine cannot show Wireshark (not Linux,
// not root, a program missing), or fails it under CI, which must run the GUI
// tests.
func needGUI(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		skipOrFail(t, "the GUI tests run Wireshark in the lab VM's Linux network namespace; this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "the GUI tests need root (the lab VM is built from network namespaces)")
	}
	var missing []string
	for _, p := range guiPrograms {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		skipOrFail(t, "the GUI tests need %s (apt-get install wireshark xvfb xdotool imagemagick)", strings.Join(missing, ", "))
	}
}

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format+"; CI must run this test", args...)
	}
	t.Skipf(format, args...)
}

// xDisplay is one Xvfb server.
type xDisplay struct {
	name string // ":93"
	cmd  *exec.Cmd
	done chan struct{}
}

// startXvfb starts Xvfb on a free display (Xvfb picks it: -displayfd) and
// stops it when the test ends.
func startXvfb(t *testing.T) *xDisplay {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", screenW, screenH), "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = ownProcessGroup(true)
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	x := &xDisplay{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(x.done) }()
	t.Cleanup(func() {
		// SIGTERM lets Xvfb remove its lock file and socket.
		signalGroup(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-x.done:
		case <-time.After(5 * time.Second):
			signalGroup(cmd.Process.Pid, syscall.SIGKILL)
			<-x.done
		}
	})
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		if _, err := strconv.Atoi(l); err != nil {
			t.Fatalf("Xvfb did not report its display (%q): %s", l, stderr.String())
		}
		x.name = ":" + l
	case <-time.After(30 * time.Second):
		t.Fatalf("Xvfb did not start within 30s: %s", stderr.String())
	}
	return x
}

// run runs an X client (xdotool, import) on the display.
func (x *xDisplay) run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// xdotool runs xdotool and fails the test on error.
func (x *xDisplay) xdotool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := x.run("xdotool", args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// findWindow returns the first window whose name contains name, or "".
func (x *xDisplay) findWindow(name string) string {
	out, _ := x.run("xdotool", "search", "--name", name)
	if f := strings.Fields(out); len(f) > 0 {
		return f[0]
	}
	return ""
}

// windowNames lists the names of all windows, for failure messages.
func (x *xDisplay) windowNames() string {
	out, _ := x.run("xdotool", "search", "--name", "", "getwindowname", "%@")
	return strings.Join(strings.Fields(strings.ReplaceAll(out, "\n", " | ")), " ")
}

// waitWindow waits for a window whose name contains name.
func (x *xDisplay) waitWindow(t *testing.T, name string, limit time.Duration) string {
	t.Helper()
	if id, ok := x.tryWindow(name, limit); ok {
		return id
	}
	x.keepFailureShot(t)
	t.Fatalf("no window %q within %v; windows: %s", name, limit, x.windowNames())
	return ""
}

// tryWindow is waitWindow that reports failure instead of failing.
func (x *xDisplay) tryWindow(name string, limit time.Duration) (string, bool) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if id := x.findWindow(name); id != "" {
			return id, true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", false
}

// windowRect is where the window id is on the screen.
func (x *xDisplay) windowRect(t *testing.T, id string) image.Rectangle {
	t.Helper()
	var r image.Rectangle
	var w, h int
	for _, l := range strings.Split(x.xdotool(t, "getwindowgeometry", "--shell", id), "\n") {
		k, v, _ := strings.Cut(l, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "X":
			r.Min.X = n
		case "Y":
			r.Min.Y = n
		case "WIDTH":
			w = n
		case "HEIGHT":
			h = n
		}
	}
	if w == 0 || h == 0 {
		t.Fatalf("no geometry for window %s", id)
	}
	return image.Rectangle{Min: r.Min, Max: r.Min.Add(image.Pt(w, h))}
}

// waitNoWindow waits until no window name contains name.
func (x *xDisplay) waitNoWindow(t *testing.T, name string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for x.findWindow(name) != "" {
		if time.Now().After(deadline) {
			x.keepFailureShot(t)
			t.Fatalf("window %q still open after %v", name, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// shot takes a full-colour screenshot of the whole screen.
func (x *xDisplay) shot(t *testing.T) image.Image {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shot.png")
	if _, err := x.run("import", "-window", "root", path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return img
}

// saveShot writes the screen, or the part rect of it, to path as a small
// palette PNG for the README.
func (x *xDisplay) saveShot(t *testing.T, path string, rect image.Rectangle) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"-window", "root"}
	if !rect.Empty() {
		args = append(args, "-crop", fmt.Sprintf("%dx%d+%d+%d", rect.Dx(), rect.Dy(), rect.Min.X, rect.Min.Y), "+repage")
	}
	args = append(args, "-colors", "128", "PNG8:"+path)
	if _, err := x.run("import", args...); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// keepFailureShot saves the screen where a person can look at it after a
// failed test, and logs where.
func (x *xDisplay) keepFailureShot(t *testing.T) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("vmdump-%s-%d.png", strings.ReplaceAll(t.Name(), "/", "_"), os.Getpid()))
	if _, err := x.run("import", "-window", "root", path); err == nil {
		t.Logf("screen at failure: %s", path)
	}
}

// settle waits until two screenshots a moment apart are the same (the GUI
// finished drawing) and returns the last; nothing is asserted about time.
func (x *xDisplay) settle(t *testing.T, limit time.Duration) image.Image {
	t.Helper()
	prev := x.shot(t)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		time.Sleep(700 * time.Millisecond)
		cur := x.shot(t)
		if sameImage(prev, cur) {
			return cur
		}
		prev = cur
	}
	return prev
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// selectedRow finds the highlighted row of a list in column x: the longest
// run of blue pixels (Qt's selection colour, or its paler form while the
// list has no focus; the pointer is kept off the list, so no row is merely
// hovered). It returns the row's vertical middle and its left edge.
func selectedRow(img image.Image, x int) (midY, left int, ok bool) {
	isSel := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return b>>8 > r>>8+60 && b>>8 > g>>8+20
	}
	bestStart, bestLen, start := 0, 0, -1
	r := img.Bounds()
	for y := r.Min.Y; y <= r.Max.Y; y++ {
		if y < r.Max.Y && isSel(img.At(x, y)) {
			if start < 0 {
				start = y
			}
			continue
		}
		if start >= 0 && y-start > bestLen {
			bestStart, bestLen = start, y-start
		}
		start = -1
	}
	if bestLen < 8 {
		return 0, 0, false
	}
	midY = bestStart + bestLen/2
	// The row's text is drawn over the highlight: its left edge is the
	// first highlighted pixel from the left.
	for left = r.Min.X; left < x && !isSel(img.At(left, midY)); left++ {
	}
	return midY, left, true
}

// stableSelection waits until the list's selected row (see selectedRow)
// stays in place over three screenshots a second apart: Wireshark fills
// the interface list as extcaps answer, and rows move while it does.
func (x *xDisplay) stableSelection(t *testing.T, column int, limit time.Duration) (y, left int) {
	t.Helper()
	deadline := time.Now().Add(limit)
	same := 0
	prevY, prevLeft := -1, -1
	for time.Now().Before(deadline) {
		y, left, ok := selectedRow(x.shot(t), column)
		if ok && y == prevY && left == prevLeft {
			same++
			if same == 2 {
				return y, left
			}
		} else {
			same = 0
		}
		prevY, prevLeft = y, left
		if !ok {
			prevY = -1
		}
		time.Sleep(time.Second)
	}
	x.keepFailureShot(t)
	t.Fatalf("no selected interface that stays in place within %v", limit)
	return 0, 0
}

// tint names the colour Wireshark gives a filter field: "green" (valid),
// "red" (invalid), "yellow" (cannot check) or "plain".
func tint(c color.Color) string {
	r, g, b, _ := c.RGBA()
	r, g, b = r>>8, g>>8, b>>8
	switch {
	case g > 200 && r < 215 && b < 215:
		return "green"
	case r > 200 && g < 215 && b < 215:
		return "red"
	case r > 200 && g > 200 && b < 190:
		return "yellow"
	}
	return "plain"
}

// tryTint waits until at least three quarters of area's pixels (all of a
// one-pixel area) have the wanted tint, and returns the tint most of them
// had last.
func (x *xDisplay) tryTint(t *testing.T, area image.Rectangle, want string, limit time.Duration) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	got := ""
	for time.Now().Before(deadline) {
		counts := areaTints(x.shot(t), area)
		if 4*counts[want] >= 3*area.Dx()*area.Dy() {
			return want, true
		}
		got = ""
		for c, n := range counts {
			if got == "" || n > counts[got] {
				got = c
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	return got, false
}

// areaTints counts the pixels of each tint in area of img.
func areaTints(img image.Image, area image.Rectangle) map[string]int {
	counts := map[string]int{}
	for py := area.Min.Y; py < area.Max.Y; py++ {
		for px := area.Min.X; px < area.Max.X; px++ {
			counts[tint(img.At(px, py))]++
		}
	}
	return counts
}

// click moves the pointer to (px, py) and clicks there.
func (x *xDisplay) click(t *testing.T, px, py int) {
	t.Helper()
	x.xdotool(t, "mousemove", strconv.Itoa(px), strconv.Itoa(py), "click", "1")
}

// pointerAway parks the pointer in the bottom right corner, off every list.
func (x *xDisplay) pointerAway(t *testing.T) {
	t.Helper()
	x.xdotool(t, "mousemove", strconv.Itoa(screenW-1), strconv.Itoa(screenH-1))
}

// wiresharkGUI is one running Wireshark.
type wiresharkGUI struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
}

// startWireshark starts the Wireshark GUI as the user, on display x, in a
// process group of its own (dumpcap and the extcaps it starts are in it
// too) that is killed when the test ends.
//
// It runs in the lab VM's network namespace, where vmdump still reaches
// the VM's sshd at its address. Wireshark reloads its interface list, and
// with it rebuilds every extcap toolbar, whenever a network interface of
// its own namespace comes or goes; a rebuilt toolbar has lost the running
// capture's control pipes, so vmdump's messages after that never show.
// In the machine's namespace the veths of other packages' labs, built and
// torn down while these tests run, would do that at random. The VM's
// namespace holds only this lab's links, which stay put.
func (u *user) startWireshark(x *xDisplay, args ...string) *wiresharkGUI {
	u.t.Helper()
	runtimeDir := filepath.Join(u.home, ".runtime")
	if err := os.MkdirAll(runtimeDir, 0o700); err != nil {
		u.t.Fatal(err)
	}
	ws := &wiresharkGUI{done: make(chan struct{})}
	ws.cmd = exec.Command("ip", append([]string{"netns", "exec", u.lab.Namespace, "wireshark"}, args...)...)
	ws.cmd.Env = append(append([]string(nil), u.env...), "DISPLAY="+x.name, "XDG_RUNTIME_DIR="+runtimeDir)
	ws.cmd.Stderr = &ws.stderr
	ws.cmd.SysProcAttr = ownProcessGroup(true)
	if err := ws.cmd.Start(); err != nil {
		u.t.Fatalf("start wireshark: %v", err)
	}
	go func() { ws.cmd.Wait(); close(ws.done) }()
	u.t.Cleanup(func() {
		signalGroup(ws.cmd.Process.Pid, syscall.SIGKILL)
		<-ws.done
	})
	return ws
}

func (ws *wiresharkGUI) exited() bool {
	select {
	case <-ws.done:
		return true
	default:
		return false
	}
}

// mainWindow waits for Wireshark's main window, moves it to the top left
// corner, makes it fill the screen and moves the pointer out of the way (a
// hovered row is highlighted too).
func (x *xDisplay) mainWindow(t *testing.T, ws *wiresharkGUI) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var id string
	for id == "" {
		if ws.exited() {
			t.Fatalf("wireshark exited: %s", ws.stderr.String())
		}
		if time.Now().After(deadline) {
			x.keepFailureShot(t)
			t.Fatalf("no Wireshark main window within 60s; windows: %s", x.windowNames())
		}
		// The welcome screen's title; a capture's title starts with "Capturing from".
		for _, name := range []string{"The Wireshark Network Analyzer", "Capturing from"} {
			if id = x.findWindow(name); id != "" {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	x.xdotool(t, "windowmove", id, "0", "0", "windowsize", id, strconv.Itoa(screenW), strconv.Itoa(screenH))
	x.xdotool(t, "mousemove", strconv.Itoa(screenW-1), strconv.Itoa(screenH-1))
	return id
}

// processesWithArg lists the pids of processes whose command line has arg.
func processesWithArg(arg string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range strings.Split(string(b), "\x00") {
			if a == arg {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
