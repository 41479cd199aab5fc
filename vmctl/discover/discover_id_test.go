package discover

import (
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
)

func TestDiscoverIDSanitize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"default", "default"},
		{"My-VM", "my_vm"},
		{"a  --  b", "a_b"},
		{"__x__", "x"},
		{"podman-machine-default (libkrun)", "podman_machine_default_libkrun"},
		{"café", "caf"},
		{"", ""},
		{"---", ""},
		{"web/default", "web_default"},
	} {
		if got := IDPart(c.in); got != c.want {
			t.Errorf("IDPart(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDiscoverAssignIDs(t *testing.T) {
	long := strings.Repeat("very-long-name-", 5)
	for _, c := range []struct {
		name   string
		vms    []vmctl.VM
		shorts []string
		want   []string
	}{
		{
			name:   "plain",
			vms:    []vmctl.VM{{Manager: "lima", Name: "default"}, {Manager: "lima", Name: "dev"}},
			shorts: []string{"lima", "lima"},
			want:   []string{"vmdump_lima_default", "vmdump_lima_dev"},
		},
		{
			// The name already in ID form keeps its plain ID; the look-alike
			// gets a hash, so adding it does not rename the first.
			name:   "collision keeps the canonical name plain",
			vms:    []vmctl.VM{{Manager: "podman", Name: "my-vm"}, {Manager: "podman", Name: "my_vm"}},
			shorts: []string{"podman", "podman"},
			want:   []string{"vmdump_podman_my_vm_" + discTestHash("podman", "my-vm"), "vmdump_podman_my_vm"},
		},
		{
			name:   "collision of two non-canonical names",
			vms:    []vmctl.VM{{Manager: "config", Name: "A b"}, {Manager: "config", Name: "a-B"}},
			shorts: []string{"cfg", "cfg"},
			want:   []string{"vmdump_cfg_a_b_" + discTestHash("config", "A b"), "vmdump_cfg_a_b_" + discTestHash("config", "a-B")},
		},
		{
			name:   "long names are cut and hashed",
			vms:    []vmctl.VM{{Manager: "lima", Name: long}},
			shorts: []string{"lima"},
			want:   []string{"vmdump_lima_very_long_name_very_l_" + discTestHash("lima", long)},
		},
		{
			name:   "empty name",
			vms:    []vmctl.VM{{Manager: "ssh", Name: "!!!"}},
			shorts: []string{"ssh"},
			want:   []string{"vmdump_ssh_vm_" + discTestHash("ssh", "!!!")},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			discAssignIDs(c.vms, c.shorts)
			for i, vm := range c.vms {
				if vm.ID != c.want[i] {
					t.Errorf("ID of %q = %q, want %q", vm.Name, vm.ID, c.want[i])
				}
				if len(vm.ID) > discIDMaxLen || !discTestValidID.MatchString(vm.ID) {
					t.Errorf("ID %q is not a valid interface ID", vm.ID)
				}
			}
		})
	}
}

func discTestHash(manager, name string) string {
	id := discIDFor("x", vmctl.VM{Manager: manager, Name: name}, true)
	return id[len(id)-discIDHash:]
}
