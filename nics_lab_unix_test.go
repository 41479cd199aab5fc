//go:build unix

// The lab tests run tshark in a process group of its own and signal
// processes in the lab VM, which needs Unix.

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/lab"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// ---- the lab VM, in process ----

// labVM is the lab as a VM of vmdump's, with its host key known in env's
// home.
func labVM(t *testing.T, l *lab.Lab, env discover.Env) vmctl.VM {
	t.Helper()
	kh := filepath.Join(env.Home, ".ssh", "known_hosts")
	if err := os.MkdirAll(filepath.Dir(kh), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kh, []byte(l.HostKeyLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	return vmctl.VM{ID: "vmdump_config_lab", Manager: "config", Name: "lab", Host: l.VMAddr, Port: l.SSHPort, User: l.User,
		KeyFiles: []string{l.KeyFile}, State: vmctl.Running, Interface: "eth1"}
}

// TestNICReloadRefreshesInventory: the dialog's Reload connects, answers
// with the VM's interfaces as they are now, and caches them for the next
// listing.
func TestNICReloadRefreshesInventory(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	env := nicTestEnv(t)
	vm := labVM(t, l, env)
	var o extcap.Options
	_, err := extcap.ParseArgs([]string{"--extcap-config", "--extcap-interface", vm.ID, "--extcap-reload-option", "remote-interface"}, &o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := reloadInterfaces(o, env, slog.New(slog.DiscardHandler), vm, "", &out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"value {arg=0}{value=eth1}{display=eth1 (veth)}{default=true}",
		"value {arg=0}{value=docker0}{display=docker0 (bridge",
		"value {arg=0}{value=" + l.ContainerVeth(1) + "}{display=" + l.ContainerVeth(1) + " (veth on docker0)}",
		"value {arg=0}{value=" + l.ContainerVeth(2) + "}",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("reload lacks %q:\n%s", s, out.String())
		}
	}
	if strings.Contains(out.String(), "arg {") || strings.Contains(out.String(), "not reloaded") {
		t.Errorf("reload answer:\n%s", out.String())
	}
	inv, ok := probe.LoadInventory(env, vm.ID)
	if !ok || time.Since(inv.FetchedAt) > time.Hour {
		t.Fatalf("inventory not cached: %v %+v", ok, inv.FetchedAt)
	}
	if _, ok := inv.NIC(l.ContainerVeth(2)); !ok {
		t.Errorf("cached inventory lacks %s", l.ContainerVeth(2))
	}
}

// TestNICReloadDeadVM: a VM whose SSH port accepts and then says nothing
// must not hang the dialog: Reload gives up after reloadTimeout and answers
// with the cached list, saying why on the default entry.
func TestNICReloadDeadVM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, silent
		}
	}()
	old := reloadTimeout
	reloadTimeout = time.Second
	defer func() { reloadTimeout = old }()

	env := nicTestEnv(t)
	vm := vmctl.VM{ID: "vmdump_x_dead", Manager: "x", Name: "dead", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: "u", Interface: "eth0"}
	if err := probe.SaveInventory(env, vm.ID, nicTestInventory); err != nil {
		t.Fatal(err)
	}
	var o extcap.Options
	_, _ = extcap.ParseArgs([]string{"--extcap-config", "--extcap-interface", vm.ID, "--extcap-reload-option", "remote-interface"}, &o)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- reloadInterfaces(o, env, slog.New(slog.DiscardHandler), vm, "", &out) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Reload hangs on a VM that does not answer")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(nicTestInventory.NICs) || !strings.Contains(out.String(), "{value=eth0}{display=eth0 (not reloaded: ") || !strings.Contains(out.String(), "{default=true}") {
		t.Errorf("fallback answer:\n%s", out.String())
	}
	if inv, ok := probe.LoadInventory(env, vm.ID); !ok || !inv.FetchedAt.Equal(nicTestInventory.FetchedAt) {
		t.Errorf("the cache changed: %v %v", ok, inv.FetchedAt)
	}
}

