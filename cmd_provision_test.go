package main

import (
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
)

// TestFindVM: `vmdump provision` takes what messages print (the id) and
// what people type (manager/name, a name), and says which ids to choose
// from when a name is not unique.
func TestFindVM(t *testing.T) {
	vms := []vmctl.VM{
		{ID: "vmdump_colima_default", Manager: "colima", Name: "default"},
		{ID: "vmdump_lima_default", Manager: "lima", Name: "default"},
		{ID: "vmdump_config_lab", Manager: "config", Name: "lab"},
	}
	for _, tc := range []struct{ arg, want, wantErr string }{
		{"vmdump_lima_default", "vmdump_lima_default", ""},
		{"colima/default", "vmdump_colima_default", ""},
		{"lab", "vmdump_config_lab", ""},
		{"default", "", "2 VMs are named \"default\": give one id of vmdump_colima_default, vmdump_lima_default"},
		{"docker/lab", "", "no VM \"docker/lab\""},
		{"nosuch", "", "no VM \"nosuch\""},
	} {
		vm, err := findVM(vms, tc.arg)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: err %v, want %q", tc.arg, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || vm.ID != tc.want):
			t.Errorf("%s: %q, %v; want %q", tc.arg, vm.ID, err, tc.want)
		}
	}
}

// TestProvisionUsage: the subcommand is in `vmdump help`, and a missing VM
// argument is a usage error that says what to give.
func TestProvisionUsage(t *testing.T) {
	var out, errb strings.Builder
	if code := runCommand([]string{"help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "vmdump provision VM") {
		t.Errorf("help: exit %d, no provision line:\n%s", code, out.String())
	}
	out.Reset()
	if code := runCommand([]string{"provision"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "provision needs one VM") {
		t.Errorf("provision without a VM: exit %d, stderr %q", code, errb.String())
	}
}
