package dialog

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/pcaptest"
)

func TestMultiInterfaceList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{"eth0"}, []string{"eth0"}},
		{[]string{"eth0,docker0", "veth1, eth0 ,,docker0"}, []string{"eth0", "docker0", "veth1"}},
		{[]string{" , ", "br-1a2b3c4d5e6f"}, []string{"br-1a2b3c4d5e6f"}},
	} {
		if got := InterfaceList(tc.in...); fmt.Sprint(got) != fmt.Sprint(tc.want) || len(got) != len(tc.want) {
			t.Errorf("InterfaceList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMultiMoreInterfacesArg(t *testing.T) {
	if _, ok := MoreInterfacesArg(Defaults{RemoteInterface: "eth0"}); ok {
		t.Fatal("a multicheck without an inventory")
	}
	a, ok := MoreInterfacesArg(Defaults{RemoteInterface: "eth0", RemoteInterfaces: []extcap.Value{
		{Value: "eth0", Display: "eth0", Default: true}, {Value: "docker0", Display: "docker0 (bridge)"},
		{Value: "veth1a2b3c4", Display: "veth1a2b3c4 — container web {nginx}"},
	}})
	if !ok {
		t.Fatal("no multicheck with an inventory")
	}
	var b bytes.Buffer
	if err := extcap.WriteConfig(&b, append(Args(Defaults{}), a)); err != nil {
		t.Fatal(err)
	}
	lines := pcaptest.SplitLines(b.String())
	pcaptest.Golden(t, strings.Join(lines[len(lines)-4:], "\n")+"\n", []string{
		"arg {number=13}{call=--more-interfaces}{display=More interfaces}{type=multicheck}{tooltip=Further interfaces inside the VM to capture into the same file, each as an interface of its own}{required=false}{group=Capture}",
		"value {arg=13}{value=eth0}{display=eth0}{enabled=true}",
		"value {arg=13}{value=docker0}{display=docker0 (bridge)}{enabled=true}",
		"value {arg=13}{value=veth1a2b3c4}{display=veth1a2b3c4 — container web (nginx)}{enabled=true}",
	})
}
