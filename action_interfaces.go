package main

import (
	"io"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/install"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// toolbarControls make Wireshark's GUI pass vmdump its toolbar pipes (it
// passes them only to an extcap that declares a control): a log button,
// where vmdump notes what it captures and how each interface ended.
func toolbarControls() []extcap.ToolbarControl {
	return []extcap.ToolbarControl{{Number: 0, Type: "button", Role: "logger", Display: "Log", Tooltip: "Show vmdump's log of this capture"}}
}

// interfaceList is what --extcap-interfaces lists: capture.Targets as
// Wireshark interfaces.
func interfaceList(env hostenv.Env, vms []vmctl.VM) []extcap.Interface {
	targets := capture.Targets(env, vms)
	out := make([]extcap.Interface, len(targets))
	for i, t := range targets {
		out[i] = extcap.Interface{Value: t.ID, Display: t.Display}
	}
	return out
}

// interfacesAction answers --extcap-interfaces, at every Wireshark start
// and interface refresh. Of several vmdump copies Wireshark can see, only
// the one it runs first lists the VMs; the others would list each VM twice.
func interfacesAction(a extcap.Args, env hostenv.Env, stdout, stderr io.Writer) int {
	self := install.SelfPath()
	if primary, _ := install.PrimaryCopy(install.LocalEnv(), self, a.ExtcapVersion); primary {
		return exitStatus(stderr, writeInterfaceList(stdout, env, self))
	}
	return exitStatus(stderr, extcap.WriteInterfaces(stdout, version(), helpURL, toolbarTitle, nil, toolbarControls()))
}
