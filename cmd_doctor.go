package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/install"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// `vmdump doctor` answers the two questions behind "I don't see my VM in
// Wireshark": does each Wireshark on this machine load vmdump (the extcap
// folders moved between Wireshark versions, so an upgrade can lose it), and
// which VMs can vmdump capture from, and why not the others. It reads
// files, asks tshark, and connects to each running VM as `vmdump list
// --check` does (all at once, within doctorCheckTimeout): a VM is ready only
// when it was reached with the privilege and a capture program.

// doctorEnv is everything the doctor looks at; tests build fake ones.
type doctorEnv struct {
	install install.Env
	vms     hostenv.Env
	self    string // the running vmdump, to compare installed copies with
	probe   probeVM
}

// doctorTimeout bounds the whole check: every tshark is asked three
// questions, each bounded by the install package.
const doctorTimeout = 2 * time.Minute

// doctorCheckTimeout bounds the check of the VMs, which connects to all of
// them at once; doctorDialTimeout, less, bounds each connection, so that a
// VM that does not answer is reported as such rather than as a timeout of
// the whole check.
const (
	doctorCheckTimeout = 10 * time.Second
	doctorDialTimeout  = 6 * time.Second
)

func cmdDoctor(stdout io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), doctorTimeout)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	vms := hostenv.HostEnv(log)
	d := doctorEnv{
		install: install.HostEnv(),
		vms:     vms,
		self:    install.SelfPath(),
		probe:   sshProbe(vms, log, doctorDialTimeout),
	}
	return runDoctor(ctx, d, stdout)
}

// doctorReport collects the lines of the report and what went wrong.
type doctorReport struct {
	w        io.Writer
	problems []string // things that stop a capture, each with its fix
	warnings int
}

func (r *doctorReport) section(title string) { fmt.Fprintf(r.w, "\n%s\n", title) }

// line prints one finding: "ok", "warn" (works, but worth fixing) or
// "FAIL" (stops captures).
func (r *doctorReport) line(mark, format string, args ...any) {
	fmt.Fprintf(r.w, "  %-4s  %s\n", mark, fmt.Sprintf(format, args...))
}

func (r *doctorReport) ok(format string, args ...any) { r.line("ok", format, args...) }

func (r *doctorReport) warn(format string, args ...any) {
	r.warnings++
	r.line("warn", format, args...)
}

func (r *doctorReport) fail(fix, format string, args ...any) {
	r.problems = append(r.problems, fix)
	r.line("FAIL", format, args...)
}

// runDoctor writes the report and returns 0 when a capture can work (no
// Wireshark fails to load vmdump, and some VM was reached with working
// capture), else 1.
func runDoctor(ctx context.Context, d doctorEnv, w io.Writer) int {
	r := &doctorReport{w: w}
	fmt.Fprintf(w, "vmdump %s at %s\n", version(), d.self)
	seen := doctorWireshark(ctx, d, r)
	doctorFolders(ctx, d, seen, r)
	doctorVMs(ctx, d, seen, r)

	fmt.Fprintln(w)
	switch {
	case len(r.problems) > 0:
		fmt.Fprintf(w, "Not ready: %s\n", r.problems[0])
		return 1
	case r.warnings > 0:
		fmt.Fprintln(w, "Ready, with warnings above: open Wireshark and double-click a \"Docker VM\" interface.")
	default:
		fmt.Fprintln(w, "Ready: open Wireshark and double-click a \"Docker VM\" interface.")
	}
	return 0
}

// doctorWireshark asks every tshark whether it loads vmdump.
func doctorWireshark(ctx context.Context, d doctorEnv, r *doctorReport) []install.Seen {
	r.section("Wireshark (each tshark found is asked)")
	seen := install.Check(ctx, d.install)
	if len(seen) == 0 {
		r.warn("tshark not found: cannot ask Wireshark which extcap folder it reads; vmdump goes into the folders of both Wireshark 4.0 and 4.2+")
		return nil
	}
	for _, s := range seen {
		name := "Wireshark " + s.Version
		if s.Version == "" {
			name = "Wireshark (version unknown)"
		}
		if s.Err != nil {
			r.fail(name+" ("+s.Tshark+") does not load vmdump: run `vmdump install` as the user who runs Wireshark",
				"%s (%s): %v", name, s.Tshark, s.Err)
			continue
		}
		r.ok("%s (%s) loads %s and lists %d VM interface(s)", name, s.Tshark, strings.Join(s.Loaded, ", "), len(s.Listed))
		if len(s.Loaded) > 1 {
			r.warn("%s loads %d copies of vmdump: run `vmdump install` to keep one", name, len(s.Loaded))
		}
	}
	return seen
}

