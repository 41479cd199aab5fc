package dialog

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/pcapng"
)

// Options are vmdump's own dialog options, which Wireshark passes back on
// capture — each may be absent, and then the matching accessor
// (PayloadOnlyOn, SnaplenValue, ...) applies the same default the dialog
// advertises. Empty RemoteInterface, SSHUser and SSHPort mean "what the VM
// manager says", which is also the dialog's default for them. extcap.ParseArgs
// fills them from the field tags.
type Options struct {
	RemoteInterface  string `long:"remote-interface" description:"interface inside the VM (or several, comma-separated)"`
	MoreInterfaces   string `long:"more-interfaces" description:"more interfaces inside the VM, comma-separated"`
	Container        string `long:"container" description:"a container of the VM to capture (none: the VM's interfaces)"`
	PayloadOnly      string `long:"payload-only" description:"on|off: drop TCP segments that carry no data"`
	Snaplen          string `long:"snaplen" description:"bytes kept per packet, 0 = all"`
	Priv             string `long:"remote-priv" description:"auto|none|sudo"`
	SSHUser          string `long:"ssh-user" description:"SSH user"`
	SSHPort          string `long:"ssh-port" description:"SSH port"`
	SSHKey           string `long:"ssh-key" description:"SSH private key file"`
	SSHPassword      string `long:"ssh-password" description:"SSH password"`
	KeyPassphrase    string `long:"ssh-key-passphrase" description:"passphrase of --ssh-key"`
	AcceptNewHostKey string `long:"host-key-policy" description:"strict|accept-new"`
	Reconnect        string `long:"reconnect" description:"off|on: reconnect after link loss"`
	CaptureTool      string `long:"capture-tool" description:"auto|tcpdump|agent: what captures in the VM"`
	InstallTcpdump   string `long:"install-tcpdump" description:"off|on: install a missing tcpdump first"`
	LogLevel         string `long:"log-level" description:"message|info|debug|noisy"`
	LogFile          string `long:"log-file" description:"file to log to"`
}

// LogValue keeps the secrets out of logs: slog calls it whenever Options
// are logged.
func (o Options) LogValue() slog.Value {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "(set)"
	}
	return slog.GroupValue(
		slog.String("remote_interface", o.RemoteInterface),
		slog.String("more_interfaces", o.MoreInterfaces),
		slog.String("container", o.Container),
		slog.String("payload_only", o.PayloadOnly),
		slog.String("snaplen", o.Snaplen),
		slog.String("priv", o.Priv),
		slog.String("ssh_user", o.SSHUser),
		slog.String("ssh_port", o.SSHPort),
		slog.String("ssh_key", o.SSHKey),
		slog.String("ssh_password", redact(o.SSHPassword)),
		slog.String("ssh_key_passphrase", redact(o.KeyPassphrase)),
		slog.String("host_key_policy", o.AcceptNewHostKey),
		slog.String("reconnect", o.Reconnect),
		slog.String("capture_tool", o.CaptureTool),
		slog.String("install_tcpdump", o.InstallTcpdump),
		slog.String("log_level", o.LogLevel),
		slog.String("log_file", o.LogFile),
	)
}

// The calls of vmdump's own options, as Wireshark puts them on the command
// line. The struct tags of Options spell the same names; a test keeps the
// two in step.
const (
	CallRemoteInterface = "--remote-interface"
	CallContainer       = "--" + OptionContainer
	CallPayloadOnly     = "--payload-only"
	CallSnaplen         = "--snaplen"
	CallPriv            = "--remote-priv"
	CallReconnect       = "--reconnect"
	CallSSHUser         = "--ssh-user"
	CallSSHPort         = "--ssh-port"
	CallSSHKey          = "--ssh-key"
	CallSSHPassword     = "--ssh-password"
	CallKeyPassphrase   = "--ssh-key-passphrase"
	CallHostKeyPolicy   = "--host-key-policy"
	CallLogLevel        = "--log-level"
	CallLogFile         = "--log-file"
	CallCaptureTool     = "--capture-tool"
	CallInstallTcpdump  = "--install-tcpdump"
)

// Wireshark's log levels that have no slog equivalent. "message" is the
// default of Wireshark's own extcaps: it shows more than warnings and less
// than info.
const (
	LevelMessage = slog.LevelInfo + 2
	LevelNoisy   = slog.LevelDebug - 4
)

// choice is one entry of a selector; the first choice of a selector is its
// default.
type choice struct{ value, display string }

// selector is a dialog option with a fixed set of values. The dialog and the
// parsing of Wireshark's argv both come from it, so the default Wireshark
// shows and the default vmdump applies when the option is absent cannot
// drift apart (Wireshark omits options equal to their default, reference §3).
type selector struct {
	call    string
	choices []choice
}

var (
	payloadOnlySelector = selector{CallPayloadOnly, []choice{
		{"on", "Drop TCP segments without data"},
		{"off", "All packets"},
	}}
	privSelector = selector{CallPriv, []choice{
		{"auto", "Automatic: sudo -n when not root"},
		{"none", "None: run tcpdump as the SSH user"},
		{"sudo", "Always sudo -n"},
	}}
	reconnectSelector = selector{CallReconnect, []choice{
		{"off", "Stop when the link is lost"},
		{"on", "Reconnect after link loss"},
	}}
	// captureToolSelector: auto is tcpdump when the VM has it, else the
	// capture agent (issue 7).
	captureToolSelector = selector{CallCaptureTool, []choice{
		{"auto", "Automatic: tcpdump, or vmdump's agent when the VM has none"},
		{"tcpdump", "tcpdump only"},
		{"agent", "vmdump's capture agent"},
	}}
	installTcpdumpSelector = selector{CallInstallTcpdump, []choice{
		{"off", "Say how to install it"},
		{"on", "Install it with the VM's package manager"},
	}}
	hostKeySelector = selector{CallHostKeyPolicy, []choice{
		{"strict", "Strict: the host key must already be known"},
		{"accept-new", "Accept a new host key and remember it"},
	}}
	// logLevelSelector matches Wireshark's extcap_config_debug() exactly.
	logLevelSelector = selector{CallLogLevel, []choice{
		{"message", "Message"},
		{"info", "Info"},
		{"debug", "Debug"},
		{"noisy", "Noisy"},
	}}
)

