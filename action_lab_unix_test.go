//go:build unix

// The lab tests run tshark in a process group of its own and signal
// processes in the lab VM, which needs Unix.

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
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

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/lab"
	"github.com/vmdump/vmdump/internal/vmtest/nictest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// ---- the lab VM, in process ----

// TestNICReloadRefreshesInventory: the dialog's Reload connects, answers
// with the VM's interfaces as they are now, and caches them for the next
// listing.
func TestNICReloadRefreshesInventory(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	env := nictest.Env(t)
	vm := nictest.LabVM(t, l, env)
	var o dialog.Options
	_, err := extcap.ParseArgs([]string{"--extcap-config", "--extcap-interface", vm.ID, "--extcap-reload-option", "remote-interface"}, &o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := reloadInterfaces(o, env, slog.New(slog.DiscardHandler), capture.Resolved{VM: vm}, "", &out); err != nil {
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

	env := nictest.Env(t)
	vm := vmctl.VM{ID: "vmdump_x_dead", Manager: "x", Name: "dead", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: "u", Interface: "eth0"}
	if err := probe.SaveInventory(env, vm.ID, nictest.Inventory); err != nil {
		t.Fatal(err)
	}
	var o dialog.Options
	_, _ = extcap.ParseArgs([]string{"--extcap-config", "--extcap-interface", vm.ID, "--extcap-reload-option", "remote-interface"}, &o)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- reloadInterfaces(o, env, slog.New(slog.DiscardHandler), capture.Resolved{VM: vm}, "", &out)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Reload hangs on a VM that does not answer")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(nictest.Inventory.NICs) || !strings.Contains(out.String(), "{value=eth0}{display=eth0 (not reloaded: ") || !strings.Contains(out.String(), "{default=true}") {
		t.Errorf("fallback answer:\n%s", out.String())
	}
	if inv, ok := probe.LoadInventory(env, vm.ID); !ok || !inv.FetchedAt.Equal(nictest.Inventory.FetchedAt) {
		t.Errorf("the cache changed: %v %v", ok, inv.FetchedAt)
	}
}

// ---- through tshark and the installed binary (needs the glue) ----

// TestNICTsharkCapturesTwoNICs: tshark captures two of the VM's
// interfaces through one vmdump interface. The capture is ended from the
// VM's side (its tcpdumps are stopped, as when the VM shuts down): tshark's
// own stop (-a, Ctrl-C) ends dumpcap before vmdump, so the statistics
// vmdump writes at the end never reach the file that way, while Wireshark's
// GUI stops the extcap first and keeps reading until it has exited.
func TestNICTsharkCapturesTwoNICs(t *testing.T) {
	nictest.NeedTshark(t)
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
	tcpdumps := nictest.WaitTcpdumps(t, l, 2)
	const messages = 5
	l.Send(t, messages, 10*time.Millisecond)
	marker := nictest.SendFromVM(t, l, l.ContainerAddr(2), 3)
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
	nictest.CheckTwoNICFile(t, out, "nictest:"+names[0], "nictest:"+names[1], marker, messages)

	// The capture refreshed the inventory: tshark -D now lists the VM's
	// interfaces, still without connecting anywhere (see the next test).
	list := nictest.RunOut(t, u.env, "tshark", "-D")
	for _, n := range names {
		if !strings.Contains(list, u.vmID+"__"+n+" (nictest: "+n+" (veth on docker0))") {
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
	nictest.WriteFile(t, key, "not a key: the listing must never read it\n")
	u := installForNICTest(t, "127.0.0.1", port, "docker", key, "")
	env := nictest.Env(t)
	env.Getenv = func(k string) string {
		if k == "VMDUMP_CACHE_DIR" {
			return filepath.Join(u.home, ".cache", "vmdump")
		}
		return ""
	}
	if err := probe.SaveInventory(env, u.vmID, nictest.Inventory); err != nil {
		t.Fatal(err)
	}
	list := nictest.RunOut(t, u.env, u.bin, "--extcap-interfaces", "--extcap-version=4.0")
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
	cfg := nictest.RunOut(t, u.env, u.bin, "--extcap-config", "--extcap-interface", u.vmID+"__vethab12")
	if !strings.Contains(cfg, "value {arg=0}{value=vethab12}{display=vethab12 — container web (nginx)}{default=true}") || !strings.Contains(cfg, "{call=--more-interfaces}") {
		t.Errorf("--extcap-config of a NIC:\n%s", cfg)
	}
	if dlts := nictest.RunOut(t, u.env, u.bin, "--extcap-dlts", "--extcap-interface", u.vmID+"__vethab12"); !strings.Contains(dlts, "dlt ") {
		t.Errorf("--extcap-dlts: %s", dlts)
	}
	if tsList := nictest.RunOut(t, u.env, "tshark", "-D"); !strings.Contains(tsList, u.vmID+"__vethab12") {
		t.Errorf("tshark -D lacks the NIC:\n%s", tsList)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("listing connected to the VM %d times", n)
	}
}

// ---- helpers ----

// nicTestUser is a home with vmdump installed into Wireshark's personal
// extcap folder and one VM, "nictest", in vmdump's config file.
type nicTestUser struct {
	home, bin, vmID string
	env             []string
}

func installForNICTest(t *testing.T, host string, port int, user, key, knownHostsLine string) nicTestUser {
	t.Helper()
	nictest.NeedTshark(t)
	u := nicTestUser{home: t.TempDir()}
	u.bin = filepath.Join(t.TempDir(), "vmdump")
	if out, err := exec.Command("go", "build", "-o", u.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	u.env = []string{"HOME=" + u.home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if out, err := u.run("install"); err != nil {
		t.Fatalf("vmdump install: %v\n%s", err, out)
	}
	nictest.WriteFile(t, filepath.Join(u.home, ".config", "vmdump", "config.toml"),
		fmt.Sprintf("[[vm]]\nname = \"nictest\"\nhost = %q\nport = %d\nuser = %q\nkey = %q\ninterface = \"eth1\"\n", host, port, user, key))
	if knownHostsLine != "" {
		nictest.WriteFile(t, filepath.Join(u.home, ".ssh", "known_hosts"), knownHostsLine+"\n")
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
	if list := nictest.RunOut(t, u.env, u.bin, "--extcap-interfaces"); !strings.Contains(list, "{role=logger}") {
		t.Fatalf("vmdump does not use nics.go yet (no toolbar control in --extcap-interfaces): apply the glue to capture.go and wireshark.go\n%s", list)
	}
	return u
}

func (u nicTestUser) run(args ...string) ([]byte, error) {
	cmd := exec.Command(u.bin, args...)
	cmd.Env = u.env
	return cmd.CombinedOutput()
}
