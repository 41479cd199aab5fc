package discover

import (
	"strings"
	"testing"
)

// TestFixtureHomeFieldsStayOnOneLine: no value read from a broken home
// can break a line of vmdump list's table (the table itself is the
// binary's, list_output.go).
func TestFixtureHomeFieldsStayOnOneLine(t *testing.T) {
	vms := Discover(discLoadFixture(t, "broken").env)
	if len(vms) == 0 {
		t.Fatal("the broken fixture home lists no VM")
	}
	for _, vm := range vms {
		for _, s := range []string{vm.ID, vm.Name, vm.Manager, string(vm.State), vm.Endpoint(), vm.Skip, vm.Note} {
			if strings.ContainsAny(s, "\n\r\t") {
				t.Errorf("%s: a value breaks a line: %q", vm.ID, s)
			}
		}
	}
}
