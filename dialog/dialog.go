package dialog

import (
	"strconv"

	"github.com/vmdump/vmdump/extcap"
)

// Arg numbers of vmdump's options dialog. They are stable: Wireshark uses
// them to tie value sentences (and reload replies) to their arg.
const (
	ArgRemoteInterface = iota
	ArgPayloadOnly
	ArgSnaplen
	ArgPriv
	ArgReconnect
	ArgSSHUser
	ArgSSHPort
	ArgSSHKey
	ArgSSHPassword
	ArgKeyPassphrase
	ArgHostKeyPolicy
	ArgLogLevel
	ArgLogFile
)

// Options added later take numbers after ArgMoreInterfaces
// (more_interfaces.go), so that no earlier number moves.
const (
	ArgCaptureTool = ArgMoreInterfaces + 1 + iota
	ArgInstallTcpdump
	ArgContainer
)

// Dialog tab names, in the order Wireshark shows them (first appearance).
const (
	GroupCapture = "Capture"
	GroupSSH     = "SSH"
	GroupDebug   = "Debug"
)

// Defaults are the per-VM facts the dialog shows as defaults. They
// must be the same facts the capture uses when an option is absent, because
// Wireshark leaves out options equal to their default (reference §3).
type Defaults struct {
	RemoteInterface string // the interface a capture without the option takes, "" when the capture chooses it
	// RemoteInterfaceHint is the placeholder of an empty RemoteInterface:
	// how the capture will choose.
	RemoteInterfaceHint string
	RemoteInterfaces    []extcap.Value // from an inventory cache; may be empty
	// Containers are the VM's running containers from an inventory cache,
	// for the Container selector of the VM's own interface (none: no
	// selector).
	Containers []extcap.Value
	User       string // SSH user the VM manager configured, if known
	Port       int    // SSH port the VM manager configured, if known
	// NoSSH: the VM is reached through a local command (exec transport),
	// so the SSH tab, whose settings would do nothing, is left out.
	NoSSH bool
}

// Args is vmdump's options dialog for one interface. Its order and
// numbers are deterministic: Wireshark asks for it before every capture and
// matches saved values by call. No arg is required (tshark must capture with
// no options at all), and every choice is a selector rather than a boolean,
// so that "off" is passed as an explicit value and never as a second,
// easily mis-parsed argv token.
func Args(d Defaults) []extcap.Arg {
	args := []extcap.Arg{
		remoteInterfaceArg(d),
		{
			Number: ArgPayloadOnly, Call: CallPayloadOnly, Display: "Packets to capture", Type: "selector",
			Tooltip: "On: drop TCP segments that carry no data (bare ACKs, SYNs, FINs). Without a capture filter only TCP data is captured; with one, everything else it matches (UDP, ICMP, ARP...) still arrives. Off: every packet",
			Group:   GroupCapture, Values: payloadOnlySelector.values(),
		},
		{
			Number: ArgSnaplen, Call: CallSnaplen, Display: "Snapshot length", Type: "unsigned",
			Tooltip: "Bytes kept of each packet (0 = whole packets)",
			Default: strconv.Itoa(snaplenOption.absent), Range: snaplenOption.rangeText(), Group: GroupCapture,
		},
		{
			Number: ArgPriv, Call: CallPriv, Display: "Capture privileges", Type: "selector",
			Tooltip: "How tcpdump gets capture rights in the VM; sudo never prompts for a password",
			Group:   GroupCapture, Values: privSelector.values(),
		},
		{
			Number: ArgReconnect, Call: CallReconnect, Display: "Link loss", Type: "selector",
			Tooltip: "What to do when the SSH connection to the VM drops",
			Group:   GroupCapture, Values: reconnectSelector.values(),
		},
		{
			Number: ArgCaptureTool, Call: CallCaptureTool, Display: "Capture program", Type: "selector",
			Tooltip: "What captures in the VM: its tcpdump, or vmdump's own capture agent (uploaded for the capture and removed after)",
			Group:   GroupCapture, Values: captureToolSelector.values(),
		},
		{
			Number: ArgInstallTcpdump, Call: CallInstallTcpdump, Display: "Missing tcpdump", Type: "selector",
			Tooltip: "When the VM has no tcpdump: install it with the VM's package manager before capturing (never prompts; bounded time)",
			Group:   GroupCapture, Values: installTcpdumpSelector.values(),
		},
		{
			Number: ArgSSHUser, Call: CallSSHUser, Display: "SSH user", Type: "string",
			Tooltip: "User to log in as (default: the one the VM manager configured)",
			// A placeholder, not a default: Wireshark saves defaults as
			// preferences and passes them back on every tshark capture, so a
			// default would freeze today's value over the manager's files.
			Placeholder: d.User, Group: GroupSSH,
		},
		sshPortArg(d),
		{
			Number: ArgSSHKey, Call: CallSSHKey, Display: "SSH private key", Type: "fileselect",
			Tooltip:   "Private key file (default: the VM manager's key, then your SSH agent and ~/.ssh keys)",
			MustExist: true, Group: GroupSSH,
		},
		{
			Number: ArgSSHPassword, Call: CallSSHPassword, Display: "SSH password", Type: "password",
			Tooltip: "Password, used only when no key works (never saved by Wireshark)", Group: GroupSSH,
		},
		{
			Number: ArgKeyPassphrase, Call: CallKeyPassphrase, Display: "SSH key passphrase", Type: "password",
			Tooltip: "Passphrase of the private key (never saved by Wireshark)", Group: GroupSSH,
		},
		{
			Number: ArgHostKeyPolicy, Call: CallHostKeyPolicy, Display: "Host key check", Type: "selector",
			Tooltip: "Whether an unknown VM host key is refused or trusted on first use",
			Group:   GroupSSH, Values: hostKeySelector.values(),
		},
		// The two Debug args are byte-identical to Wireshark's own extcaps
		// (extcap_config_debug, reference §1.2).
		{
			Number: ArgLogLevel, Call: CallLogLevel, Display: "Set the log level", Type: "selector",
			Tooltip: "Set the log level", Group: GroupDebug, Values: logLevelSelector.values(),
		},
		{
			Number: ArgLogFile, Call: CallLogFile, Display: "Use a file for logging", Type: "fileselect",
			Tooltip: "Set a file where log messages are written", Group: GroupDebug,
		},
	}
	if len(d.Containers) > 0 {
		args = append(args[:1], append([]extcap.Arg{containerArg(d)}, args[1:]...)...)
	}
	if d.NoSSH {
		kept := args[:0]
		for _, a := range args {
			if a.Group != GroupSSH {
				kept = append(kept, a)
			}
		}
		args = kept
	}
	return args
}

