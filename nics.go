package main

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/vmctl"
)

// The VMs' network interfaces in Wireshark: listed from each VM's cached
// inventory (never from the network: Wireshark lists interfaces at every
// start, with no timeout), refreshed whenever vmdump talks to the VM, and
// captured several at a time into one pcapng stream.

// nicIDSep joins a VM's interface id and a NIC into the NIC's interface id:
// "vmdump_lima_default__docker0". VM ids never contain it (discovery
// collapses separators), so the VM part is unambiguous.
const nicIDSep = "__"

// reloadTimeout bounds the dialog's Reload: Wireshark's dialog waits for
// vmdump with no timeout of its own, so a dead VM must not hang it.
var reloadTimeout = 6 * time.Second

// nicEntry is one NIC of a VM as a Wireshark interface.
type nicEntry struct {
	id  string
	nic probe.NIC
}

// nicEntries gives each NIC of inv its Wireshark interface id: the VM's id,
// "__", and the NIC's name lower-cased with every run of other characters
// than [a-z0-9] turned into "_" (Wireshark turns them into "_" in
// preference names anyway). Two names that come out the same (br-x and
// br_x) are told apart by a hash of the real name.
func nicEntries(vmID string, inv probe.Inventory) []nicEntry {
	out := make([]nicEntry, 0, len(inv.NICs))
	used := map[string]bool{}
	for _, n := range inv.NICs {
		id := vmID + nicIDSep + sanitizeNIC(n.Name)
		if used[id] {
			h := fnv.New32a()
			h.Write([]byte(n.Name))
			id = fmt.Sprintf("%s_%08x", id, h.Sum32())
		}
		if used[id] {
			continue // a repeated name: the inventory never has one
		}
		used[id] = true
		out = append(out, nicEntry{id: id, nic: n})
	}
	return out
}

func sanitizeNIC(name string) string {
	if s := discover.IDPart(name); s != "" {
		return s
	}
	return "nic"
}

// interfaceList is what --extcap-interfaces lists: one Wireshark interface
// per VM vmdump could try to capture from or that the user should at least
// see (a VM with a note), and after each running VM one interface per NIC of
// its cached inventory, e.g. "default: docker0 (bridge)". It reads local
// files only: Wireshark runs it at every start, with no timeout.
func interfaceList(env discover.Env, vms []vmctl.VM) []extcap.Interface {
	var out []extcap.Interface
	ids := map[string]bool{}
	for _, vm := range vms {
		if vm.Skip == "" {
			ids[vm.ID] = true
		}
	}
	for _, vm := range vms {
		if vm.Skip != "" {
			continue
		}
		out = append(out, extcap.Interface{Value: vm.ID, Display: displayName(vm)})
		if !vm.Capturable() || vm.State == vmctl.Stopped {
			continue // its NICs are of no use until it runs again
		}
		inv, ok := probe.LoadInventory(env, vm.ID)
		if !ok {
			continue
		}
		for _, e := range nicEntries(vm.ID, inv) {
			if ids[e.id] {
				continue // never shadow a VM's own interface
			}
			out = append(out, extcap.Interface{Value: e.id, Display: vm.Name + ": " + e.nic.Describe()})
		}
	}
	return out
}

// resolveInterface maps a Wireshark interface to its VM and, for a NIC's
// interface, the NIC's real name ("" for the VM's own interface). A NIC's
// interface is resolved through the cached inventory it was listed from.
func resolveInterface(env discover.Env, vms []vmctl.VM, id string) (vm vmctl.VM, nic string, ok bool) {
	if vm, ok := discover.Lookup(vms, id); ok {
		return vm, "", true
	}
	for _, vm := range vms {
		if !strings.HasPrefix(id, vm.ID+nicIDSep) {
			continue
		}
		inv, ok := probe.LoadInventory(env, vm.ID)
		if !ok {
			continue
		}
		for _, e := range nicEntries(vm.ID, inv) {
			if e.id == id {
				return vm, e.nic.Name, true
			}
		}
	}
	return vmctl.VM{}, "", false
}

