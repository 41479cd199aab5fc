package capture

import (
	"log/slog"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// Options are everything one capture needs, in vmctl's terms. The binary
// fills them from Wireshark's arguments (its options dialog); tests fill
// them directly.
type Options struct {
	Env  hostenv.Env
	Log  *slog.Logger
	VM   vmctl.VM
	NICs []string // the VM interfaces to capture, one tcpdump each (NICNames)
	// ChooseNIC: the user named no NIC, so the capture chooses one from
	// the VM itself (DefaultNIC) and captures it first, before NICs.
	ChooseNIC bool
	// Container, when set, is what the capture follows instead of the
	// VM's NICs: the container of that engine and name, captured inside
	// its network namespace (NICs then name interfaces there), across its
	// restarts (runContainer).
	Container *probe.ContainerRef
	Dial      sshconn.DialOptions
	// Spec is the remote command's spec; its Interface and Filter are set
	// per NIC and per session.
	Spec           remotecap.CaptureSpec
	CaptureFilter  string // the user's (Wireshark's capture filter field)
	PayloadOnly    bool   // only TCP segments that carry data
	Reconnect      bool   // after link loss, reconnect into the same stream
	InstallTcpdump bool   // install a missing tcpdump with the VM's package manager first
	// ReaderGone tells a write error that means the reader of the stream
	// went away (Wireshark's Stop, dumpcap gone), an ordinary end, from a
	// real failure. nil: every write error is a failure.
	ReaderGone func(error) bool
}

// Notifier hears what a running capture does, for the person watching it:
// Wireshark's toolbar (the status bar, an error message, the toolbar's
// log), or nothing under tshark. Every message is one line.
type Notifier interface {
	Status(msg string) // what the capture does now ("capturing eth1 on default")
	Error(msg string)  // something went wrong while the capture goes on
	Log(msg string)    // a line of the capture's own log
}
