package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
)

// ---- fixtures ----

// nicTestEnv is an Env with its own home and cache directory.
func nicTestEnv(t *testing.T) discover.Env {
	t.Helper()
	home := t.TempDir()
	return discover.Env{
		Home: home, GOOS: runtime.GOOS,
		Getenv: func(k string) string {
			if k == "VMDUMP_CACHE_DIR" {
				return filepath.Join(home, "cache")
			}
			return ""
		},
		Log: slog.New(slog.DiscardHandler),
	}
}

var nicTestInventory = probe.Inventory{
	FetchedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	NICs: []probe.NIC{
		{Name: "lo", Index: 1, Kind: "loopback", State: "unknown"},
		{Name: "eth0", Index: 2, Kind: "device", State: "up"},
		{Name: "docker0", Index: 3, Kind: "bridge", State: "up"},
		{Name: "br-1a2b3c4d5e6f", Index: 4, Kind: "bridge", State: "down"},
		{Name: "vethab12", Index: 6, PeerIndex: 5, Kind: "veth", State: "up", Master: "docker0",
			Containers: []probe.Container{{Engine: "docker", Name: "web", ID: "abc", Image: "nginx:latest"}}},
	},
}

func nicTestVMs() []vmctl.VM {
	return []vmctl.VM{
		{ID: "vmdump_b2d_default", Manager: "boot2docker", Name: "default", Host: "127.0.0.1", Port: 2022, State: vmctl.Running, Interface: "eth1"},
		{ID: "vmdump_lima_dev", Manager: "lima", Name: "dev", Host: "127.0.0.1", Port: 60022},
		{ID: "vmdump_dd_desktop", Manager: "docker-desktop", Name: "desktop", Note: "no SSH: needs Docker API transport"},
		{ID: "vmdump_x_broken", Manager: "x", Name: "broken", Host: "h", Skip: "broken file"},
		{ID: "vmdump_lima_old", Manager: "lima", Name: "old", Host: "127.0.0.1", Port: 60023, State: vmctl.Stopped},
	}
}

// ---- unit tests (no network) ----