// labNICSession builds a lab and connects to it as a capture does: the VM
// as discovered, one SSH connection (closed when the test ends), the probe
// and the inventory.
func labNICSession(t *testing.T) (*lab.Lab, vmctl.VM, *sshconn.Conn, probe.Probe, probe.Inventory) {
	t.Helper()
	needTshark(t)
	l := lab.Start(t, lab.Options{})
	env := nicTestEnv(t)
	vm := labVM(t, l, env)
	opt := sshconn.DialOptions{Home: env.Home, KnownHostsFile: filepath.Join(env.Home, ".ssh", "known_hosts"), PinnedKeysFile: filepath.Join(env.Home, "pins"), Log: slog.New(slog.DiscardHandler)}
	conn, err := sshconn.Dial(context.Background(), vm, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	probe, inv, err := probe.RunInventory(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	return l, vm, conn, probe, inv
}

// TestNICRunCapturesInProcess: two of the lab's veths through runCaptures
// into one pcapng file; traffic from the VM itself to container 2 must be
// on container 2's veth only, the containers' conversation on both, and
// each interface gets tcpdump's counters.
func TestNICRunCapturesInProcess(t *testing.T) {
	l, vm, conn, probe, inv := labNICSession(t)
	log := slog.New(slog.DiscardHandler)
	names := []string{l.ContainerVeth(1), l.ContainerVeth(2)}
	specs := captureSpecs(remotecap.CaptureSpec{Filter: remotecap.BuildFilter("", false, probe)}, names)
	file := filepath.Join(t.TempDir(), "out.pcapng")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapng.NewWriter(f, "vmdump test")
	ctrl, _ := extcap.OpenControl("", "")
	ctx, cancel := context.WithCancel(context.Background())
	type ret struct {
		res captureResult
		err error
	}
	done := make(chan ret, 1)
	go func() {
		res, err := runCaptures(ctx, conn, probe, specs, func() []pcapng.NIC { return pcapngNICs(vm, inv, specs, "Linux", "") }, w, ctrl, vm.Name, log)
		done <- ret{res, err}
	}()
	waitTcpdumps(t, l, 2)
	const messages = 5
	l.Send(t, messages, 10*time.Millisecond)
	marker := sendFromVM(t, l, l.ContainerAddr(2), 3)
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
	checkTwoNICFile(t, file, "lab:"+names[0], "lab:"+names[1], marker, messages)
}

// TestNICRunCapturesOneInterfaceEnds: when one interface's tcpdump ends
// (its container stopped), the GUI hears of it at once and the other
// interface goes on capturing into the same file.
func TestNICRunCapturesOneInterfaceEnds(t *testing.T) {
	l, vm, conn, probe, inv := labNICSession(t)
	log := slog.New(slog.DiscardHandler)
	// The toolbar's pipe, read as Wireshark would.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	ctrl, err := extcap.OpenControl(fmt.Sprintf("/proc/self/fd/%d", pw.Fd()), "")
	if err != nil {
		t.Fatal(err)
	}
	pw.Close()
	toolbar := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(pr); toolbar <- b }()

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
		res, err := runCaptures(ctx, conn, probe, specs, func() []pcapng.NIC { return pcapngNICs(vm, inv, specs, "Linux", "") }, w, ctrl, vm.Name, log)
		if err != nil {
			t.Errorf("runCaptures: %v", err)
		}
		done <- res
	}()
	pids := waitTcpdumps(t, l, 2)
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
	for len(remainingTcpdumps(l)) != 1 && time.Now().Before(waitFor) {
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
	ctrl.Close()
	pipe := <-toolbar
	if !bytes.Contains(pipe, []byte{0, extcap.CtrlError}) || !bytes.Contains(pipe, []byte(names[0]+": the capture on VM lab ended by itself")) {
		t.Errorf("the toolbar did not hear of %s's end: %q", names[0], pipe)
	}
	if res.remoteErr == nil || !strings.Contains(res.remoteErr.Error(), names[0]) {
		t.Errorf("result %+v", res)
	}
	per := map[string]int{}
	for _, line := range strings.Fields(runOut(t, nil, "tshark", "-r", file, "-T", "fields", "-e", "frame.interface_name")) {
		per[line]++
	}
	if per["lab:"+names[0]] != 2*3 || per["lab:"+names[1]] != 2*(3+4) {
		t.Errorf("data segments per interface %v: want %d on %s (until its end) and %d on %s", per, 2*3, names[0], 2*7, names[1])
	}
	if ng := readPcapng(t, file); len(ng.stats) != 2 {
		t.Errorf("statistics for %d interfaces, want both", len(ng.stats))
	}
}

func remainingTcpdumps(l *lab.Lab) []int {
	var pids []int
	for _, p := range l.ProcessesInVM() {
		if f := strings.Fields(p.Cmdline); len(f) > 0 && filepath.Base(f[0]) == "tcpdump" {
			pids = append(pids, p.Pid)
		}
	}
	return pids
}

// ---- through tshark and the installed binary (needs the glue) ----

// TestNICTsharkCapturesTwoNICs: tshark captures two of the VM's
// interfaces through one vmdump interface. The capture is ended from the
// VM's side (its tcpdumps are stopped, as when the VM shuts down): tshark's
// own stop (-a, Ctrl-C) ends dumpcap before vmdump, so the statistics
// vmdump writes at the end never reach the file that way, while Wireshark's
// GUI stops the extcap first and keeps reading until it has exited.
func TestNICTsharkCapturesTwoNICs(t *testing.T) {
	needTshark(t)
	l := lab.Start(t, lab.Options{})
	u := installForNICTest(t, l.VMAddr, l.SSHPort, l.User, l.KeyFile, l.HostKeyLine())
	names := []string{l.ContainerVeth(1), l.ContainerVeth(2)}
	out := filepath.Join(t.TempDir(), "out.pcapng")
	ts := exec.Command("tshark", "-i", u.vmID, "-w", out,
		"-o", "extcap."+u.vmID+".remoteinterface:"+strings.Join(names, ","),
		"-o", "extcap."+u.vmID+".payloadonly:off")
	ts.Env = u.env
	var stderr bytes.Buffer
	ts.Stderr = &stderr
	ts.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := ts.Start(); err != nil {
		t.Fatal(err)
	}
	tsDone := make(chan struct{}) // closed when tshark has exited
	go func() { _ = ts.Wait(); close(tsDone) }()
	t.Cleanup(func() {
		select {
		case <-tsDone:
		default:
			syscall.Kill(-ts.Process.Pid, syscall.SIGKILL)
			<-tsDone
		}
	})
	tcpdumps := waitTcpdumps(t, l, 2)
	const messages = 5
	l.Send(t, messages, 10*time.Millisecond)
	marker := sendFromVM(t, l, l.ContainerAddr(2), 3)
	time.Sleep(500 * time.Millisecond) // let the last packets through tcpdump; the counts below are exact
	for _, pid := range tcpdumps {
		// tcpdump prints its statistics and exits; vmdump writes them
		// down and ends, then dumpcap and tshark.
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatalf("stopping tcpdump %d in the VM: %v", pid, err)
		}
	}
	select {
	case <-tsDone:
	case <-time.After(60 * time.Second):
		t.Fatalf("tshark did not end; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "ended by itself") {
		t.Errorf("tshark's stderr does not say the capture ended on the VM's side:\n%s", stderr.String())
	}
	checkTwoNICFile(t, out, "nictest:"+names[0], "nictest:"+names[1], marker, messages)

	// The capture refreshed the inventory: tshark -D now lists the VM's
	// interfaces, still without connecting anywhere (see the next test).
	list := runOut(t, u.env, "tshark", "-D")
	for _, n := range names {
		if !strings.Contains(list, u.vmID+nicIDSep+n+" (nictest: "+n+" (veth on docker0))") {
			t.Errorf("tshark -D lacks %s:\n%s", n, list)
		}
	}
}

// TestNICExtcapInterfacesNeverTouchTheNetwork: with a warm cache, the
// listing and the dialog show the VM's NICs, and the VM's SSH port (a
// listener of the test's) sees no connection.
func TestNICExtcapInterfacesNeverTouchTheNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	key := filepath.Join(t.TempDir(), "id_ed25519")
	writeTestFile(t, key, "not a key: the listing must never read it\n")
	u := installForNICTest(t, "127.0.0.1", port, "docker", key, "")
	env := nicTestEnv(t)
	env.Getenv = func(k string) string {
		if k == "VMDUMP_CACHE_DIR" {
			return filepath.Join(u.home, ".cache", "vmdump")
		}
		return ""
	}
	if err := probe.SaveInventory(env, u.vmID, nicTestInventory); err != nil {
		t.Fatal(err)
	}
	list := runOut(t, u.env, u.bin, "--extcap-interfaces", "--extcap-version=4.0")
	for _, s := range []string{
		"interface {value=" + u.vmID + "}",
		"interface {value=" + u.vmID + "__docker0}{display=nictest: docker0 (bridge)}",
		"interface {value=" + u.vmID + "__vethab12}{display=nictest: vethab12 — container web (nginx)}",
		"control {number=0}{type=button}{role=logger}",
	} {
		if !strings.Contains(list, s) {
			t.Errorf("--extcap-interfaces lacks %q:\n%s", s, list)
		}
	}
	cfg := runOut(t, u.env, u.bin, "--extcap-config", "--extcap-interface", u.vmID+"__vethab12")
	if !strings.Contains(cfg, "value {arg=0}{value=vethab12}{display=vethab12 — container web (nginx)}{default=true}") || !strings.Contains(cfg, "{call=--more-interfaces}") {
		t.Errorf("--extcap-config of a NIC:\n%s", cfg)
	}
	if dlts := runOut(t, u.env, u.bin, "--extcap-dlts", "--extcap-interface", u.vmID+"__vethab12"); !strings.Contains(dlts, "dlt ") {
		t.Errorf("--extcap-dlts: %s", dlts)
	}
	if tsList := runOut(t, u.env, "tshark", "-D"); !strings.Contains(tsList, u.vmID+"__vethab12") {
		t.Errorf("tshark -D lacks the NIC:\n%s", tsList)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("listing connected to the VM %d times", n)
	}
}

