package dialog

import (
	"cmp"
	"log/slog"
	"testing"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/pcaptest"
)

// effective is what vmdump does with the options, defaults applied.
type effective struct {
	payloadOnly, reconnect, acceptNew bool
	snaplen                           int
	priv                              string
	level                             slog.Level
}

func effectiveOf(t *testing.T, argv ...string) effective {
	t.Helper()
	var a Options
	_, err := extcap.ParseArgs(argv, &a)
	if err != nil {
		t.Fatalf("extcap.ParseArgs(%q): %v", argv, err)
	}
	if err := a.Validate(); err != nil {
		t.Fatalf("Validate(%q): %v", argv, err)
	}
	e := effective{payloadOnly: a.PayloadOnlyOn(), reconnect: a.ReconnectOn(), acceptNew: a.HostKeyAcceptNew()}
	var err1, err2, err3 error
	e.snaplen, err1 = a.SnaplenValue()
	e.priv, err2 = a.PrivValue()
	e.level, err3 = a.LogLevelValue()
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			t.Fatalf("%q: %v", argv, err)
		}
	}
	return e
}

func TestDefaults(t *testing.T) {
	want := effective{payloadOnly: true, reconnect: false, acceptNew: false, snaplen: 0, priv: "auto", level: LevelMessage}
	if got := effectiveOf(t, "--extcap-config"); got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
}

// Wireshark leaves out an option whose value equals the advertised default
// (reference §3), or passes it explicitly (tshark, saved preferences). Both
// must mean the same: pass every advertised default explicitly and compare.
func TestAdvertisedDefaultsEqualAbsent(t *testing.T) {
	absent := effectiveOf(t, "--extcap-config")
	for _, a := range Args(Defaults{}) {
		def := a.Default
		for _, v := range a.Values {
			if v.Default {
				def = v.Value
			}
		}
		if def == "" {
			continue
		}
		t.Run(a.Call, func(t *testing.T) {
			if got := effectiveOf(t, "--extcap-config", a.Call, def); got != absent {
				t.Errorf("%s %s gives %+v, absent gives %+v", a.Call, def, got, absent)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	tests := []struct {
		argv []string
		want effective
	}{
		{[]string{"--payload-only", "off"}, effective{payloadOnly: false, priv: "auto", level: LevelMessage}},
		{[]string{"--payload-only", "ON"}, effective{payloadOnly: true, priv: "auto", level: LevelMessage}},
		{[]string{"--reconnect", "on", "--host-key-policy", "accept-new"}, effective{payloadOnly: true, reconnect: true, acceptNew: true, priv: "auto", level: LevelMessage}},
		{[]string{"--snaplen", "262144", "--remote-priv", "sudo"}, effective{payloadOnly: true, snaplen: 262144, priv: "sudo", level: LevelMessage}},
		{[]string{"--snaplen", " 96 ", "--remote-priv", "none", "--log-level", "noisy"}, effective{payloadOnly: true, snaplen: 96, priv: "none", level: LevelNoisy}},
		{[]string{"--log-level", "info"}, effective{payloadOnly: true, priv: "auto", level: slog.LevelInfo}},
		{[]string{"--log-level", "debug"}, effective{payloadOnly: true, priv: "auto", level: slog.LevelDebug}},
	}
	for _, tt := range tests {
		if got := effectiveOf(t, tt.argv...); got != tt.want {
			t.Errorf("%q = %+v, want %+v", tt.argv, got, tt.want)
		}
	}
}

func TestSSHPortValue(t *testing.T) {
	tests := []struct {
		port string
		want int
		err  string
	}{
		{"", 0, ""},
		{"22", 22, ""},
		{"65535", 65535, ""},
		{"0", 0, `--ssh-port must be a whole number from 1 to 65535, not "0"`},
		{"65536", 0, `--ssh-port must be a whole number from 1 to 65535, not "65536"`},
		{"ssh", 0, `--ssh-port must be a whole number from 1 to 65535, not "ssh"`},
	}
	for _, tt := range tests {
		got, err := Options{SSHPort: tt.port}.SSHPortValue()
		if got != tt.want || pcaptest.ErrText(err) != tt.err {
			t.Errorf("SSHPortValue(%q) = %d, %v; want %d, %q", tt.port, got, err, tt.want, tt.err)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		a    extcap.Args
		o    Options
		want string
	}{
		{extcap.Args{}, Options{}, ""},
		{extcap.Args{Capture: true, Interface: "i", Fifo: "/f"}, Options{}, ""},
		{extcap.Args{Capture: true, Fifo: "/f"}, Options{}, "--extcap-interface is missing: start captures from Wireshark or tshark -i"},
		{extcap.Args{Capture: true, Interface: "i"}, Options{}, "--fifo is missing: start captures from Wireshark or tshark -i"},
		{extcap.Args{}, Options{PayloadOnly: "maybe"}, `--payload-only must be on or off, not "maybe"`},
		{extcap.Args{}, Options{Snaplen: "-1"}, `--snaplen must be a whole number from 0 to 262144, not "-1"`},
		{extcap.Args{}, Options{Snaplen: "262145"}, `--snaplen must be a whole number from 0 to 262144, not "262145"`},
		{extcap.Args{}, Options{Priv: "doas"}, `--remote-priv must be auto, none or sudo, not "doas"`},
		{extcap.Args{}, Options{Reconnect: "true"}, `--reconnect must be off or on, not "true"`},
		{extcap.Args{}, Options{SSHPort: "x"}, `--ssh-port must be a whole number from 1 to 65535, not "x"`},
		{extcap.Args{}, Options{AcceptNewHostKey: "yes"}, `--host-key-policy must be strict or accept-new, not "yes"`},
		{extcap.Args{}, Options{LogLevel: "warning"}, `--log-level must be message, info, debug or noisy, not "warning"`},
	}
	for _, tt := range tests {
		if got := pcaptest.ErrText(cmp.Or(tt.a.Validate(), tt.o.Validate())); got != tt.want {
			t.Errorf("Validate(%+v, %+v) = %q, want %q", tt.a, tt.o, got, tt.want)
		}
	}
}

// Invalid values that Validate reports still give the safe default.
func TestInvalidSelectorsFallBackToDefault(t *testing.T) {
	a := Options{PayloadOnly: "x", Reconnect: "x", AcceptNewHostKey: "x"}
	if !a.PayloadOnlyOn() || a.ReconnectOn() || a.HostKeyAcceptNew() {
		t.Errorf("invalid selectors: payload %v reconnect %v accept-new %v", a.PayloadOnlyOn(), a.ReconnectOn(), a.HostKeyAcceptNew())
	}
}