// parse returns the canonical value for v: the default when v is empty
// (Wireshark left the option out), the matching choice otherwise.
func (s selector) parse(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return s.choices[0].value, nil
	}
	for _, c := range s.choices {
		if strings.EqualFold(c.value, v) {
			return c.value, nil
		}
	}
	names := make([]string, len(s.choices))
	for i, c := range s.choices {
		names[i] = c.value
	}
	return "", fmt.Errorf("%s must be %s, not %q", s.call, orList(names), v)
}

// is reports whether v selects want, falling back to the default for an
// invalid v (Validate reports that case).
func (s selector) is(v, want string) bool {
	got, err := s.parse(v)
	if err != nil {
		got = s.choices[0].value
	}
	return got == want
}

// values are the value sentences of the selector, the default marked.
func (s selector) values() []extcap.Value {
	vs := make([]extcap.Value, len(s.choices))
	for i, c := range s.choices {
		vs[i] = extcap.Value{Value: c.value, Display: c.display, Default: i == 0}
	}
	return vs
}

func orList(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// unsigned is a numeric dialog option with an inclusive range. absent is the
// value used when Wireshark leaves the option out.
type unsigned struct {
	call     string
	min, max int
	absent   int
}

var (
	snaplenOption = unsigned{CallSnaplen, 0, pcapng.MaxSnaplen, 0}
	// sshPortOption: absent means "the VM's own port" (0); its dialog default
	// is that port, so leaving it out and passing it agree.
	sshPortOption = unsigned{CallSSHPort, 1, 65535, 0}
)

func (u unsigned) parse(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return u.absent, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < u.min || n > u.max {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d, not %q", u.call, u.min, u.max, v)
	}
	return n, nil
}

func (u unsigned) rangeText() string { return fmt.Sprintf("%d,%d", u.min, u.max) }

// PayloadOnlyOn reports whether only data-carrying TCP segments are captured
// (the seed filter). Absent means on. An invalid value also yields the
// default; Validate reports it.
func (a Options) PayloadOnlyOn() bool { return payloadOnlySelector.is(a.PayloadOnly, "on") }

// ReconnectOn reports whether the capture reconnects after link loss. Absent
// means off.
func (a Options) ReconnectOn() bool { return reconnectSelector.is(a.Reconnect, "on") }

// CaptureToolValue is "auto" (absent), "tcpdump" or "agent".
func (a Options) CaptureToolValue() (string, error) { return captureToolSelector.parse(a.CaptureTool) }

// InstallTcpdumpOn reports whether a missing tcpdump is installed before
// the capture. Absent means off.
func (a Options) InstallTcpdumpOn() bool { return installTcpdumpSelector.is(a.InstallTcpdump, "on") }

// HostKeyAcceptNew reports whether an unknown host key is accepted and
// remembered. Absent (or invalid) means strict.
func (a Options) HostKeyAcceptNew() bool { return hostKeySelector.is(a.AcceptNewHostKey, "accept-new") }

// SnaplenValue is the number of bytes kept per packet; 0 (the default) keeps
// whole packets.
func (a Options) SnaplenValue() (int, error) { return snaplenOption.parse(a.Snaplen) }

// SSHPortValue is the SSH port the user chose, or 0 when absent: then the
// VM's own port applies, which is also what the dialog shows as default.
func (a Options) SSHPortValue() (int, error) { return sshPortOption.parse(a.SSHPort) }

// PrivValue is how tcpdump gains privileges remotely: "auto" (absent:
// sudo -n unless the SSH user is root), "none" or "sudo" (always sudo -n).
func (a Options) PrivValue() (string, error) { return privSelector.parse(a.Priv) }

// LogLevelValue maps Wireshark's log levels to slog: message (the default)
// → LevelMessage, info → Info, debug → Debug, noisy → LevelNoisy.
func (a Options) LogLevelValue() (slog.Level, error) {
	v, err := logLevelSelector.parse(a.LogLevel)
	if err != nil {
		return LevelMessage, err
	}
	switch v {
	case "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "noisy":
		return LevelNoisy, nil
	}
	return LevelMessage, nil
}

// Validate checks every option value. It returns the first problem as one
// line that names the option and what is allowed.
func (a Options) Validate() error {
	checks := []func() error{
		func() error { _, err := payloadOnlySelector.parse(a.PayloadOnly); return err },
		func() error { _, err := a.SnaplenValue(); return err },
		func() error { _, err := a.PrivValue(); return err },
		func() error { _, err := reconnectSelector.parse(a.Reconnect); return err },
		func() error { _, err := a.CaptureToolValue(); return err },
		func() error { _, err := installTcpdumpSelector.parse(a.InstallTcpdump); return err },
		func() error { _, err := a.SSHPortValue(); return err },
		func() error { _, err := hostKeySelector.parse(a.AcceptNewHostKey); return err },
		func() error { _, err := a.LogLevelValue(); return err },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}
