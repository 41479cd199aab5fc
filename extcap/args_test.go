package extcap

import (
	"reflect"
	"strings"
	"testing"
)

// Real argv from tshark/Wireshark 4.0 (reference §1.1), with vmdump's
// interface and options in place of sshdump's.
var wiresharkArgvs = [][]string{
	{"--extcap-interfaces", "--extcap-version=4.0"},
	{"--extcap-interfaces"},
	{"--extcap-config", "--extcap-interface", "vmdump-default"},
	{"--extcap-config", "--extcap-interface", "vmdump-default", "--extcap-reload-option", "remote-interface", "--ssh-user", "docker", "--payload-only", "off", "--some-flag", "true"},
	{"--extcap-dlts", "--extcap-interface", "vmdump-default"},
	{"--extcap-capture-filter", "tcp port 80", "--extcap-interface", "vmdump-default"},
	{"--capture", "--extcap-interface", "vmdump-default", "--extcap-capture-filter", "udp port 9998 and not host 1.2.3.4", "--fifo", "/tmp/wireshark_extcap_vmdump-default0173Y3", "--remote-interface", "eth1", "--payload-only", "on", "--snaplen", "0"},
	{"--capture", "--extcap-interface", "vmdump-default", "--fifo", "/tmp/f", "--extcap-control-out", "/tmp/c1", "--extcap-control-in", "/tmp/c2", "--ssh-password", "-p4ss", "--log-level", "debug", "--log-file", "/tmp/log"},
	{"--extcap-cleanup-postkill"},
	{"--extcap-interface", "vmdump-default", "--extcap-config-option-name", "x", "--extcap-config-option-value", "y"},
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want Args
		opts Options
		mode Mode
	}{
		{"interfaces with version", wiresharkArgvs[0], Args{ExtcapInterfaces: true, ExtcapVersion: "4.0"}, Options{}, ModeInterfaces},
		{"interfaces retry", wiresharkArgvs[1], Args{ExtcapInterfaces: true}, Options{}, ModeInterfaces},
		{"config", wiresharkArgvs[2], Args{Config: true, Interface: "vmdump-default"}, Options{}, ModeConfig},
		{"reload with flag true", wiresharkArgvs[3], Args{Config: true, Interface: "vmdump-default", ReloadOption: "remote-interface"}, Options{SSHUser: "docker", PayloadOnly: "off"}, ModeReload},
		{"dlts", wiresharkArgvs[4], Args{DLTs: true, Interface: "vmdump-default"}, Options{}, ModeDLTs},
		{"filter check", wiresharkArgvs[5], Args{CaptureFilter: "tcp port 80", Interface: "vmdump-default", filterGiven: true}, Options{}, ModeFilterCheck},
		{"empty filter check", []string{"--extcap-capture-filter", "", "--extcap-interface", "x"}, Args{Interface: "x", filterGiven: true}, Options{}, ModeFilterCheck},
		{"capture", wiresharkArgvs[6], Args{Capture: true, Interface: "vmdump-default", CaptureFilter: "udp port 9998 and not host 1.2.3.4", filterGiven: true, Fifo: "/tmp/wireshark_extcap_vmdump-default0173Y3"}, Options{RemoteInterface: "eth1", PayloadOnly: "on", Snaplen: "0"}, ModeCapture},
		{"capture with controls, dash value", wiresharkArgvs[7], Args{Capture: true, Interface: "vmdump-default", Fifo: "/tmp/f", ControlOut: "/tmp/c1", ControlIn: "/tmp/c2"}, Options{SSHPassword: "-p4ss", LogLevel: "debug", LogFile: "/tmp/log"}, ModeCapture},
		{"postkill alone (Wireshark 4.6)", wiresharkArgvs[8], Args{CleanupPostkill: true}, Options{}, ModeCleanup},
		{"unknown options with values", wiresharkArgvs[9], Args{Interface: "vmdump-default"}, Options{}, ModeNone},
		{"glued values", []string{"--capture", "--fifo=/tmp/a=b", "--ssh-port=2222", "--extcap-capture-filter=port 22"},
			Args{Capture: true, Fifo: "/tmp/a=b", CaptureFilter: "port 22", filterGiven: true}, Options{SSHPort: "2222"}, ModeCapture},
		{"flag true token", []string{"--capture", "true", "--fifo", "/f"}, Args{Capture: true, Fifo: "/f"}, Options{}, ModeCapture},
		{"flag TRUE token", []string{"--capture", "TRUE"}, Args{Capture: true}, Options{}, ModeCapture},
		{"flag false token", []string{"--capture", "false", "--extcap-dlts"}, Args{DLTs: true}, Options{}, ModeDLTs},
		{"flag glued false", []string{"--capture=false", "--extcap-config"}, Args{Config: true}, Options{}, ModeConfig},
		{"value that looks like an option", []string{"--ssh-password", "--capture", "--ssh-key", "/home/u/.ssh/id"}, Args{}, Options{SSHPassword: "--capture", SSHKey: "/home/u/.ssh/id"}, ModeNone},
		{"quotes are kept", []string{"--extcap-capture-filter", `"tcp"`, "--capture"}, Args{CaptureFilter: `"tcp"`, Capture: true, filterGiven: true}, Options{}, ModeCapture},
		{"windows path value", []string{"--ssh-key", `C:\Users\u\key`, "--fifo", `\\.\pipe\wireshark_extcap_x_20240101`}, Args{Fifo: `\\.\pipe\wireshark_extcap_x_20240101`}, Options{SSHKey: `C:\Users\u\key`}, ModeNone},
		{"slash value", []string{"--log-file", "/help"}, Args{}, Options{LogFile: "/help"}, ModeNone},
		{"last wins", []string{"--snaplen", "1", "--snaplen", "2"}, Args{}, Options{Snaplen: "2"}, ModeNone},
		{"positional leftovers", []string{"foo", "-x", "bar", "--extcap-interfaces", "baz"}, Args{ExtcapInterfaces: true}, Options{}, ModeInterfaces},
		{"double dash ends options", []string{"--extcap-dlts", "--", "--capture"}, Args{DLTs: true}, Options{}, ModeDLTs},
		{"bare version", []string{"--extcap-version", "--extcap-interfaces"}, Args{ExtcapInterfaces: true}, Options{}, ModeInterfaces},
		{"separate version", []string{"--extcap-version", "4.2", "--extcap-interfaces"}, Args{ExtcapVersion: "4.2", ExtcapInterfaces: true}, Options{}, ModeInterfaces},
		{"interfaces wins over capture", []string{"--capture", "--extcap-interfaces"}, Args{Capture: true, ExtcapInterfaces: true}, Options{}, ModeInterfaces},
		{"config without reload", []string{"--extcap-config", "--extcap-reload-option", ""}, Args{Config: true}, Options{}, ModeConfig},
		{"nothing", nil, Args{}, Options{}, ModeNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts Options
			got, err := ParseArgs(tt.argv, &opts)
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", tt.argv, err)
			}
			if !reflect.DeepEqual(got, tt.want) || opts != tt.opts {
				t.Errorf("ParseArgs(%q)\n got %+v %+v\nwant %+v %+v", tt.argv, got, opts, tt.want, tt.opts)
			}
			if m := got.Mode(); m != tt.mode {
				t.Errorf("Mode() = %v, want %v", m, tt.mode)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"--capture", "--fifo"}, "--fifo needs a value"},
		{[]string{"--extcap-interface"}, "--extcap-interface needs a value"},
		{[]string{"--capture=maybe"}, `--capture is a flag: give it no value, true or false, not "maybe"`},
	}
	for _, tt := range tests {
		_, err := ParseArgs(tt.argv, &Options{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseArgs(%q) error = %v, want %q", tt.argv, err, tt.want)
		}
	}
}

