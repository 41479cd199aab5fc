package capture

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest/nictest"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
)

func TestNICInterfaceIDs(t *testing.T) {
	inv := probe.Inventory{NICs: []probe.NIC{
		{Name: "eth0"}, {Name: "br-1a2b3c4d5e6f"}, {Name: "br_1a2b3c4d5e6f"}, {Name: "ETH0"}, {Name: "--"}, {Name: "wg.0@x"},
	}}
	var got []string
	for _, e := range nicEntries("vmdump_lima_default", inv) {
		got = append(got, e.id)
		if strings.Count(e.id, nicIDSep) != 1 || strings.Trim(e.id, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("id %q is not [a-z0-9_] with one %q", e.id, nicIDSep)
		}
	}
	want := []string{
		"vmdump_lima_default__eth0",
		"vmdump_lima_default__br_1a2b3c4d5e6f",
		"vmdump_lima_default__br_1a2b3c4d5e6f_", // collides with br-1a2b3c4d5e6f: plus a hash
		"vmdump_lima_default__eth0_",            // collides with eth0: plus a hash
		"vmdump_lima_default__nic",
		"vmdump_lima_default__wg_0_x",
	}
	if len(got) != len(want) {
		t.Fatalf("ids %q", got)
	}
	for i, w := range want {
		if strings.HasSuffix(w, "_") {
			hash := strings.TrimPrefix(got[i], w)
			if hash == got[i] || len(hash) != 8 || strings.Trim(hash, "0123456789abcdef") != "" {
				t.Errorf("id %d = %q, want %q and 8 hex digits", i, got[i], w)
			}
			continue
		}
		if got[i] != w {
			t.Errorf("id %d = %q, want %q", i, got[i], w)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
		t.Errorf("ids not unique: %q", got)
	}
	// The same inventory always gives the same ids.
	again := nicEntries("vmdump_lima_default", inv)
	for i := range again {
		if again[i].id != got[i] {
			t.Errorf("id %d changed: %q then %q", i, got[i], again[i].id)
		}
	}
}

func TestNICInterfaceListFromCache(t *testing.T) {
	env := nictest.Env(t)
	vms := nictest.VMs()
	for _, id := range []string{"vmdump_b2d_default", "vmdump_dd_desktop", "vmdump_x_broken", "vmdump_lima_old"} {
		if err := probe.SaveInventory(env, id, nictest.Inventory); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, i := range Targets(env, vms) {
		got = append(got, i.ID+" | "+i.Display)
	}
	want := []string{
		"vmdump_b2d_default | Docker VM default (boot2docker, running)",
		"vmdump_b2d_default__lo | default: lo (loopback)",
		"vmdump_b2d_default__eth0 | default: eth0",
		"vmdump_b2d_default__docker0 | default: docker0 (bridge)",
		"vmdump_b2d_default__br_1a2b3c4d5e6f | default: br-1a2b3c4d5e6f (bridge, down)",
		"vmdump_b2d_default__vethab12 | default: vethab12 — container web (nginx)",
		// no cache for dev: only the VM
		"vmdump_lima_dev | Docker VM dev (lima)",
		// a VM vmdump cannot capture gets no NICs, whatever its cache says
		"vmdump_dd_desktop | Docker VM desktop (docker-desktop) - no SSH: needs Docker API transport",
		// a stopped VM: its cached NICs wait until it runs
		"vmdump_lima_old | Docker VM old (lima, stopped)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("interfaces\n got %q\nwant %q", got, want)
	}
}

func TestNICResolveInterface(t *testing.T) {
	env := nictest.Env(t)
	vms := nictest.VMs()
	if err := probe.SaveInventory(env, "vmdump_b2d_default", nictest.Inventory); err != nil {
		t.Fatal(err)
	}
	for _, i := range Targets(env, vms) {
		r, ok := Resolve(env, vms, i.ID)
		vm, nic := r.VM, r.NIC
		if !ok {
			t.Errorf("%s not resolved", i.ID)
			continue
		}
		if i.ID == vm.ID {
			if nic != "" {
				t.Errorf("VM interface %s resolved to NIC %q", i.ID, nic)
			}
			continue
		}
		if vm.ID != "vmdump_b2d_default" || !strings.HasPrefix(i.Display, "default: "+nic) {
			t.Errorf("%s → %s %q (display %q)", i.ID, vm.ID, nic, i.Display)
		}
	}
	for _, id := range []string{"vmdump_b2d_default__eth9", "vmdump_nope", "vmdump_lima_dev__eth0", "", "__eth0"} {
		if r, ok := Resolve(env, vms, id); ok {
			t.Errorf("%q resolved to %s %q", id, r.VM.ID, r.NIC)
		}
	}
	if err := UnknownInterfaceError("vmdump_b2d_default__eth9"); !strings.Contains(err.Error(), "Refresh Interfaces") {
		t.Errorf("NIC error %q", err)
	}
	if err := UnknownInterfaceError("vmdump_nope"); !strings.Contains(err.Error(), "vmdump list") {
		t.Errorf("VM error %q", err)
	}
}

func TestNICCaptureNames(t *testing.T) {
	for _, tc := range []struct {
		remote, more, nic string
		want              []string
		choose            bool
	}{
		{"", "", "", nil, true},
		{"", "", "vethab12", []string{"vethab12"}, false},
		{"docker0", "", "vethab12", []string{"docker0"}, false},
		{"docker0, vethab12", "", "", []string{"docker0", "vethab12"}, false},
		{"", "docker0,vethab12", "", []string{"docker0", "vethab12"}, true},
		{"eth1", "eth1,docker0", "", []string{"eth1", "docker0"}, false},
		{" ", "docker0", "veth9", []string{"veth9", "docker0"}, false},
	} {
		// The dialog's comma lists, split as dialog.InterfaceList does.
		split := func(s string) []string {
			var out []string
			for _, n := range strings.Split(s, ",") {
				if n = strings.TrimSpace(n); n != "" {
					out = append(out, n)
				}
			}
			return out
		}
		got, choose := NICNames(split(tc.remote), split(tc.more), tc.nic)
		if !slices.Equal(got, tc.want) || choose != tc.choose {
			t.Errorf("NICNames(%q, %q, %q) = %q, %v; want %q, %v", tc.remote, tc.more, tc.nic, got, choose, tc.want, tc.choose)
		}
	}
	specs := captureSpecs(remotecap.CaptureSpec{Filter: "tcp", Snaplen: 96, Priv: remotecap.PrivSudo}, []string{"a", "b"})
	if len(specs) != 2 || specs[0].Interface != "a" || specs[1].Interface != "b" || specs[1].Filter != "tcp" || specs[1].Snaplen != 96 || specs[1].Priv != remotecap.PrivSudo {
		t.Errorf("specs %+v", specs)
	}
	nics := pcapngNICs(vmctl.VM{Name: "default", Manager: "lima"}, nictest.Inventory, []remotecap.CaptureSpec{{Interface: "vethab12", Filter: "tcp"}, {Interface: "eth7"}}, "Alpine", "reconnected")
	want := []pcapng.NIC{
		{Name: "default:vethab12", Description: "Docker VM default (lima) vethab12 — container web (nginx) (reconnected)", Filter: "tcp", OS: "Alpine"},
		{Name: "default:eth7", Description: "Docker VM default (lima) eth7 (reconnected)", OS: "Alpine"},
	}
	if !slices.Equal(nics, want) {
		t.Errorf("pcapng NICs\n got %+v\nwant %+v", nics, want)
	}
}

// TestDefaultNICOfAVM: the config file's interface is the user's word;
// for a manager's VM the NIC comes from the VM (the manager's usual one
// only when the VM has it), and the cached inventory gives the dialog the
// same choice a capture makes from the same facts.
func TestDefaultNICOfAVM(t *testing.T) {
	inv := probe.Inventory{
		FetchedAt: time.Now(),
		NICs: []probe.NIC{
			{Name: "lo", Index: 1, Kind: "loopback", State: "unknown", Addrs: []string{"127.0.0.1/8"}},
			{Name: "ens3", Index: 2, Kind: "device", State: "up", Addrs: []string{"192.168.56.10/24"}},
			{Name: "docker0", Index: 3, Kind: "bridge", State: "up", Addrs: []string{"172.17.0.1/16"}},
		},
		DefaultRoute: "ens3",
		SessionAddr:  "192.168.56.10",
	}
	p := probe.Probe{ServerAddr: "192.168.56.10", Interfaces: []string{"lo", "ens3", "docker0"}}
	for _, c := range []struct {
		vm      vmctl.VM
		want    string
		whyPart string
	}{
		{vmctl.VM{Manager: "config", Interface: "eth9"}, "eth9", "config file"},
		{vmctl.VM{Manager: "docker-machine", Interface: "eth0"}, "ens3", "SSH session"}, // generic driver: no eth0 here
		{vmctl.VM{Manager: "docker-machine", Interface: "docker0"}, "docker0", "usual"},
		{vmctl.VM{Manager: "lima"}, "ens3", "SSH session"},
	} {
		name, why := DefaultNIC(c.vm, p, inv)
		if name != c.want || !strings.Contains(why, c.whyPart) || !strings.HasPrefix(why, name+": ") {
			t.Errorf("%+v: %q (%s), want %q (…%s…)", c.vm, name, why, c.want, c.whyPart)
		}
	}
	env := nictest.Env(t)
	vm := vmctl.VM{ID: "vmdump_dm_gen", Manager: "docker-machine", Interface: "eth0"}
	if got := CachedDefaultNIC(vm, probe.Inventory{}); got != "eth0" {
		t.Errorf("without NICs the choice is the manager's own, got %q", got)
	}
	if err := probe.SaveInventory(env, vm.ID, inv); err != nil {
		t.Fatal(err)
	}
	cached, ok := probe.LoadInventory(env, vm.ID)
	if !ok {
		t.Fatal("inventory not cached")
	}
	if got := CachedDefaultNIC(vm, cached); got != "ens3" {
		t.Errorf("cached choice %q, want ens3 (the capture's)", got)
	}
}
