package extcap

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/pcaptest"
)

// testOptions stand for a provider's dialog options: ParseArgs is generic,
// so its tests give it a struct of their own, with the long names (the
// same as vmdump's dialog) of the options their rows use.
type testOptions struct {
	RemoteInterface string `long:"remote-interface"`
	PayloadOnly     string `long:"payload-only"`
	Snaplen         string `long:"snaplen"`
	Reconnect       string `long:"reconnect"`
	SSHUser         string `long:"ssh-user"`
	SSHPort         string `long:"ssh-port"`
	SSHKey          string `long:"ssh-key"`
	SSHPassword     string `long:"ssh-password"`
	LogLevel        string `long:"log-level"`
	LogFile         string `long:"log-file"`
}

// Real argv from tshark/Wireshark 4.0 (reference §1.1).
var wiresharkArgvs = pcaptest.WiresharkArgvs

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want Args
		opts testOptions
		mode Mode
	}{
		{"interfaces with version", wiresharkArgvs[0], Args{ExtcapInterfaces: true, ExtcapVersion: "4.0"}, testOptions{}, ModeInterfaces},
		{"interfaces retry", wiresharkArgvs[1], Args{ExtcapInterfaces: true}, testOptions{}, ModeInterfaces},
		{"config", wiresharkArgvs[2], Args{Config: true, Interface: "vmdump-default"}, testOptions{}, ModeConfig},
		{"reload with flag true", wiresharkArgvs[3], Args{Config: true, Interface: "vmdump-default", ReloadOption: "remote-interface"}, testOptions{SSHUser: "docker", PayloadOnly: "off"}, ModeReload},
		{"dlts", wiresharkArgvs[4], Args{DLTs: true, Interface: "vmdump-default"}, testOptions{}, ModeDLTs},
		{"filter check", wiresharkArgvs[5], Args{CaptureFilter: "tcp port 80", Interface: "vmdump-default", filterGiven: true}, testOptions{}, ModeFilterCheck},
		{"empty filter check", []string{"--extcap-capture-filter", "", "--extcap-interface", "x"}, Args{Interface: "x", filterGiven: true}, testOptions{}, ModeFilterCheck},
		{"capture", wiresharkArgvs[6], Args{Capture: true, Interface: "vmdump-default", CaptureFilter: "udp port 9998 and not host 1.2.3.4", filterGiven: true, Fifo: "/tmp/wireshark_extcap_vmdump-default0173Y3"}, testOptions{RemoteInterface: "eth1", PayloadOnly: "on", Snaplen: "0"}, ModeCapture},
		{"capture with controls, dash value", wiresharkArgvs[7], Args{Capture: true, Interface: "vmdump-default", Fifo: "/tmp/f", ControlOut: "/tmp/c1", ControlIn: "/tmp/c2"}, testOptions{SSHPassword: "-p4ss", LogLevel: "debug", LogFile: "/tmp/log"}, ModeCapture},
		{"postkill alone (Wireshark 4.6)", wiresharkArgvs[8], Args{CleanupPostkill: true}, testOptions{}, ModeCleanup},
		{"unknown options with values", wiresharkArgvs[9], Args{Interface: "vmdump-default"}, testOptions{}, ModeNone},
		{"glued values", []string{"--capture", "--fifo=/tmp/a=b", "--ssh-port=2222", "--extcap-capture-filter=port 22"},
			Args{Capture: true, Fifo: "/tmp/a=b", CaptureFilter: "port 22", filterGiven: true}, testOptions{SSHPort: "2222"}, ModeCapture},
		{"flag true token", []string{"--capture", "true", "--fifo", "/f"}, Args{Capture: true, Fifo: "/f"}, testOptions{}, ModeCapture},
		{"flag TRUE token", []string{"--capture", "TRUE"}, Args{Capture: true}, testOptions{}, ModeCapture},
		{"flag false token", []string{"--capture", "false", "--extcap-dlts"}, Args{DLTs: true}, testOptions{}, ModeDLTs},
		{"flag glued false", []string{"--capture=false", "--extcap-config"}, Args{Config: true}, testOptions{}, ModeConfig},
		{"value that looks like an option", []string{"--ssh-password", "--capture", "--ssh-key", "/home/u/.ssh/id"}, Args{}, testOptions{SSHPassword: "--capture", SSHKey: "/home/u/.ssh/id"}, ModeNone},
		{"quotes are kept", []string{"--extcap-capture-filter", `"tcp"`, "--capture"}, Args{CaptureFilter: `"tcp"`, Capture: true, filterGiven: true}, testOptions{}, ModeCapture},
		{"windows path value", []string{"--ssh-key", `C:\Users\u\key`, "--fifo", `\\.\pipe\wireshark_extcap_x_20240101`}, Args{Fifo: `\\.\pipe\wireshark_extcap_x_20240101`}, testOptions{SSHKey: `C:\Users\u\key`}, ModeNone},
		{"slash value", []string{"--log-file", "/help"}, Args{}, testOptions{LogFile: "/help"}, ModeNone},
		{"last wins", []string{"--snaplen", "1", "--snaplen", "2"}, Args{}, testOptions{Snaplen: "2"}, ModeNone},
		{"positional leftovers", []string{"foo", "-x", "bar", "--extcap-interfaces", "baz"}, Args{ExtcapInterfaces: true}, testOptions{}, ModeInterfaces},
		{"double dash ends options", []string{"--extcap-dlts", "--", "--capture"}, Args{DLTs: true}, testOptions{}, ModeDLTs},
		{"bare version", []string{"--extcap-version", "--extcap-interfaces"}, Args{ExtcapInterfaces: true}, testOptions{}, ModeInterfaces},
		{"separate version", []string{"--extcap-version", "4.2", "--extcap-interfaces"}, Args{ExtcapVersion: "4.2", ExtcapInterfaces: true}, testOptions{}, ModeInterfaces},
		{"interfaces wins over capture", []string{"--capture", "--extcap-interfaces"}, Args{Capture: true, ExtcapInterfaces: true}, testOptions{}, ModeInterfaces},
		{"config without reload", []string{"--extcap-config", "--extcap-reload-option", ""}, Args{Config: true}, testOptions{}, ModeConfig},
		{"nothing", nil, Args{}, testOptions{}, ModeNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts testOptions
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
		_, err := ParseArgs(tt.argv, &testOptions{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseArgs(%q) error = %v, want %q", tt.argv, err, tt.want)
		}
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
		var o testOptions
		a, err := ParseArgs(argv, &o)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n") && !strings.ContainsAny(joined, "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		_ = a.Mode().String()
		_ = a.Validate()
		_ = a.LogValue().String()
	})
}
