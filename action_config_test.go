package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/vmtest/nictest"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// ---- fixtures ----

// ---- unit tests (no network) ----

func TestNICDialog(t *testing.T) {
	env := nictest.Env(t)
	vm := nictest.VMs()[0]
	config := func(nic string) string {
		var b bytes.Buffer
		if err := extcap.WriteConfig(&b, dialogArgsFor(dialogDefaultsFor(env, capture.Resolved{VM: vm, NIC: nic}))); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// No inventory yet: a text field with no default (Wireshark would pass
	// it back as the user's choice) saying how the capture chooses; no list.
	cold := config("")
	if !strings.Contains(cold, "{call=--remote-interface}{display=Interface in the VM}{type=string}") || !strings.Contains(cold, "{placeholder=chosen from the VM (eth1 when it has one)}") ||
		strings.Contains(cold, "{call=--remote-interface}{display=Interface in the VM}{type=string}{tooltip=Network interface inside the VM to capture on}{default=") || strings.Contains(cold, "--more-interfaces") {
		t.Errorf("dialog without inventory:\n%s", cold)
	}
	if err := probe.SaveInventory(env, vm.ID, nictest.Inventory); err != nil {
		t.Fatal(err)
	}
	warm := config("")
	for _, s := range []string{
		"{call=--remote-interface}{display=Interface in the VM}{type=selector}",
		// the NIC a capture would choose: the VM has no eth1 (its usual one),
		// so the first one up
		"value {arg=0}{value=eth0}{display=eth0}{default=true}",
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

// The VM's own interface offers its containers in a reloadable Container
// selector whose default is "none" (Wireshark passes a selector's default
// back); a container's interface captures inside the container, so its
// remote interface is one there, chosen from the container.
func TestContainerDialog(t *testing.T) {
	env := nictest.Env(t)
	vm := nictest.VMs()[0]
	inv := nictest.Inventory
	inv.Containers = []probe.Container{
		{Engine: "docker", Name: "web", ID: "a1", Image: "nginx", Compose: "shop/web"},
		{Engine: "podman", Rootless: true, Name: "web", ID: "b2", Image: "nginx"},
	}
	if err := probe.SaveInventory(env, vm.ID, inv); err != nil {
		t.Fatal(err)
	}
	config := func(r capture.Resolved) string {
		var b bytes.Buffer
		if err := extcap.WriteConfig(&b, dialogArgsFor(dialogDefaultsFor(env, r))); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	vmDialog := config(capture.Resolved{VM: vm})
	for _, s := range []string{
		"{call=--container}{display=Container}{type=selector}",
		"{placeholder=Reload containers}{required=false}{reload=true}{group=Capture}",
		fmt.Sprintf("value {arg=%d}{value=none}{display=none: the VM's interfaces}{default=true}", dialog.ArgContainer),
		fmt.Sprintf("value {arg=%d}{value=docker/web}{display=web (nginx, compose shop/web)}\n", dialog.ArgContainer),
		fmt.Sprintf("value {arg=%d}{value=rootless-podman/web}{display=web (nginx, rootless podman)}\n", dialog.ArgContainer),
	} {
		if !strings.Contains(vmDialog, s) {
			t.Errorf("VM dialog lacks %q:\n%s", s, vmDialog)
		}
	}
	ref, err := capture.ContainerByChoice(env, vm, "rootless-podman/web")
	if err != nil || ref != (probe.ContainerRef{Engine: "podman", Rootless: true, Name: "web"}) {
		t.Errorf("the selector's value maps back to %+v, %v", ref, err)
	}
	ctr := config(capture.Resolved{VM: vm, Container: &probe.ContainerRef{Engine: "docker", Name: "web"}})
	if strings.Contains(ctr, "--container") || !strings.Contains(ctr, "{call=--remote-interface}{display=Interface in the VM}{type=string}") ||
		!strings.Contains(ctr, "{placeholder=chosen from the container (its interface, or any)}") {
		t.Errorf("container dialog:\n%s", ctr)
	}
	// A NIC's interface has no Container selector: it captures that NIC.
	if nic := config(capture.Resolved{VM: vm, NIC: "docker0"}); strings.Contains(nic, "--container") {
		t.Errorf("NIC dialog offers containers:\n%s", nic)
	}
}

// Every option of the whole dialog must reach Args, or Wireshark's value
// is silently dropped. (Needs Options.MoreInterfaces: see nics.go's glue.)
func TestNICDialogCallsAreParsed(t *testing.T) {
	d := dialog.Defaults{RemoteInterface: "eth0", RemoteInterfaces: []extcap.Value{{Value: "eth0"}}, Containers: []extcap.Value{{Value: "web"}}, User: "u", Port: 22}
	for _, a := range dialogArgsFor(d) {
		var got dialog.Options
		if _, err := extcap.ParseArgs([]string{a.Call, "x-value"}, &got); err != nil {
			t.Fatalf("ParseArgs(%s): %v", a.Call, err)
		}
		if got == (dialog.Options{}) {
			t.Errorf("dialog option %s is not parsed into dialog.Options", a.Call)
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
