package extcap

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	flags "github.com/jessevdk/go-flags"
)

// Args is everything Wireshark (or a person) put on vmdump's command line in
// extcap mode. The first block is the extcap protocol itself (reference §1);
// the second block are vmdump's own dialog options, which Wireshark passes
// back on capture — each may be absent, and then the matching accessor
// (PayloadOnlyOn, SnaplenValue, ...) applies the same default the dialog
// advertises. Empty RemoteInterface, SSHUser and SSHPort mean "what the VM
// manager says", which is also the dialog's default for them.
type Args struct {
	ExtcapInterfaces bool   `long:"extcap-interfaces" description:"list the interfaces (one per VM)"`
	ExtcapVersion    string `long:"extcap-version" description:"Wireshark's version (sent with --extcap-interfaces)"`
	Interface        string `long:"extcap-interface" description:"the interface Wireshark means"`
	Config           bool   `long:"extcap-config" description:"describe the options dialog"`
	DLTs             bool   `long:"extcap-dlts" description:"list the link types"`
	CaptureFilter    string `long:"extcap-capture-filter" description:"capture filter (checked alone, applied on capture)"`
	Capture          bool   `long:"capture" description:"capture into --fifo"`
	Fifo             string `long:"fifo" description:"the FIFO (Windows: named pipe) to write pcapng to"`
	ControlIn        string `long:"extcap-control-in" description:"toolbar pipe from Wireshark (read it)"`
	ControlOut       string `long:"extcap-control-out" description:"toolbar pipe to Wireshark (write it)"`
	ReloadOption     string `long:"extcap-reload-option" description:"option whose values to reload (without --)"`

	RemoteInterface  string `long:"remote-interface" description:"interface inside the VM (or several, comma-separated)"`
	MoreInterfaces   string `long:"more-interfaces" description:"more interfaces inside the VM, comma-separated"`
	PayloadOnly      string `long:"payload-only" description:"on|off: only TCP segments carrying data"`
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

	// filterGiven tells "--extcap-capture-filter ''" from no filter at all.
	filterGiven bool
}

// Mode is the action Wireshark asks for.
type Mode int

const (
	ModeNone        Mode = iota // nothing Wireshark would send (e.g. a person ran vmdump --foo)
	ModeInterfaces              // --extcap-interfaces
	ModeConfig                  // --extcap-config
	ModeReload                  // --extcap-config --extcap-reload-option X
	ModeDLTs                    // --extcap-dlts
	ModeFilterCheck             // --extcap-capture-filter F without --capture
	ModeCapture                 // --capture
)

func (m Mode) String() string {
	switch m {
	case ModeInterfaces:
		return "interfaces"
	case ModeConfig:
		return "config"
	case ModeReload:
		return "reload"
	case ModeDLTs:
		return "dlts"
	case ModeFilterCheck:
		return "filter-check"
	case ModeCapture:
		return "capture"
	}
	return "none"
}

// Mode tells which action the arguments ask for. --extcap-interfaces wins
// over everything, as in Wireshark's own extcaps.
func (a Args) Mode() Mode {
	switch {
	case a.ExtcapInterfaces:
		return ModeInterfaces
	case a.Config && a.ReloadOption != "":
		return ModeReload
	case a.Config:
		return ModeConfig
	case a.DLTs:
		return ModeDLTs
	case a.Capture:
		return ModeCapture
	case a.filterGiven || a.CaptureFilter != "":
		return ModeFilterCheck
	}
	return ModeNone
}

// LogValue keeps the secrets out of logs: slog calls it whenever Args is
// logged.
func (a Args) LogValue() slog.Value {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "(set)"
	}
	return slog.GroupValue(
		slog.String("mode", a.Mode().String()),
		slog.String("interface", a.Interface),
		slog.String("filter", a.CaptureFilter),
		slog.String("fifo", a.Fifo),
		slog.String("remote_interface", a.RemoteInterface),
		slog.String("more_interfaces", a.MoreInterfaces),
		slog.String("payload_only", a.PayloadOnly),
		slog.String("snaplen", a.Snaplen),
		slog.String("priv", a.Priv),
		slog.String("ssh_user", a.SSHUser),
		slog.String("ssh_port", a.SSHPort),
		slog.String("ssh_key", a.SSHKey),
		slog.String("ssh_password", redact(a.SSHPassword)),
		slog.String("ssh_key_passphrase", redact(a.KeyPassphrase)),
		slog.String("host_key_policy", a.AcceptNewHostKey),
		slog.String("reconnect", a.Reconnect),
		slog.String("capture_tool", a.CaptureTool),
		slog.String("install_tcpdump", a.InstallTcpdump),
		slog.String("log_level", a.LogLevel),
		slog.String("log_file", a.LogFile),
	)
}

// ParseArgs reads Wireshark's argv (without the program name).
//
// go-flags owns the option table (the struct tags above) and the typed
// assignment; the splitting of argv into option/value pairs is done here,
// because Wireshark's argv needs rules go-flags' own tokenizer does not have
// (reference §1 and §3):
//   - "--opt value" and "--opt=value"; the value after a known option is
//     taken verbatim even if it starts with '-' or '/' (passwords, filters),
//     and never unquoted;
//   - unknown options (newer Wireshark adds --extcap-* ones) and stray
//     positional words are ignored, not errors;
//   - a flag may be followed by a "true"/"false" token (reload calls send
//     "--flag true"), or written "--flag=false";
//   - --extcap-version takes its value only when it is glued on or looks
//     like one;
//   - the GO_FLAGS_COMPLETION variable cannot make it print and exit.
//
// The only errors are a known option missing its value at the end of argv
// and a flag given a value other than true/false.
func ParseArgs(argv []string) (Args, error) {
	var a Args
	p := flags.NewParser(&a, flags.None)
	for i := 0; i < len(argv); i++ {
		tok := argv[i]
		if tok == "--" {
			break
		}
		if !strings.HasPrefix(tok, "--") || len(tok) == 2 {
			continue // a positional word or a short option: nothing Wireshark sends us
		}
		name, value, glued := strings.Cut(tok[2:], "=")
		opt := p.FindOptionByLongName(name)
		if opt == nil {
			continue
		}
		if opt.Field().Type.Kind() == reflect.Bool {
			if !glued {
				value = "true"
				if i+1 < len(argv) && isBoolWord(argv[i+1]) {
					i++
					value = argv[i]
				}
			}
			if !isBoolWord(value) {
				return Args{}, fmt.Errorf("--%s is a flag: give it no value, true or false, not %q", name, value)
			}
			value = strings.ToLower(value)
		} else if !glued {
			switch {
			case name == "extcap-version":
				if i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
					i++
					value = argv[i]
				}
			case i+1 < len(argv):
				i++
				value = argv[i]
			default:
				return Args{}, fmt.Errorf("--%s needs a value", name)
			}
		}
		if err := opt.Set(&value); err != nil {
			return Args{}, fmt.Errorf("--%s: %v", name, err)
		}
		if name == "extcap-capture-filter" {
			a.filterGiven = true
		}
	}
	return a, nil
}

func isBoolWord(s string) bool {
	return strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
}
