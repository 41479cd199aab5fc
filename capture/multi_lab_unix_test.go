//go:build unix

package capture

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest/nictest"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl/remotecap"
)

// TestNICRunCapturesInProcess: two of the lab's veths through runCaptures
// into one pcapng file; traffic from the VM itself to container 2 must be
// on container 2's veth only, the containers' conversation on both, and
// each interface gets tcpdump's counters.
func TestNICRunCapturesInProcess(t *testing.T) {
	l, vm, conn, probe, inv := nictest.Session(t)
	log := slog.New(slog.DiscardHandler)
	names := []string{l.ContainerVeth(1), l.ContainerVeth(2)}
	specs := captureSpecs(remotecap.CaptureSpec{Filter: remotecap.BuildFilter("", false, probe)}, names)
	file := filepath.Join(t.TempDir(), "out.pcapng")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapng.NewWriter(f, "vmdump test")
	n := &recordingNotifier{}
	ctx, cancel := context.WithCancel(context.Background())
	type ret struct {
		res captureResult
		err error
	}
	done := make(chan ret, 1)
	go func() {
		res, err := runCaptures(ctx, conn, probe, specs, func() []pcapng.NIC { return pcapngNICs(vm, inv, specs, "Linux", "") }, w, n, vm.Name, "", "", log, nil)
		done <- ret{res, err}
	}()
	nictest.WaitTcpdumps(t, l, 2)
	const messages = 5
	l.Send(t, messages, 10*time.Millisecond)
	marker := nictest.SendFromVM(t, l, l.ContainerAddr(2), 3)
	time.Sleep(500 * time.Millisecond) // let the last packets through tcpdump; the assertions count exact numbers
	cancel()
	var r ret
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("runCaptures did not return after the stop")
	}
	f.Close()
	if r.err != nil || r.res.remoteErr != nil || r.res.pumpErr != nil {
		t.Fatalf("runCaptures: %v / %+v", r.err, r.res)
	}
	nictest.CheckTwoNICFile(t, file, "lab:"+names[0], "lab:"+names[1], marker, messages)
}

// TestNICRunCapturesOneInterfaceEnds: when one interface's tcpdump ends
// (its container stopped), the GUI hears of it at once and the other
// interface goes on capturing into the same file.
func TestNICRunCapturesOneInterfaceEnds(t *testing.T) {
	l, vm, conn, probe, inv := nictest.Session(t)
	log := slog.New(slog.DiscardHandler)
	// The toolbar's pipe, read as Wireshark would.
	n := &recordingNotifier{}

	names := []string{l.ContainerVeth(1), l.ContainerVeth(2)}
	specs := captureSpecs(remotecap.CaptureSpec{Filter: remotecap.BuildFilter("", true, probe)}, names)
	file := filepath.Join(t.TempDir(), "out.pcapng")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapng.NewWriter(f, "vmdump test")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan captureResult, 1)
	go func() {
		res, err := runCaptures(ctx, conn, probe, specs, func() []pcapng.NIC { return pcapngNICs(vm, inv, specs, "Linux", "") }, w, n, vm.Name, "", "", log, nil)
		if err != nil {
			t.Errorf("runCaptures: %v", err)
		}
		done <- res
	}()
	pids := nictest.WaitTcpdumps(t, l, 2)
	l.Send(t, 3, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // let the packets through tcpdump; the counts below are exact
	// Stop the tcpdump of the first veth only.
	first := -1
	for _, pid := range pids {
		if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); bytes.Contains(cmd, []byte("\x00"+names[0]+"\x00")) {
			first = pid
		}
	}
	if first < 0 {
		t.Fatalf("no tcpdump on %s among %v", names[0], pids)
	}
	if err := syscall.Kill(first, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor := time.Now().Add(30 * time.Second)
	for len(nictest.RemainingTcpdumps(l)) != 1 && time.Now().Before(waitFor) {
		time.Sleep(50 * time.Millisecond)
	}
	l.Send(t, 4, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	cancel()
	var res captureResult
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("runCaptures did not return")
	}
	f.Close()
	if errs := n.errors(); len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), names[0]+": the capture on VM lab ended by itself") {
		t.Errorf("the notifier did not hear of %s's end: %q", names[0], errs)
	}
	if res.remoteErr == nil || !strings.Contains(res.remoteErr.Error(), names[0]) {
		t.Errorf("result %+v", res)
	}
	per := map[string]int{}
	for _, line := range strings.Fields(nictest.RunOut(t, nil, "tshark", "-r", file, "-T", "fields", "-e", "frame.interface_name")) {
		per[line]++
	}
	if per["lab:"+names[0]] != 2*3 || per["lab:"+names[1]] != 2*(3+4) {
		t.Errorf("data segments per interface %v: want %d on %s (until its end) and %d on %s", per, 2*3, names[0], 2*7, names[1])
	}
	if ng := nictest.ReadPcapng(t, file); len(ng.Stats) != 2 {
		t.Errorf("statistics for %d interfaces, want both", len(ng.Stats))
	}
}

// recordingNotifier keeps what a capture told its user.
type recordingNotifier struct {
	mu                  sync.Mutex
	status, errs, lines []string
}

func (r *recordingNotifier) Status(msg string) {
	r.mu.Lock()
	r.status = append(r.status, msg)
	r.mu.Unlock()
}
func (r *recordingNotifier) Error(msg string) {
	r.mu.Lock()
	r.errs = append(r.errs, msg)
	r.mu.Unlock()
}
func (r *recordingNotifier) Log(msg string) {
	r.mu.Lock()
	r.lines = append(r.lines, msg)
	r.mu.Unlock()
}

func (r *recordingNotifier) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}