// unknownInterfaceError is the capture's error for an id resolveInterface
// does not know.
func unknownInterfaceError(id string) error {
	if strings.Contains(id, nicIDSep) {
		return fmt.Errorf("interface %q is no longer in vmdump's list of the VM's interfaces: refresh Wireshark's interfaces (Capture > Refresh Interfaces) and pick it again", id)
	}
	return fmt.Errorf("no VM named %q: run `vmdump list` to see the VMs vmdump finds", id)
}

// interfaceValues are the inventory's NICs as dialog values.
func interfaceValues(inv probe.Inventory) []extcap.Value {
	vs := make([]extcap.Value, 0, len(inv.NICs))
	for _, n := range inv.NICs {
		vs = append(vs, extcap.Value{Value: n.Name, Display: n.Describe()})
	}
	return vs
}

// dialogDefaultsFor is dialogDefaults with the cached inventory's NICs
// and, for a NIC's interface, that NIC as the default.
func dialogDefaultsFor(env discover.Env, vm vmctl.VM, nic string) extcap.DialogDefaults {
	d := dialogDefaults(vm)
	if nic != "" {
		d.RemoteInterface = nic
	}
	if inv, ok := probe.LoadInventory(env, vm.ID); ok {
		d.RemoteInterfaces = interfaceValues(inv)
	}
	return d
}

// dialogArgsFor is the whole options dialog: DialogArgs plus, with an
// inventory, the "More interfaces" multicheck.
func dialogArgsFor(d extcap.DialogDefaults) []extcap.Arg {
	args := extcap.DialogArgs(d)
	if more, ok := extcap.MoreInterfacesArg(d); ok {
		args = append(args, more)
	}
	return args
}

// captureNICNames are the VM interfaces one capture takes: those named by
// the remote interface option (one name or a comma-separated list) and the
// "More interfaces" option, in that order; without the former, the NIC of
// a NIC's interface or else the VM's natural interface comes first.
// Wireshark leaves an option out when it equals the dialog's default,
// which is exactly that interface.
func captureNICNames(remote, more string, vm vmctl.VM, nic string) []string {
	first := remote
	if strings.TrimSpace(first) == "" {
		first = nic
		if first == "" {
			first = naturalInterface(vm)
		}
	}
	return extcap.InterfaceList(first, more)
}

// captureSpecs copies base once per interface.
func captureSpecs(base remotecap.CaptureSpec, names []string) []remotecap.CaptureSpec {
	specs := make([]remotecap.CaptureSpec, len(names))
	for i, n := range names {
		specs[i] = base
		specs[i].Interface = n
	}
	return specs
}

// pcapngNICs describe the captured interfaces: Wireshark shows Name as
// frame.interface_name ("default:docker0"), Description in the capture
// file's properties, with what the inventory knows of the NIC and note, if
// any (a reconnect after a gap).
func pcapngNICs(vm vmctl.VM, inv probe.Inventory, specs []remotecap.CaptureSpec, os, note string) []pcapng.NIC {
	nics := make([]pcapng.NIC, len(specs))
	for i, s := range specs {
		what := s.Interface
		if n, ok := inv.NIC(s.Interface); ok {
			what = n.Describe()
		}
		if note != "" {
			what += " (" + note + ")"
		}
		nics[i] = pcapng.NIC{
			Name:        vm.Name + ":" + s.Interface,
			Description: displayName(vm) + " " + what,
			Filter:      s.Filter,
			OS:          os,
		}
	}
	return nics
}

// rememberInventory saves a fresh inventory for Wireshark's next listing;
// a failure only costs the cache, so it is only logged.
func rememberInventory(env discover.Env, log *slog.Logger, vmID string, inv probe.Inventory) {
	if err := probe.SaveInventory(env, vmID, inv); err != nil {
		log.Warn("inventory not cached", "vm", vmID, "err", err)
		return
	}
	for _, n := range inv.Notes {
		log.Info("inventory note", "vm", vmID, "note", n)
	}
}

// refreshInventory connects to vm, takes its inventory in one round trip
// and caches it (the dialog's Reload; also for `vmdump list --check`).
func refreshInventory(ctx context.Context, vm vmctl.VM, opt sshconn.DialOptions, env discover.Env, log *slog.Logger) (probe.Inventory, error) {
	conn, err := sshconn.Dial(ctx, vm, opt)
	if err != nil {
		return probe.Inventory{}, err
	}
	defer conn.Close()
	_, inv, err := probe.RunInventory(ctx, conn)
	if err != nil {
		return probe.Inventory{}, err
	}
	rememberInventory(env, log, vm.ID, inv)
	return inv, nil
}

