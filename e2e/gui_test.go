package e2e

import (
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestGUICapture: the real Wireshark GUI, started as a user would from a
// terminal (`wireshark -k -i <VM> -a duration:N -w file`), lists the lab VM
// through its own extcap path, runs vmdump for the capture, stops it when
// the duration is over, and the file holds the lab's traffic under the VM's
// interface name.
func TestGUICapture(t *testing.T) {
	needGUI(t)
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l)
	x := startXvfb(t)
	l.StartSteady(t, 20)

	out := filepath.Join(t.TempDir(), "gui.pcapng")
	ws := u.startWireshark(x, "-k", "-i", u.vmID, "-a", "duration:8", "-w", out)

	// vmdump's tcpdump appears in the VM once the GUI started the capture,
	// and goes when the GUI stopped it at the end of the duration.
	waitFor(t, x, ws, "vmdump's tcpdump to start in the VM", 60*time.Second, func() bool { return len(u.remoteCaptures()) > 0 })
	waitFor(t, x, ws, "the GUI to stop vmdump after 8 s", 60*time.Second, func() bool { return len(u.remoteCaptures()) == 0 })
	// dumpcap (started with -w out, like Wireshark itself) has written the
	// file once it exits; the window then shows the file's name.
	waitFor(t, x, ws, "dumpcap to finish "+out, 30*time.Second, func() bool {
		for _, pid := range processesWithArg(out) {
			if pid != ws.cmd.Process.Pid {
				return false
			}
		}
		return x.findWindow(filepath.Base(out)) != ""
	})
	if ws.exited() {
		t.Fatalf("wireshark exited during the capture: %s", ws.stderr.String())
	}

	all, data := count(t, out, ""), count(t, out, "tcp.len > 0")
	if data == 0 || all < data {
		t.Fatalf("the GUI's capture holds %d packets, %d with TCP data; want the lab's echo traffic", all, data)
	}
	// vmdump's interface block names the VM and its NIC ("lab:veth…");
	// dumpcap keeps it.
	wantName := "lab:" + l.ContainerVeth(1)
	fields := read(t, out, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name", "-e", "frame.interface_description")
	for _, line := range strings.Split(strings.TrimSpace(fields), "\n") {
		name, descr, _ := strings.Cut(line, "|")
		if name != wantName || !strings.HasPrefix(descr, "Docker VM lab (config)") {
			t.Fatalf("packet on interface %q (%q), want %s (Docker VM lab (config) ...)", name, descr, wantName)
		}
	}
	t.Logf("the GUI captured %d packets (%d with data) from %s", all, data, u.vmID)
}

// waitFor polls cond until it holds; on timeout, or when Wireshark quit,
// it fails the test with a screenshot of the screen kept for a person.
func waitFor(t *testing.T, x *xDisplay, ws *wiresharkGUI, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if ws.exited() {
			t.Fatalf("wireshark exited while waiting for %s: %s", what, ws.stderr.String())
		}
		if time.Now().After(deadline) {
			x.keepFailureShot(t)
			t.Fatalf("waited %v for %s; windows: %s; wireshark stderr: %s", limit, what, x.windowNames(), ws.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Where the welcome page's capture filter field is at 1280×800 in
// Wireshark 4.0 (its layout does not depend on the interface list above or
// below it).
var (
	filterField = image.Point{X: 580, Y: 201}
	filterProbe = image.Rect(640, 201, 641, 202) // a pixel inside the field, right of any text typed
)

// TestGUIScreenshots photographs, for the README, what a user sees: the
// interface list with the VMs, vmdump's options dialog, the capture filter
// field checked by vmdump (green and red), and a live capture. It runs only
// when VMDUMP_SCREENSHOTS names the folder to write to (docs, relative to
// the repository), so that CI never depends on pixels; the filter colours
// are asserted when it runs.
//
//	VMDUMP_SCREENSHOTS=docs go test -count=1 -run TestGUIScreenshots ./e2e/
func TestGUIScreenshots(t *testing.T) {
	dir := os.Getenv("VMDUMP_SCREENSHOTS")
	if dir == "" {
		t.Skip("set VMDUMP_SCREENSHOTS=docs to write the README's screenshots")
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir) // tests run in e2e/
	}
	needGUI(t)
	l := lab.Start(t, lab.Options{})
	u := newUser(t, l, vmConfig{Name: "lab", Host: l.VMAddr, Port: l.SSHPort, User: l.User, Key: l.KeyFile, Interface: "docker0"})
	u.addFixtureVMs(t)
	// Only external captures in the list: the machine's own NICs (and the
	// veths of other labs) would push the VMs out of sight.
	writeFile(t, filepath.Join(u.home, ".config", "wireshark", "preferences"), "gui.interfaces_hidden_types: 0,1,2,3,4,5,6,7,9\n")
	if _, err := l.StartHTTP(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	x := startXvfb(t)
	ws := u.startWireshark(x, "-i", u.vmID)
	x.mainWindow(t, ws)

	// 1. The interface list; -i selected the lab VM.
	y, left := x.stableSelection(t, 700, 60*time.Second)
	t.Logf("the selected interface's row is at y=%d, from x=%d", y, left)
	x.saveShot(t, filepath.Join(dir, "wireshark-interfaces.png"), image.Rect(0, 0, screenW, 434))

	// Wireshark reloads the interface list whenever a network interface
	// comes or goes (the veths of other labs on the machine do), and a
	// click or an edit during a reload is lost; so each step is retried.

	// 2. vmdump's options dialog: the gear at the left of the row.
	for attempt := 1; ; attempt++ {
		y, left = x.stableSelection(t, 700, 60*time.Second)
		x.click(t, left+11, y)
		x.pointerAway(t)
		if _, ok := x.tryWindow("Interface Options: Docker VM lab", 10*time.Second); ok {
			break
		}
		if attempt == 3 {
			x.keepFailureShot(t)
			t.Fatalf("the gear of the selected row opened no options dialog; windows: %s", x.windowNames())
		}
	}
	x.settle(t, 10*time.Second)
	x.saveShot(t, filepath.Join(dir, "wireshark-options.png"), image.Rect(0, 0, screenW, 560))
	x.xdotool(t, "key", "Escape")
	x.waitNoWindow(t, "Interface Options", 10*time.Second)

	// 3. The capture filter: Wireshark asks vmdump (--extcap-capture-filter)
	// at each edit; green = valid, red = vmdump's error. The lab row is
	// clicked first so that it is the one selected interface.
	setFilter := func(text, want string) {
		t.Helper()
		got := ""
		for attempt := 1; ; attempt++ {
			y, _ := x.stableSelection(t, 700, 60*time.Second)
			x.click(t, 700, y)
			x.click(t, filterField.X, filterField.Y)
			x.xdotool(t, "key", "ctrl+a", "BackSpace")
			x.xdotool(t, "type", "--delay", "40", text)
			x.pointerAway(t)
			var ok bool
			if got, ok = x.tryTint(t, filterProbe, want, 10*time.Second); ok {
				return
			}
			if attempt == 4 {
				x.keepFailureShot(t)
				t.Fatalf("the capture filter field is %s for %q, want %s", got, text, want)
			}
		}
	}
	setFilter("tcp port 80", "green")
	x.settle(t, 5*time.Second)
	x.saveShot(t, filepath.Join(dir, "wireshark-filter-valid.png"), image.Rect(0, 156, screenW, 434))
	setFilter("tcp port 80 and (host", "red")
	x.settle(t, 5*time.Second)
	// The status bar at the bottom shows vmdump's message.
	x.saveShot(t, filepath.Join(dir, "wireshark-filter-invalid.png"), image.Rectangle{})

	// 4. A live capture with the valid filter: Return in the field starts it.
	setFilter("tcp port 80", "green")
	x.click(t, filterField.X, filterField.Y)
	x.xdotool(t, "key", "End", "Return")
	x.waitWindow(t, "Capturing from Docker VM lab", 30*time.Second)
	x.pointerAway(t)
	waitFor(t, x, ws, "vmdump's tcpdump in the VM", 60*time.Second, func() bool { return len(u.remoteCaptures()) > 0 })
	time.Sleep(6 * time.Second) // a dozen requests scroll in; only the picture depends on it
	x.saveShot(t, filepath.Join(dir, "wireshark-capture.png"), image.Rectangle{})
}

// addFixtureVMs gives the user the VM managers' files of vmctl's test
// fixture home (boot2docker, docker-machine), so that the interface
// list shows VMs of several managers next to the lab VM. They are not
// reachable; only their listing matters.
func (u *user) addFixtureVMs(t *testing.T) {
	t.Helper()
	src := filepath.Join("..", "vmctl", "discover", "testdata", "homes", "full", "home")
	for _, rel := range []string{".boot2docker", ".docker"} {
		cmd := exec.Command("cp", "-a", filepath.Join(src, rel), u.home)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("copy fixture %s: %v %s", rel, err, out)
		}
	}
}
