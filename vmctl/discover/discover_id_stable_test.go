package discover

import (
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
)

func TestDiscoverASCIILetters(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Café", "cafe"},
		{"Cafè", "cafe"},
		{"CAFÉ", "cafe"},
		{"Cafe\u0301", "cafe"}, // decomposed é
		{"Crème Brûlée", "creme brulee"},
		{"Straße", "strasse"},
		{"STRAẞE", "strasse"},
		{"Øresund", "oresund"},
		{"Łódź", "lodz"},
		{"Ærø", "aero"},
		{"İstanbul", "istanbul"},
		{"naïve-vm", "naive-vm"},
		{"Þór", "thor"},
		{"日本", "日本"}, // not Latin: left for IDPart, which drops it
	} {
		if got := discASCIILetters(c.in); got != c.want {
			t.Errorf("discASCIILetters(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// One VM's ID never depends on which other VMs are listed, for names that
// are not ASCII: every subset of look-alike names gives each name the ID
// it has alone, and the IDs of a subset are distinct. Of the ASCII names,
// the plain one ("cafe") keeps its ID too; "CAFE" keeps today's rule, its
// plain ID unless "cafe" is listed.
func TestDiscoverIDsStable(t *testing.T) {
	names := []string{"Café", "Cafè", "cafe", "CAFE", "café ", "café", "Cafe\u0301", "CAFÉ", "Caf", "caf"}
	alone := map[string]string{}
	for _, n := range names {
		vms := []vmctl.VM{{Manager: "config", Name: n}}
		discAssignIDs(vms, []string{"cfg"})
		alone[n] = vms[0].ID
	}
	for _, c := range []struct{ name, id string }{
		{"cafe", "vmdump_cfg_cafe"},
		{"CAFE", "vmdump_cfg_cafe"},
		{"caf", "vmdump_cfg_caf"},
		{"Caf", "vmdump_cfg_caf"},
		{"Café", "vmdump_cfg_cafe_" + discTestHash("config", "Café")},
		{"Cafè", "vmdump_cfg_cafe_" + discTestHash("config", "Cafè")},
		{"café ", "vmdump_cfg_cafe_" + discTestHash("config", "café ")},
		{"CAFÉ", "vmdump_cfg_cafe_" + discTestHash("config", "CAFÉ")},
	} {
		if alone[c.name] != c.id {
			t.Errorf("ID of %q alone = %q, want %q", c.name, alone[c.name], c.id)
		}
	}
	for mask := 1; mask < 1<<len(names); mask++ {
		var vms []vmctl.VM
		var shorts []string
		for i, n := range names {
			if mask&(1<<i) != 0 {
				vms = append(vms, vmctl.VM{Manager: "config", Name: n})
				shorts = append(shorts, "cfg")
			}
		}
		discAssignIDs(vms, shorts)
		has := func(n string) bool {
			for _, vm := range vms {
				if vm.Name == n {
					return true
				}
			}
			return false
		}
		seen := map[string]string{}
		for _, vm := range vms {
			if other, dup := seen[vm.ID]; dup {
				t.Errorf("%q and %q share the ID %q", other, vm.Name, vm.ID)
			}
			seen[vm.ID] = vm.Name
			if len(vm.ID) > discIDMaxLen || !discTestValidID.MatchString(vm.ID) {
				t.Errorf("ID %q is not a valid interface ID", vm.ID)
			}
			asciiLookAlike := (vm.Name == "CAFE" && has("cafe")) || (vm.Name == "Caf" && has("caf"))
			if vm.ID != alone[vm.Name] && !asciiLookAlike {
				t.Errorf("with %s: ID of %q = %q, alone %q", discTestNames(vms), vm.Name, vm.ID, alone[vm.Name])
			}
		}
	}
}

// IDs that existed before non-ASCII names got their hash stay as they
// were: users keep -o extcap.<id>.* settings under them.
func TestDiscoverIDsOfASCIINamesUnchanged(t *testing.T) {
	for _, c := range []struct{ name, id string }{
		{"default", "vmdump_lima_default"},
		{"my-vm", "vmdump_lima_my_vm"},
		{"my.vm", "vmdump_lima_my_vm"},
		{"My VM", "vmdump_lima_my_vm"},
		{"podman-machine-default", "vmdump_lima_podman_machine_default"},
		{"web/default", "vmdump_lima_web_default"},
		{"vm_1", "vmdump_lima_vm_1"},
	} {
		vms := []vmctl.VM{{Manager: "lima", Name: c.name}}
		discAssignIDs(vms, []string{"lima"})
		if vms[0].ID != c.id {
			t.Errorf("ID of %q = %q, want %q", c.name, vms[0].ID, c.id)
		}
	}
}

func TestDiscoverIDsOfOtherScripts(t *testing.T) {
	long := strings.Repeat("Ünïcödé-", 10)
	for _, c := range []struct{ name, id string }{
		{"日本", "vmdump_cfg_vm_" + discTestHash("config", "日本")},
		{"Δοκιμή vm", "vmdump_cfg_vm_" + discTestHash("config", "Δοκιμή vm")},
		{long, "vmdump_cfg_unicode_unicode_unicod_" + discTestHash("config", long)},
	} {
		vms := []vmctl.VM{{Manager: "config", Name: c.name}}
		discAssignIDs(vms, []string{"cfg"})
		if vms[0].ID != c.id || len(vms[0].ID) > discIDMaxLen || !discTestValidID.MatchString(vms[0].ID) {
			t.Errorf("ID of %q = %q, want %q", c.name, vms[0].ID, c.id)
		}
	}
}

func discTestNames(vms []vmctl.VM) string {
	var ns []string
	for _, vm := range vms {
		ns = append(ns, `"`+vm.Name+`"`)
	}
	return strings.Join(ns, ", ")
}

// Through config.toml: adding "Cafè" next to "Café" does not rename it.
func TestDiscoverIDsStableInConfig(t *testing.T) {
	ids := func(text string) map[string]string {
		env, _ := cfgTestEnv(t, text)
		out := map[string]string{}
		for _, vm := range Discover(env) {
			if vm.Skip != "" {
				t.Fatalf("%q skipped: %s", vm.Name, vm.Skip)
			}
			out[vm.Name] = vm.ID
		}
		return out
	}
	one := ids("[[vm]]\nname = \"Café\"\nhost = \"10.0.0.1\"\n")
	two := ids("[[vm]]\nname = \"Café\"\nhost = \"10.0.0.1\"\n\n[[vm]]\nname = \"Cafè\"\nhost = \"10.0.0.2\"\n")
	if one["Café"] != two["Café"] || two["Café"] == two["Cafè"] || len(two) != 2 {
		t.Errorf("alone %v, with Cafè %v", one, two)
	}
	if want := "vmdump_cfg_cafe_" + discTestHash("config", "Café"); one["Café"] != want {
		t.Errorf("ID %q, want %q", one["Café"], want)
	}
}
