package dialog

import (
	"strings"

	"github.com/vmdump/vmdump/extcap"
)

// The "More interfaces" option: a multicheck of the VM's interfaces from
// the inventory, captured together with the remote interface into the same
// stream (one interface block each). Wireshark gives a multicheck no reload
// button (only selectors have one), which is why the remote interface stays
// a reloadable selector and this list is a second option: Reload refreshes
// the inventory, and the list follows the next time the dialog opens.
const (
	// ArgMoreInterfaces follows every other arg, so no number moves.
	ArgMoreInterfaces  = ArgLogFile + 1
	CallMoreInterfaces = "--more-interfaces"
)

// MoreInterfacesArg is the multicheck, or false without an inventory: then
// the remote interface is a text field, which takes a comma-separated list
// itself. Nothing is checked by default; every entry is checkable
// ({enabled=true}, which Wireshark 4.0 requires).
func MoreInterfacesArg(d Defaults) (extcap.Arg, bool) {
	if len(d.RemoteInterfaces) == 0 {
		return extcap.Arg{}, false
	}
	vs := make([]extcap.Value, 0, len(d.RemoteInterfaces))
	for _, v := range d.RemoteInterfaces {
		vs = append(vs, extcap.Value{Value: v.Value, Display: v.Display, Enabled: true})
	}
	return extcap.Arg{
		Number: ArgMoreInterfaces, Call: CallMoreInterfaces, Display: "More interfaces", Type: "multicheck",
		Tooltip: "Further interfaces inside the VM to capture into the same file, each as an interface of its own",
		Group:   GroupCapture, Values: vs,
	}, true
}

// InterfaceList splits option values that hold interface names, each one
// name or a comma-separated list (a multicheck's value, or what a user
// typed into the remote interface), into the names in order, without
// blanks or repeats.
func InterfaceList(values ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name != "" && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}
