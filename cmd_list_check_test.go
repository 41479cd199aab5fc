package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// TestCheckExitStatus: `vmdump list --check` prints each VM's line and
// fails (writeChecks returns errNoCapture, so it exits 1) when no VM can
// capture; one VM that can is enough for success.
func TestCheckExitStatus(t *testing.T) {
	vm := func(name string, state vmctl.State) vmctl.VM {
		return vmctl.VM{ID: "vmdump_cfg_" + name, Manager: "config", Name: name, Host: "10.0.0.1", State: state}
	}
	sudoPassword := capable
	sudoPassword.UID = 1000
	noTool := capable
	noTool.Tcpdump, noTool.Arch = "", "mips"
	answers := map[string]probe.Probe{"vmdump_cfg_ok": capable, "vmdump_cfg_sudo": sudoPassword, "vmdump_cfg_notool": noTool}
	tests := []struct {
		name   string
		vms    []vmctl.VM
		fails  bool
		want   []string
		probed []string
	}{
		{"no VM", nil, true, nil, nil},
		{"refused", []vmctl.VM{vm("down", vmctl.Unknown)}, true, []string{
			"vmdump_cfg_down  cannot reach VM down: connection refused  -          -\n",
		}, []string{"vmdump_cfg_down"}},
		{"refused, and one that can capture", []vmctl.VM{vm("down", vmctl.Unknown), vm("ok", vmctl.Running)}, false, []string{
			"vmdump_cfg_down  cannot reach VM down: connection refused  -          -\n",
			"vmdump_cfg_ok    ok                                        root       /usr/bin/tcpdump\n",
		}, []string{"vmdump_cfg_down", "vmdump_cfg_ok"}},
		{"reached, but sudo needs a password", []vmctl.VM{vm("sudo", vmctl.Unknown)}, true, []string{
			"vmdump_cfg_sudo  ok          sudo needs a password: allow NOPASSWD for tcpdump, or log in as root  /usr/bin/tcpdump\n",
		}, []string{"vmdump_cfg_sudo"}},
		{"reached, no tcpdump and no agent", []vmctl.VM{vm("notool", vmctl.Unknown)}, true, []string{
			"vmdump_cfg_notool  ok          root       tcpdump missing: apt-get install -y tcpdump (or: vmdump provision vmdump_cfg_notool)\n",
		}, []string{"vmdump_cfg_notool"}},
		{"stopped: not connected to", []vmctl.VM{vm("ok", vmctl.Stopped)}, true, []string{
			"vmdump_cfg_ok  not running  -          -\n",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var probed []string
			checks := runChecks(context.Background(), tt.vms, checkTimeout, func(ctx context.Context, vm vmctl.VM) (probe.Probe, error) {
				mu.Lock()
				probed = append(probed, vm.ID)
				mu.Unlock()
				if p, ok := answers[vm.ID]; ok {
					return p, nil
				}
				return probe.Probe{}, errors.New("cannot reach VM " + vm.Name + ": connection refused")
			})
			var out bytes.Buffer
			err := writeChecks(&out, checks)
			if tt.fails != errors.Is(err, errNoCapture) || (!tt.fails && err != nil) {
				t.Errorf("writeChecks: %v, want errNoCapture: %v", err, tt.fails)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("table lacks %q:\n%s", w, out.String())
				}
			}
			slices.Sort(probed) // checked at once: in any order
			if !slices.Equal(probed, tt.probed) {
				t.Errorf("probed %q, want %q", probed, tt.probed)
			}
		})
	}
}
