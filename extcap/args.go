package extcap

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	flags "github.com/jessevdk/go-flags"
)

// Args is the extcap protocol's part of the command line Wireshark (or a
// person) gave (reference §1). The provider's own dialog options are parsed
// by ParseArgs into a struct of the caller's.
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

	CleanupPostkill bool `long:"extcap-cleanup-postkill" description:"Wireshark 4.6's call after it killed a capture (Windows)"`

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
	ModeCleanup                 // --extcap-cleanup-postkill (Wireshark 4.6, after it killed a capture)
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
	case ModeCleanup:
		return "cleanup"
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
	case a.CleanupPostkill:
		return ModeCleanup
	case a.filterGiven || a.CaptureFilter != "":
		return ModeFilterCheck
	}
	return ModeNone
}

// LogValue is how Args reads in a log.
func (a Args) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("mode", a.Mode().String()),
		slog.String("interface", a.Interface),
		slog.String("filter", a.CaptureFilter),
		slog.String("fifo", a.Fifo),
	)
}

// ParseArgs reads Wireshark's argv (without the program name): the
// protocol's options into Args, the provider's own dialog options into
// options, a pointer to a struct whose fields carry go-flags `long:` tags
// (or nil).
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
func ParseArgs(argv []string, options any) (Args, error) {
	var a Args
	p := flags.NewParser(&a, flags.None)
	if options != nil {
		if _, err := p.AddGroup("options", "", options); err != nil {
			return Args{}, fmt.Errorf("the dialog's options: %v", err)
		}
	}
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

// Validate checks that a capture has what Wireshark always gives it: the
// interface and the FIFO.
func (a Args) Validate() error {
	if a.Mode() == ModeCapture {
		if a.Interface == "" {
			return errors.New("--extcap-interface is missing: start captures from Wireshark or tshark -i")
		}
		if a.Fifo == "" {
			return errors.New("--fifo is missing: start captures from Wireshark or tshark -i")
		}
	}
	return nil
}