// doctorFolders shows the copies of vmdump in every folder a Wireshark
// reads: the personal folders vmdump installs into, and the global ones a
// user may have copied it into by hand.
func doctorFolders(ctx context.Context, d doctorEnv, seen []install.Seen, r *doctorReport) {
	r.section("Extcap folders")
	goos := d.install.GOOS
	targets, err := install.Targets(d.install)
	if err != nil {
		r.fail("set HOME and run `vmdump install`", "%v", err)
		return
	}
	installed := false
	for _, t := range targets {
		copies := install.CopiesIn(goos, []install.Target{t}, d.self)
		switch {
		case len(copies) == 0:
			r.line("--", "%s: no vmdump (%s)", t.Dir, t.Why)
			continue
		case len(copies) > 1:
			r.warn("%s: %d copies of vmdump, Wireshark would list every VM twice: run `vmdump install` to keep one", t.Dir, len(copies))
		}
		installed = true
		for _, c := range copies {
			if c.Same {
				r.ok("%s is this vmdump (%s)", c.Path, t.Why)
			} else {
				r.warn("%s is another vmdump build: run `vmdump install` to update it", c.Path)
			}
		}
	}
	if !installed && len(seen) == 0 {
		r.problems = append(r.problems, "vmdump is not installed: run `vmdump install`")
	}
	for _, c := range install.CopiesIn(goos, install.GlobalFolders(ctx, d.install), d.self) {
		r.warn("%s: a copy in a global folder (%s); keep vmdump in the personal folder (`vmdump install`) and delete this one", c.Path, c.Folder.Why)
	}
}

// doctorVMs lists the VMs vmdump found, checks each running one as `vmdump
// list --check` does, and says whether tshark lists each.
func doctorVMs(ctx context.Context, d doctorEnv, seen []install.Seen, r *doctorReport) {
	r.section("VMs (see `vmdump list` for endpoints and files)")
	all := discover.Discover(d.vms)
	var vms []vmctl.VM
	for _, vm := range all {
		if vm.Skip == "" {
			vms = append(vms, vm)
		}
	}
	checks := runChecks(ctx, vms, doctorCheckTimeout, d.probe)
	loaded := false
	for _, s := range seen {
		loaded = loaded || s.Err == nil
	}
	usable := 0
	var failed *vmCheck // the first VM checked that cannot capture
	for i, c := range checks {
		vm := c.vm
		where := listedBy(vm.ID, seen)
		switch {
		case !vm.Capturable():
			r.warn("%s  %s: listed, but no SSH endpoint to capture from", vm.ID, capture.DisplayName(vm))
		case vm.State == vmctl.Stopped:
			r.warn("%s  %s: not running: start it to capture from it", vm.ID, capture.DisplayName(vm))
		case !c.canCapture():
			if failed == nil {
				failed = &checks[i]
			}
			r.warn("%s  %s: cannot capture: %s", vm.ID, capture.DisplayName(vm), c.reason())
		case loaded && where == "":
			usable++
			r.warn("%s  %s: capture works (%s, %s), but tshark does not list it: is tshark run by another user than vmdump?", vm.ID, capture.DisplayName(vm), c.priv, c.tool)
		default:
			usable++
			r.ok("%s  %s%s: capture works (%s, %s)", vm.ID, capture.DisplayName(vm), where, c.priv, c.tool)
		}
	}
	for _, vm := range all {
		if vm.Skip != "" {
			r.line("skip", "%s/%s: %s", vm.Manager, vm.Name, vm.Skip)
		}
	}
	for _, w := range discover.ConfigWarnings(d.vms) {
		r.warn("%s", w)
	}
	switch {
	case usable > 0:
	case failed != nil:
		r.fail("no VM can capture: "+failed.vm.ID+": "+failed.reason(), "no VM can capture (see above)")
	default:
		r.fail("no usable VM: start your Docker VM, add one to the config file (see README), or try `sudo vmdump demo`",
			"no VM to capture from")
	}
}

// listedBy says which Wireshark versions list the interface id, e.g.
// " (in Wireshark 4.0.17)"; "" when none does.
func listedBy(id string, seen []install.Seen) string {
	var vers []string
	for _, s := range seen {
		for _, l := range s.Listed {
			if strings.Contains(l, " "+id+" ") || strings.HasSuffix(l, " "+id) {
				v := s.Version
				if v == "" {
					v = s.Tshark
				}
				vers = append(vers, v)
				break
			}
		}
	}
	if len(vers) == 0 {
		return ""
	}
	return " (in Wireshark " + strings.Join(vers, ", ") + ")"
}