// remoteInterfaceArg is a reloadable selector when an inventory of the VM's
// interfaces is known, a free text field otherwise.
func remoteInterfaceArg(d Defaults) extcap.Arg {
	a := extcap.Arg{
		Number: ArgRemoteInterface, Call: CallRemoteInterface, Display: "Interface in the VM",
		Tooltip: "Network interface inside the VM to capture on", Group: GroupCapture,
	}
	if len(d.RemoteInterfaces) == 0 {
		a.Type = "string"
		a.Default = d.RemoteInterface
		if a.Default == "" {
			a.Placeholder = d.RemoteInterfaceHint
		}
		return a
	}
	a.Type = "selector"
	a.Reload = true
	a.Placeholder = "Reload interfaces"
	a.Values = RemoteInterfaceValues(d)
	return a
}

// RemoteInterfaceValues are the value sentences of the remote interface
// selector, also the reply to --extcap-reload-option remote-interface: the
// inventory with exactly the natural interface marked default (added first
// if the inventory lacks it). Without a natural interface the inventory's
// own default marks stay.
func RemoteInterfaceValues(d Defaults) []extcap.Value {
	vs := make([]extcap.Value, 0, len(d.RemoteInterfaces)+1)
	found := false
	for _, v := range d.RemoteInterfaces {
		if d.RemoteInterface != "" {
			v.Default = v.Value == d.RemoteInterface
			found = found || v.Default
		}
		vs = append(vs, v)
	}
	if d.RemoteInterface != "" && !found {
		vs = append([]extcap.Value{{Value: d.RemoteInterface, Display: d.RemoteInterface, Default: true}}, vs...)
	}
	return vs
}

// OptionContainer is the Container selector's option name, as
// --extcap-reload-option names it.
const OptionContainer = "container"

// NoContainer is the Container selector's default: capture the VM's
// interfaces, not a container. A value, not "": Wireshark passes a
// selector's default back on every capture.
const NoContainer = "none"

// containerArg offers the VM's containers in its own interface's dialog:
// the way to any of them when they are too many to list as interfaces
// (capture's maxListedContainers), and a reloadable list of what runs now.
func containerArg(d Defaults) extcap.Arg {
	return extcap.Arg{
		Number: ArgContainer, Call: CallContainer, Display: "Container",
		Tooltip: "Capture this container inside its network namespace, followed across restarts, instead of the VM's interfaces",
		Type:    "selector", Reload: true, Placeholder: "Reload containers", Group: GroupCapture,
		Values: ContainerValues(d),
	}
}

// ContainerValues are the Container selector's values, also the reply to
// --extcap-reload-option container: "none" (the default) and then the
// containers.
func ContainerValues(d Defaults) []extcap.Value {
	vs := []extcap.Value{{Value: NoContainer, Display: "none: the VM's interfaces", Default: true}}
	for _, v := range d.Containers {
		v.Default = false
		vs = append(vs, v)
	}
	return vs
}

func sshPortArg(d Defaults) extcap.Arg {
	a := extcap.Arg{
		Number: ArgSSHPort, Call: CallSSHPort, Display: "SSH port", Type: "unsigned",
		Tooltip: "SSH port of the VM (default: the one the VM manager configured)",
		Range:   sshPortOption.rangeText(), Group: GroupSSH,
	}
	if d.Port > 0 {
		a.Placeholder = strconv.Itoa(d.Port) // see the SSH user: never a saved default
	}
	return a
}