func TestNICInterfaceIDs(t *testing.T) {
	inv := probe.Inventory{NICs: []probe.NIC{
		{Name: "eth0"}, {Name: "br-1a2b3c4d5e6f"}, {Name: "br_1a2b3c4d5e6f"}, {Name: "ETH0"}, {Name: "--"}, {Name: "wg.0@x"},
	}}
	var got []string
	for _, e := range nicEntries("vmdump_lima_default", inv) {
		got = append(got, e.id)
		if strings.Count(e.id, nicIDSep) != 1 || strings.Trim(e.id, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("id %q is not [a-z0-9_] with one %q", e.id, nicIDSep)
		}
	}
	want := []string{
		"vmdump_lima_default__eth0",
		"vmdump_lima_default__br_1a2b3c4d5e6f",
		"vmdump_lima_default__br_1a2b3c4d5e6f_", // collides with br-1a2b3c4d5e6f: plus a hash
		"vmdump_lima_default__eth0_",            // collides with eth0: plus a hash
		"vmdump_lima_default__nic",
		"vmdump_lima_default__wg_0_x",
	}
	if len(got) != len(want) {
		t.Fatalf("ids %q", got)
	}
	for i, w := range want {
		if strings.HasSuffix(w, "_") {
			hash := strings.TrimPrefix(got[i], w)
			if hash == got[i] || len(hash) != 8 || strings.Trim(hash, "0123456789abcdef") != "" {
				t.Errorf("id %d = %q, want %q and 8 hex digits", i, got[i], w)
			}
			continue
		}
		if got[i] != w {
			t.Errorf("id %d = %q, want %q", i, got[i], w)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
		t.Errorf("ids not unique: %q", got)
	}
	// The same inventory always gives the same ids.
	again := nicEntries("vmdump_lima_default", inv)
	for i := range again {
		if again[i].id != got[i] {
			t.Errorf("id %d changed: %q then %q", i, got[i], again[i].id)
		}
	}
}

func TestNICInterfaceListFromCache(t *testing.T) {
	env := nicTestEnv(t)
	vms := nicTestVMs()
	for _, id := range []string{"vmdump_b2d_default", "vmdump_dd_desktop", "vmdump_x_broken", "vmdump_lima_old"} {
		if err := probe.SaveInventory(env, id, nicTestInventory); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, i := range interfaceList(env, vms) {
		got = append(got, i.Value+" | "+i.Display)
	}
	want := []string{
		"vmdump_b2d_default | Docker VM default (boot2docker, running)",
		"vmdump_b2d_default__lo | default: lo (loopback)",
		"vmdump_b2d_default__eth0 | default: eth0",
		"vmdump_b2d_default__docker0 | default: docker0 (bridge)",
		"vmdump_b2d_default__br_1a2b3c4d5e6f | default: br-1a2b3c4d5e6f (bridge, down)",
		"vmdump_b2d_default__vethab12 | default: vethab12 — container web (nginx)",
		// no cache for dev: only the VM
		"vmdump_lima_dev | Docker VM dev (lima)",
		// a VM vmdump cannot capture gets no NICs, whatever its cache says
		"vmdump_dd_desktop | Docker VM desktop (docker-desktop) - no SSH: needs Docker API transport",
		// a stopped VM: its cached NICs wait until it runs
		"vmdump_lima_old | Docker VM old (lima, stopped)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("interfaces\n got %q\nwant %q", got, want)
	}
}

func TestNICResolveInterface(t *testing.T) {
	env := nicTestEnv(t)
	vms := nicTestVMs()
	if err := probe.SaveInventory(env, "vmdump_b2d_default", nicTestInventory); err != nil {
		t.Fatal(err)
	}
	for _, i := range interfaceList(env, vms) {
		vm, nic, ok := resolveInterface(env, vms, i.Value)
		if !ok {
			t.Errorf("%s not resolved", i.Value)
			continue
		}
		if i.Value == vm.ID {
			if nic != "" {
				t.Errorf("VM interface %s resolved to NIC %q", i.Value, nic)
			}
			continue
		}
		if vm.ID != "vmdump_b2d_default" || !strings.HasPrefix(i.Display, "default: "+nic) {
			t.Errorf("%s → %s %q (display %q)", i.Value, vm.ID, nic, i.Display)
		}
	}
	for _, id := range []string{"vmdump_b2d_default__eth9", "vmdump_nope", "vmdump_lima_dev__eth0", "", "__eth0"} {
		if vm, nic, ok := resolveInterface(env, vms, id); ok {
			t.Errorf("%q resolved to %s %q", id, vm.ID, nic)
		}
	}
	if err := unknownInterfaceError("vmdump_b2d_default__eth9"); !strings.Contains(err.Error(), "Refresh Interfaces") {
		t.Errorf("NIC error %q", err)
	}
	if err := unknownInterfaceError("vmdump_nope"); !strings.Contains(err.Error(), "vmdump list") {
		t.Errorf("VM error %q", err)
	}
}

func TestNICCaptureNames(t *testing.T) {
	vm := vmctl.VM{Interface: "eth1"}
	for _, tc := range []struct {
		remote, more, nic string
		vm                vmctl.VM
		want              []string
	}{
		{"", "", "", vm, []string{"eth1"}},
		{"", "", "", vmctl.VM{}, []string{"eth0"}},
		{"", "", "vethab12", vm, []string{"vethab12"}},
		{"docker0", "", "vethab12", vm, []string{"docker0"}},
		{"docker0, vethab12", "", "", vm, []string{"docker0", "vethab12"}},
		{"", "docker0,vethab12", "", vm, []string{"eth1", "docker0", "vethab12"}},
		{"eth1", "eth1,docker0", "", vm, []string{"eth1", "docker0"}},
		{" ", "docker0", "veth9", vm, []string{"veth9", "docker0"}},
	} {
		if got := captureNICNames(tc.remote, tc.more, tc.vm, tc.nic); !slices.Equal(got, tc.want) {
			t.Errorf("captureNICNames(%q, %q, %q) = %q, want %q", tc.remote, tc.more, tc.nic, got, tc.want)
		}
	}
	specs := captureSpecs(remotecap.CaptureSpec{Filter: "tcp", Snaplen: 96, Priv: remotecap.PrivSudo}, []string{"a", "b"})
	if len(specs) != 2 || specs[0].Interface != "a" || specs[1].Interface != "b" || specs[1].Filter != "tcp" || specs[1].Snaplen != 96 || specs[1].Priv != remotecap.PrivSudo {
		t.Errorf("specs %+v", specs)
	}
	nics := pcapngNICs(vmctl.VM{Name: "default", Manager: "lima"}, nicTestInventory, []remotecap.CaptureSpec{{Interface: "vethab12", Filter: "tcp"}, {Interface: "eth7"}}, "Alpine", "reconnected")
	want := []pcapng.NIC{
		{Name: "default:vethab12", Description: "Docker VM default (lima) vethab12 — container web (nginx) (reconnected)", Filter: "tcp", OS: "Alpine"},
		{Name: "default:eth7", Description: "Docker VM default (lima) eth7 (reconnected)", OS: "Alpine"},
	}
	if !slices.Equal(nics, want) {
		t.Errorf("pcapng NICs\n got %+v\nwant %+v", nics, want)
	}
}

func TestNICDialog(t *testing.T) {
	env := nicTestEnv(t)
	vm := nicTestVMs()[0]
	config := func(nic string) string {
		var b bytes.Buffer
		if err := extcap.WriteConfig(&b, dialogArgsFor(dialogDefaultsFor(env, vm, nic))); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// No inventory yet: a text field with the natural interface, no list.
	cold := config("")
	if !strings.Contains(cold, "{call=--remote-interface}{display=Interface in the VM}{type=string}") || !strings.Contains(cold, "{default=eth1}") || strings.Contains(cold, "--more-interfaces") {
		t.Errorf("dialog without inventory:\n%s", cold)
	}
	if err := probe.SaveInventory(env, vm.ID, nicTestInventory); err != nil {
		t.Fatal(err)
	}
	warm := config("")
	for _, s := range []string{
		"{call=--remote-interface}{display=Interface in the VM}{type=selector}",
		"value {arg=0}{value=eth1}{display=eth1}{default=true}", // the natural one, though not in the inventory
		"value {arg=0}{value=vethab12}{display=vethab12 — container web (nginx)}\n",
		"arg {number=13}{call=--more-interfaces}{display=More interfaces}{type=multicheck}",
		"value {arg=13}{value=docker0}{display=docker0 (bridge)}{enabled=true}",
	} {
		if !strings.Contains(warm, s) {
			t.Errorf("dialog lacks %q:\n%s", s, warm)
		}
	}
	// A NIC's own interface: that NIC is the default.
	nicDialog := config("vethab12")
	if !strings.Contains(nicDialog, "value {arg=0}{value=vethab12}{display=vethab12 — container web (nginx)}{default=true}") || strings.Contains(nicDialog, "{value=eth1}") {
		t.Errorf("NIC dialog:\n%s", nicDialog)
	}
}

// Every option of the whole dialog must reach Args, or Wireshark's value
// is silently dropped. (Needs Options.MoreInterfaces: see nics.go's glue.)
func TestNICDialogCallsAreParsed(t *testing.T) {
	d := extcap.DialogDefaults{RemoteInterface: "eth0", RemoteInterfaces: []extcap.Value{{Value: "eth0"}}, User: "u", Port: 22}
	for _, a := range dialogArgsFor(d) {
		var got extcap.Options
		if _, err := extcap.ParseArgs([]string{a.Call, "x-value"}, &got); err != nil {
			t.Fatalf("ParseArgs(%s): %v", a.Call, err)
		}
		if got == (extcap.Options{}) {
			t.Errorf("dialog option %s is not parsed into extcap.Options", a.Call)
		}
	}
}

func TestNICToolbar(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses /proc/self/fd")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctrl, err := extcap.OpenControl(fmt.Sprintf("/proc/self/fd/%d", w.Fd()), "")
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	var stderr bytes.Buffer
	if code := fail(errorsToToolbar(ctrl, &stderr), fmt.Errorf("tcpdump: eth9:\n No such device")); code != 1 {
		t.Errorf("exit %d", code)
	}
	toolbarLog(ctrl, slog.New(slog.DiscardHandler), "capturing eth0 on default")
	ctrl.Close()
	got, _ := io.ReadAll(r)
	frame := func(cmd byte, payload string) []byte {
		n := len(payload) + 2
		return append([]byte{'T', byte(n >> 16), byte(n >> 8), byte(n), 0, cmd}, payload...)
	}
	want := append(frame(extcap.CtrlError, "tcpdump: eth9: No such device"), frame(extcap.CtrlAdd, "capturing eth0 on default\n")...)
	if !bytes.Equal(got, want) {
		t.Errorf("toolbar pipe got %q\nwant %q", got, want)
	}
	if stderr.String() != "vmdump: tcpdump: eth9: No such device\n" {
		t.Errorf("stderr %q", stderr.String())
	}
	if len(toolbarControls()) == 0 {
		t.Error("no toolbar control: Wireshark would pass no pipes")
	}
	var b bytes.Buffer
	if err := extcap.WriteInterfaces(&b, "1", "", toolbarTitle, nil, toolbarControls()); err != nil || !strings.Contains(b.String(), "{role=logger}") {
		t.Errorf("controls: %v %q", err, b.String())
	}
}