// reloadInterfaces answers the dialog's Reload button on the remote
// interface: the values of a fresh inventory, within reloadTimeout. When
// the VM cannot be reached in time the cached list comes back instead,
// its default entry saying so (an error would make Wireshark drop the
// answer and keep a list with no explanation).
func reloadInterfaces(o extcap.Options, env discover.Env, log *slog.Logger, vm vmctl.VM, nic string, stdout io.Writer) error {
	d := dialogDefaultsFor(env, vm, nic)
	var why string
	opt, err := dialOptions(o, env, log)
	if err == nil && !vm.Capturable() {
		err = fmt.Errorf("VM %s cannot be captured: %s", vm.Name, cmp.Or(vm.Skip, vm.Note, "it has no SSH endpoint"))
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
		defer cancel()
		if opt.Timeout == 0 || opt.Timeout > reloadTimeout {
			opt.Timeout = reloadTimeout
		}
		var inv probe.Inventory
		if inv, err = refreshInventory(ctx, vm, opt, env, log); err == nil {
			d.RemoteInterfaces = interfaceValues(inv)
		}
	}
	if err != nil {
		log.Warn("reload: inventory not refreshed", "vm", vm.ID, "err", err)
		why = "not reloaded: " + oneline.Clip(oneline.Err(err), 200)
	}
	values := extcap.RemoteInterfaceValues(d)
	if why != "" {
		for i := range values {
			if values[i].Default {
				values[i].Display = cmp.Or(values[i].Display, values[i].Value) + " (" + why + ")"
			}
		}
	}
	return extcap.WriteValues(stdout, extcap.ArgRemoteInterface, values)
}

// toolbarControls make Wireshark's GUI pass vmdump its toolbar pipes (it
// passes them only to an extcap that declares a control): a log button,
// where vmdump notes what it captures and how each interface ended.
func toolbarControls() []extcap.ToolbarControl {
	return []extcap.ToolbarControl{{Number: 0, Type: "button", Role: "logger", Display: "Log", Tooltip: "Show vmdump's log of this capture"}}
}

// openToolbar opens the toolbar pipes when Wireshark passed them; without
// them (tshark) or when they fail, messages go nowhere.
func openToolbar(a extcap.Args, log *slog.Logger) *extcap.Control {
	ctrl, err := extcap.OpenControl(a.ControlOut, a.ControlIn)
	if err != nil {
		log.Warn("toolbar pipes not opened", "err", err)
		ctrl, _ = extcap.OpenControl("", "")
	}
	return ctrl
}

// toolbarLog adds a line to the toolbar's log, and to vmdump's own log:
// Wireshark drops the toolbar's lines when it rebuilds the toolbar (a local
// interface came or went), and tshark has no toolbar at all.
func toolbarLog(ctrl *extcap.Control, log *slog.Logger, msg string) {
	log.Info("toolbar", "line", msg)
	_ = ctrl.Send(0, extcap.CtrlAdd, []byte(msg+"\n"))
}

// errorsToToolbar is stderr that also shows what is written to it (fail's
// one line) as an error message in Wireshark's GUI, which shows stderr
// only once vmdump has exited.
func errorsToToolbar(ctrl *extcap.Control, stderr io.Writer) io.Writer {
	return toolbarStderr{w: stderr, ctrl: ctrl}
}

type toolbarStderr struct {
	w    io.Writer
	ctrl *extcap.Control
}

func (t toolbarStderr) Write(p []byte) (int, error) {
	if msg := strings.TrimSpace(strings.TrimPrefix(string(p), "vmdump: ")); msg != "" {
		_ = t.ctrl.ErrorMessage(msg)
	}
	return t.w.Write(p)
}

// captureResult is how a multi-interface capture ended.
type captureResult struct {
	pumpErr   error // the pcap streams (or Wireshark's end of them)
	remoteErr error // the remote side: why a tcpdump ended by itself
}

