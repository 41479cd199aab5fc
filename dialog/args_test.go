package dialog

import (
	"strings"
	"testing"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/pcaptest"
)

// Every option of vmdump's dialog must be a known option of extcap.ParseArgs,
// spelled the same; otherwise Wireshark's value would be silently ignored.
func TestDialogCallsAreParsed(t *testing.T) {
	for _, a := range Args(Defaults{RemoteInterface: "eth0", RemoteInterfaces: []extcap.Value{{Value: "eth0"}}, User: "u", Port: 22}) {
		argv := []string{a.Call, "x-value"}
		var got Options
		if _, err := extcap.ParseArgs(argv, &got); err != nil {
			t.Fatalf("ParseArgs(%q): %v", argv, err)
		}
		if got == (Options{}) {
			t.Errorf("dialog option %s is not parsed into Options", a.Call)
		}
	}
}

func TestArgsLogValueRedactsSecrets(t *testing.T) {
	var o Options
	if _, err := extcap.ParseArgs([]string{"--capture", "--ssh-password", "hunter2", "--ssh-key-passphrase", "s3cret", "--ssh-user", "docker"}, &o); err != nil {
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

// The real Options parse the same Wireshark argv as extcap's parser tests
// (which use a stand-in struct): every option lands in its field, and every
// value is valid.
func TestOptionsParseWiresharkArgvs(t *testing.T) {
	argvs := pcaptest.WiresharkArgvs
	tests := []struct {
		argv []string
		mode extcap.Mode
		want Options
	}{
		{argvs[0], extcap.ModeInterfaces, Options{}},
		{argvs[1], extcap.ModeInterfaces, Options{}},
		{argvs[2], extcap.ModeConfig, Options{}},
		{argvs[3], extcap.ModeReload, Options{SSHUser: "docker", PayloadOnly: "off"}},
		{argvs[4], extcap.ModeDLTs, Options{}},
		{argvs[5], extcap.ModeFilterCheck, Options{}},
		{argvs[6], extcap.ModeCapture, Options{RemoteInterface: "eth1", PayloadOnly: "on", Snaplen: "0"}},
		{argvs[7], extcap.ModeCapture, Options{SSHPassword: "-p4ss", LogLevel: "debug", LogFile: "/tmp/log"}},
		{argvs[8], extcap.ModeCleanup, Options{}},
		{argvs[9], extcap.ModeNone, Options{}},
	}
	if len(tests) != len(argvs) {
		t.Fatalf("%d rows for %d Wireshark argvs", len(tests), len(argvs))
	}
	for _, tt := range tests {
		var o Options
		a, err := extcap.ParseArgs(tt.argv, &o)
		if err != nil {
			t.Fatalf("ParseArgs(%q): %v", tt.argv, err)
		}
		if o != tt.want || a.Mode() != tt.mode {
			t.Errorf("ParseArgs(%q) = %v %+v, want %v %+v", tt.argv, a.Mode(), o, tt.mode, tt.want)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", tt.argv, err)
		}
	}
}

// FuzzOptions runs the accessors on whatever extcap.ParseArgs fills in
// (the seeds are those of extcap's FuzzParseArgs).
func FuzzOptions(f *testing.F) {
	for _, argv := range pcaptest.WiresharkArgvs {
		f.Add(strings.Join(argv, "\x00"))
	}
	f.Add("--capture\x00true\x00--fifo")
	f.Add("--capture=maybe")
	f.Add("--extcap-version\x00--\x00--snaplen\x00-1")
	f.Add("--ssh-port=\x00--=\x00---\x00--=x")
	f.Fuzz(func(t *testing.T, joined string) {
		argv := strings.Split(joined, "\x00")
		var o Options
		if _, err := extcap.ParseArgs(argv, &o); err != nil {
			return
		}
		_ = o.Validate()
		_ = o.LogValue().String()
		_, _ = o.SnaplenValue()
		_, _ = o.SSHPortValue()
		_, _ = o.PrivValue()
		_, _ = o.LogLevelValue()
		_, _ = o.CaptureToolValue()
		_ = o.PayloadOnlyOn()
		_ = o.ReconnectOn()
		_ = o.HostKeyAcceptNew()
		_ = o.InstallTcpdumpOn()
	})
}
