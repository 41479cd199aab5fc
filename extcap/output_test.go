package extcap

import (
	"bytes"
	"testing"

	"github.com/vmdump/vmdump/internal/pcaptest"
)

func TestWriteInterfacesGolden(t *testing.T) {
	var b bytes.Buffer
	err := WriteInterfaces(&b, "1.2.0", "https://example.org/vmdump", "vmdump",
		[]Interface{
			{Value: "vmdump-default", Display: "Docker VM default (boot2docker) eth1"},
			{Value: "vmdump-colima", Display: "Colima {default}\nprofile\r"},
		},
		[]ToolbarControl{
			{Number: 0, Type: "button", Role: "logger", Display: "Log", Tooltip: "Show capture log"},
			{Number: 1, Type: "selector", Display: "Delay", Values: []Value{{Value: "1", Display: "1 s"}, {Value: "2", Display: "2 s", Default: true}}},
			{Number: 2, Type: "string", Display: "Note", Validation: `^[a-z]{1,3}$`, Required: true, Default: "abc"},
		})
	if err != nil {
		t.Fatal(err)
	}
	pcaptest.Golden(t, b.String(), []string{
		"extcap {version=1.2.0}{help=https://example.org/vmdump}{display=vmdump}",
		"interface {value=vmdump-default}{display=Docker VM default (boot2docker) eth1}",
		"interface {value=vmdump-colima}{display=Colima (default) profile}",
		"control {number=0}{type=button}{role=logger}{display=Log}{tooltip=Show capture log}",
		"control {number=1}{type=selector}{display=Delay}",
		"value {control=1}{value=1}{display=1 s}",
		"value {control=1}{value=2}{display=2 s}{default=true}",
		"control {number=2}{type=string}{display=Note}{validation=^[a-z]{1,3}$}{default=abc}{required=true}",
	})
}

func TestWriteInterfacesWithoutExtcapLine(t *testing.T) {
	var b bytes.Buffer
	if err := WriteInterfaces(&b, "", "", "", []Interface{{Value: "v", Display: "d"}}, nil); err != nil {
		t.Fatal(err)
	}
	pcaptest.Golden(t, b.String(), []string{"interface {value=v}{display=d}"})
	b.Reset()
	if err := WriteInterfaces(&b, "1.0", "", "", nil, nil); err != nil {
		t.Fatal(err)
	}
	pcaptest.Golden(t, b.String(), []string{"extcap {version=1.0}"})
}

func TestWriteDLTsGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDLTs(&b, EthernetDLT); err != nil {
		t.Fatal(err)
	}
	pcaptest.Golden(t, b.String(), []string{"dlt {number=1}{name=EN10MB}{display=Ethernet}"})
	if err := WriteDLTs(&b, DLT{Number: 147}); err == nil {
		t.Error("WriteDLTs accepted a DLT without name and display")
	}
}

func TestWriteConfigProperties(t *testing.T) {
	no := false
	var b bytes.Buffer
	err := WriteConfig(&b, []Arg{
		{Number: 3, Call: "--m", Display: "M", Type: "multicheck", Save: &no, Validation: `\b(?:a|b)\b`,
			Values: []Value{{Value: "a", Display: "A", Enabled: true}, {Value: "b", Parent: "a", Default: true, Enabled: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	pcaptest.Golden(t, b.String(), []string{
		`arg {number=3}{call=--m}{display=M}{type=multicheck}{validation=\b(?:a|b)\b}{required=false}{save=false}`,
		"value {arg=3}{value=a}{display=A}{enabled=true}",
		"value {arg=3}{value=b}{display=b}{default=true}{enabled=true}{parent=a}",
	})
}

func TestWriteConfigRefusesWhatWiresharkDrops(t *testing.T) {
	tests := []struct {
		name string
		args []Arg
		want string
	}{
		{"duplicate number", []Arg{{Number: 1, Call: "--a", Display: "A", Type: "string"}, {Number: 1, Call: "--b", Display: "B", Type: "string"}}, "arg number 1 used twice (--b)"},
		{"no call", []Arg{{Number: 1, Display: "A", Type: "string"}}, "arg 1 needs both call and display"},
		{"booleanflag", []Arg{{Number: 1, Call: "--a", Display: "A", Type: "booleanflag"}}, `arg --a has type "booleanflag", which Wireshark does not know`},
		{"range without comma", []Arg{{Number: 1, Call: "--a", Display: "A", Type: "unsigned", Range: "1-5"}}, `arg --a has range "1-5" without a comma; Wireshark would drop the arg`},
		{"regex ending early", []Arg{{Number: 1, Call: "--a", Display: "A", Type: "string", Validation: "a{2} b"}}, `validation regex "a{2} b" contains "} ", which ends the value early`},
		{"empty value", []Arg{{Number: 1, Call: "--a", Display: "A", Type: "selector", Values: []Value{{Display: "x"}}}}, "value 0 of arg --a is empty"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		err := WriteConfig(&b, tt.args)
		if pcaptest.ErrText(err) != tt.want {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %q despite the error", tt.name, b.String())
		}
	}
}

func TestWritersReportWriteErrors(t *testing.T) {
	w := pcaptest.FailingWriter{}
	for name, err := range map[string]error{
		"interfaces": WriteInterfaces(w, "1", "", "", []Interface{{Value: "a", Display: "b"}}, nil),
		"dlts":       WriteDLTs(w, EthernetDLT),
		"config":     WriteConfig(w, []Arg{{Number: 0, Call: "--a", Display: "A", Type: "string"}}),
		"values":     WriteValues(w, 0, []Value{{Value: "a"}}),
	} {
		if pcaptest.ErrText(err) != "writing extcap reply: disk full" {
			t.Errorf("%s: error %v", name, err)
		}
	}
}