// runCaptures runs one tcpdump per spec over conn and pumps them all into
// w, one interface block per spec, until ctx ends, the link dies or every
// stream ended. An interface whose capture ends by itself (its container
// stopped) is reported on the toolbar while the others go on; how the last
// one ended is the result, for the caller to report. At the end each
// interface gets one statistics block with tcpdump's received and
// kernel-dropped counts (Wireshark shows drops only for an interface with
// exactly one). Those reach the file when vmdump ends first (Wireshark's
// Stop button, or the VM ending the capture); tshark's own stop ends
// dumpcap before vmdump. describe gives the interface blocks once the
// captures have started, so that the caller can take the VM's inventory
// beside their start.
func runCaptures(ctx context.Context, conn *sshconn.Conn, probe probe.Probe, specs []remotecap.CaptureSpec, describe func() []pcapng.NIC,
	w *pcapng.Writer, ctrl *extcap.Control, vmName string, log *slog.Logger) (captureResult, error) {
	remotes, err := remotecap.StartAll(ctx, conn, specs, probe)
	if err != nil {
		return captureResult{}, err
	}
	start := time.Now()
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Interface
	}
	msg := fmt.Sprintf("capturing %s on %s", strings.Join(names, ", "), vmName)
	_ = ctrl.StatusBar(msg)
	toolbarLog(ctrl, log, msg)

	var stopOnce sync.Once
	var stopping atomic.Bool
	stopAll := func() {
		stopping.Store(true)
		stopOnce.Do(func() {
			var wg sync.WaitGroup
			for _, r := range remotes {
				wg.Add(1)
				go func(r *remotecap.RemoteCapture) { defer wg.Done(); r.Stop() }(r)
			}
			wg.Wait()
		})
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-conn.Dead():
		case <-done:
			return
		}
		stopAll()
	}()

	srcs := make([]io.Reader, len(remotes))
	for i, r := range remotes {
		srcs[i] = r.Stdout()
	}
	var errMu sync.Mutex
	remoteErrs := make([]error, len(remotes))
	var running atomic.Int32
	running.Store(int32(len(remotes)))
	results, pumpErr := pcapng.PumpAll(w, srcs, describe(), func(i int, r pcapng.NICResult) {
		last := running.Add(-1) == 0
		if extcap.IsReaderGone(r.Err) {
			go stopAll() // Wireshark stopped reading: everything ends
			return
		}
		if ctx.Err() != nil || stopping.Load() || last {
			return // the end of the whole capture: its caller reports
		}
		// One interface's stream ended while the others go on: its
		// tcpdump ended by itself (a container stopped), or its stream
		// broke, and then tcpdump may still run: Wait would wait for it.
		remotes[i].Stop()
		err := remotes[i].Wait()
		if err == nil {
			err = r.Err
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", specs[i].Interface, err)
			errMu.Lock()
			remoteErrs[i] = err
			errMu.Unlock()
			_ = ctrl.ErrorMessage(oneline.Clip(oneline.Err(err), 200))
			toolbarLog(ctrl, log, oneline.Clip(oneline.Err(err), 200))
		}
	})
	stopAll()
	end := time.Now()
	var res captureResult
	res.pumpErr = pumpErr
	for i, r := range remotes {
		err := r.Wait()
		errMu.Lock()
		if remoteErrs[i] != nil {
			err = remoteErrs[i]
		} else if err != nil && len(remotes) > 1 {
			err = fmt.Errorf("%s: %w", specs[i].Interface, err)
		}
		errMu.Unlock()
		if res.remoteErr == nil {
			res.remoteErr = err
		}
		st := r.Stats()
		if !st.Valid || results == nil || results[i].Interface < 0 {
			continue
		}
		if err := w.WriteStats(results[i].Interface, st.Received, st.Dropped, start, end); err != nil {
			log.Debug("statistics not written", "interface", specs[i].Interface, "err", err)
			continue
		}
		toolbarLog(ctrl, log, fmt.Sprintf("%s: %d packets received by tcpdump, %d dropped by the kernel", specs[i].Interface, st.Received, st.Dropped))
	}
	if ferr := w.Flush(); res.pumpErr == nil {
		res.pumpErr = ferr
	}
	return res, nil
}