// Every option of vmdump's dialog must be a known option of ParseArgs,
// spelled the same; otherwise Wireshark's value would be silently ignored.
func TestDialogCallsAreParsed(t *testing.T) {
	for _, a := range DialogArgs(DialogDefaults{RemoteInterface: "eth0", RemoteInterfaces: []Value{{Value: "eth0"}}, User: "u", Port: 22}) {
		argv := []string{a.Call, "x-value"}
		var got Options
		if _, err := ParseArgs(argv, &got); err != nil {
			t.Fatalf("ParseArgs(%q): %v", argv, err)
		}
		if got == (Options{}) {
			t.Errorf("dialog option %s is not parsed into Options", a.Call)
		}
	}
}

func TestArgsLogValueRedactsSecrets(t *testing.T) {
	var o Options
	if _, err := ParseArgs([]string{"--capture", "--ssh-password", "hunter2", "--ssh-key-passphrase", "s3cret", "--ssh-user", "docker"}, &o); err != nil {
		t.Fatal(err)
	}
	s := o.LogValue().String()
	if strings.Contains(s, "hunter2") || strings.Contains(s, "s3cret") {
		t.Errorf("LogValue leaks a secret: %s", s)
	}
	if !strings.Contains(s, "docker") || !strings.Contains(s, "(set)") {
		t.Errorf("LogValue lost non-secret fields: %s", s)
	}
}

func FuzzParseArgs(f *testing.F) {
	for _, argv := range wiresharkArgvs {
		f.Add(strings.Join(argv, "\x00"))
	}
	f.Add("--capture\x00true\x00--fifo")
	f.Add("--capture=maybe")
	f.Add("--extcap-version\x00--\x00--snaplen\x00-1")
	f.Add("--ssh-port=\x00--=\x00---\x00--=x")
	f.Fuzz(func(t *testing.T, joined string) {
		argv := strings.Split(joined, "\x00")
		var o Options
		a, err := ParseArgs(argv, &o)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n") && !strings.ContainsAny(joined, "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		_ = a.Mode().String()
		_ = a.Validate()
		_ = o.Validate()
		_ = o.LogValue().String()
		_, _ = o.SnaplenValue()
		_, _ = o.SSHPortValue()
		_, _ = o.PrivValue()
		_, _ = o.LogLevelValue()
		_ = o.PayloadOnlyOn()
		_ = o.ReconnectOn()
		_ = o.HostKeyAcceptNew()
		_ = a.LogValue().String()
	})
}