// ---- helpers ----

func needTshark(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tshark is not installed (CI must install it)")
		}
		t.Skip("tshark is not installed")
	}
}

// nicTestUser is a home with vmdump installed into Wireshark's personal
// extcap folder and one VM, "nictest", in vmdump's config file.
type nicTestUser struct {
	home, bin, vmID string
	env             []string
}

func installForNICTest(t *testing.T, host string, port int, user, key, knownHostsLine string) nicTestUser {
	t.Helper()
	needTshark(t)
	u := nicTestUser{home: t.TempDir()}
	u.bin = filepath.Join(t.TempDir(), "vmdump")
	if out, err := exec.Command("go", "build", "-o", u.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	u.env = []string{"HOME=" + u.home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if out, err := u.run("install"); err != nil {
		t.Fatalf("vmdump install: %v\n%s", err, out)
	}
	writeTestFile(t, filepath.Join(u.home, ".config", "vmdump", "config.toml"),
		fmt.Sprintf("[[vm]]\nname = \"nictest\"\nhost = %q\nport = %d\nuser = %q\nkey = %q\ninterface = \"eth1\"\n", host, port, user, key))
	if knownHostsLine != "" {
		writeTestFile(t, filepath.Join(u.home, ".ssh", "known_hosts"), knownHostsLine+"\n")
	}
	out, err := u.run("list", "--json")
	if err != nil {
		t.Fatalf("vmdump list: %v\n%s", err, out)
	}
	var vms []struct{ ID, Name, Manager string }
	if err := json.Unmarshal(out, &vms); err != nil {
		t.Fatalf("vmdump list --json: %v\n%s", err, out)
	}
	for _, vm := range vms {
		if vm.Manager == "config" && vm.Name == "nictest" {
			u.vmID = vm.ID
		}
	}
	if u.vmID == "" {
		t.Fatalf("the config VM is not listed:\n%s", out)
	}
	// The glue must be in place for what follows.
	if list := runOut(t, u.env, u.bin, "--extcap-interfaces"); !strings.Contains(list, "{role=logger}") {
		t.Fatalf("vmdump does not use nics.go yet (no toolbar control in --extcap-interfaces): apply the glue to capture.go and wireshark.go\n%s", list)
	}
	return u
}

func (u nicTestUser) run(args ...string) ([]byte, error) {
	cmd := exec.Command(u.bin, args...)
	cmd.Env = u.env
	return cmd.CombinedOutput()
}

func runOut(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitTcpdumps waits until n tcpdumps run in the lab VM, gives them a
// moment to open their sockets (synchronisation only; nothing is timed) and
// returns their pids.
func waitTcpdumps(t *testing.T, l *lab.Lab, n int) []int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if pids := remainingTcpdumps(l); len(pids) >= n {
			time.Sleep(500 * time.Millisecond)
			return pids
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%d tcpdumps did not start in the VM", n)
	return nil
}

// sendFromVM sends n UDP datagrams from the VM itself (its docker0
// address) to addr's echo port; it returns their payload.
func sendFromVM(t *testing.T, l *lab.Lab, addr string, n int) string {
	t.Helper()
	marker := fmt.Sprintf("vmdump-from-the-vm-%d", time.Now().UnixNano())
	script := fmt.Sprintf("for i in $(seq %d); do printf %%s %s > /dev/udp/%s/%d; done", n, marker, addr, lab.EchoPort)
	if out, err := l.Exec("bash", "-c", script); err != nil {
		t.Fatalf("sending from the VM: %v %s", err, out)
	}
	return marker
}

// checkTwoNICFile checks a capture of container 1's and container 2's
// veths: two interfaces with these names, every TCP data segment of the
// containers' conversation on both, the VM's own datagrams to container 2
// (and their echoes) only on container 2's, and a statistics block per
// interface.
func checkTwoNICFile(t *testing.T, file, name1, name2, marker string, messages int) {
	t.Helper()
	ng := readPcapng(t, file)
	if len(ng.ifaces) != 2 {
		t.Fatalf("%d interface blocks, want 2: %+v", len(ng.ifaces), ng.ifaces)
	}
	per := map[string]map[string]int{name1: {}, name2: {}}
	fields := runOut(t, nil, "tshark", "-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name", "-e", "tcp.len", "-e", "data.data")
	hexMarker := fmt.Sprintf("%x", marker)
	for _, line := range strings.Split(strings.TrimSpace(fields), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		m, ok := per[f[0]]
		if !ok {
			t.Fatalf("a packet on interface %q, not %s or %s", f[0], name1, name2)
		}
		switch {
		case f[1] != "" && f[1] != "0":
			m["data"]++
		case strings.Contains(strings.ReplaceAll(f[2], ":", ""), hexMarker):
			m["marker"]++
		}
	}
	if per[name1]["data"] != 2*messages || per[name2]["data"] != 2*messages {
		t.Errorf("data segments per interface %v, want %d on each", per, 2*messages)
	}
	if per[name1]["marker"] != 0 || per[name2]["marker"] < 3 {
		t.Errorf("the VM's datagrams to container 2 per interface %v: want none on %s, at least 3 on %s", per, name1, name2)
	}
	for i, want := range []string{name1, name2} {
		if ng.ifaces[i].name != want {
			t.Errorf("interface %d is %q, want %q", i, ng.ifaces[i].name, want)
		}
	}
	// Wireshark's Capture File Properties show an interface's drops only
	// when it has exactly one statistics block.
	if n := strings.Count(runOut(t, nil, "capinfos", "-I", file), "Number of stat entries = 1"); n != 2 {
		t.Errorf("capinfos finds one statistics block for %d interfaces, want 2", n)
	}
	for i := range ng.ifaces {
		st, ok := ng.stats[i]
		if !ok || !st.hasRecv || !st.hasDrop || st.blocks != 1 {
			t.Errorf("interface %s: no received/dropped counts in a statistics block (%+v)", ng.ifaces[i].name, st)
			continue
		}
		if st.recv < uint64(2*messages) {
			t.Errorf("interface %s: %d received, want at least %d", ng.ifaces[i].name, st.recv, 2*messages)
		}
	}
}

type pcapngIface struct{ name string }

type pcapngStats struct {
	recv, drop       uint64
	hasRecv, hasDrop bool
	blocks           int // statistics blocks of the interface
}

type pcapngSummary struct {
	ifaces []pcapngIface
	stats  map[int]pcapngStats // by interface, the last block's counts
}

// readPcapng reads the interface and statistics blocks of a little-endian
// pcapng file (what vmdump and dumpcap write here).
func readPcapng(t *testing.T, file string) pcapngSummary {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := pcapngSummary{stats: map[int]pcapngStats{}}
	le := binary.LittleEndian
	for len(b) >= 12 {
		typ, n := le.Uint32(b), int(le.Uint32(b[4:]))
		if n < 12 || n > len(b) || n%4 != 0 {
			t.Fatalf("bad pcapng block length %d", n)
		}
		body := b[8 : n-4]
		switch typ {
		case 0x0A0D0D0A:
			if le.Uint32(body) != 0x1A2B3C4D {
				t.Fatal("big-endian pcapng: not expected here")
			}
		case 1: // interface
			ifc := pcapngIface{}
			eachOption(body[8:], func(code uint16, v []byte) {
				if code == 2 {
					ifc.name = string(v)
				}
			})
			s.ifaces = append(s.ifaces, ifc)
		case 5: // interface statistics
			var st pcapngStats
			eachOption(body[12:], func(code uint16, v []byte) {
				switch {
				case code == 4 && len(v) == 8:
					st.recv, st.hasRecv = le.Uint64(v), true
				case code == 5 && len(v) == 8:
					st.drop, st.hasDrop = le.Uint64(v), true
				}
			})
			st.blocks = s.stats[int(le.Uint32(body))].blocks + 1
			s.stats[int(le.Uint32(body))] = st
		}
		b = b[n:]
	}
	return s
}

func eachOption(b []byte, f func(code uint16, v []byte)) {
	le := binary.LittleEndian
	for len(b) >= 4 {
		code, n := le.Uint16(b), int(le.Uint16(b[2:]))
		if code == 0 || 4+n > len(b) {
			return
		}
		f(code, b[4:4+n])
		b = b[4+(n+3)&^3:]
	}
}
