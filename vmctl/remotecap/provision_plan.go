package remotecap

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/vmdump/vmdump/internal/shquote"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// pkgInstaller is how one package manager installs tcpdump without asking
// anything: every flag that would otherwise prompt is set, and the command
// runs with stdin closed.
type pkgInstaller struct {
	pm   string   // the program, as the probe's pm= line names it
	args []string // its arguments
	env  []string // VAR=value the command needs (apt's frontend)
	// asUser: run as the login user, never through sudo (tce-load refuses
	// root and installs into the user's tce directory).
	asUser bool
	// refresh is run once, followed by the install again, when the install
	// failed with output holding one of noIndex (lower case): the package
	// lists were never fetched, as on a fresh minimal image.
	refresh []string
	noIndex []string
	note    string // said after the command in the hint
}

// installers is the one table of install commands; the hint in error
// messages and `vmdump provision` both read it.
var installers = map[string]pkgInstaller{
	"tce-load": {pm: "tce-load", args: []string{"-wi", "tcpdump.tcz"}, asUser: true,
		note: "as the login user (docker), not via sudo; lost at reboot"},
	"apk": {pm: "apk", args: []string{"add", "tcpdump"},
		refresh: []string{"update"}, noIndex: []string{"no such package", "unable to select packages"}},
	"apt-get": {pm: "apt-get", args: []string{"install", "-y", "tcpdump"}, env: []string{"DEBIAN_FRONTEND=noninteractive"},
		refresh: []string{"update"}, noIndex: []string{"unable to locate package", "has no installation candidate"}},
	"rpm-ostree": {pm: "rpm-ostree", args: []string{"install", "-A", "tcpdump"}},
	"dnf":        {pm: "dnf", args: []string{"install", "-y", "tcpdump"}},
	"yum":        {pm: "yum", args: []string{"install", "-y", "tcpdump"}},
	"microdnf":   {pm: "microdnf", args: []string{"install", "-y", "tcpdump"}},
	"zypper":     {pm: "zypper", args: []string{"--non-interactive", "install", "tcpdump"}},
	"pacman":     {pm: "pacman", args: []string{"-S", "--noconfirm", "tcpdump"}},
	"opkg":       {pm: "opkg", args: []string{"install", "tcpdump"}},
}

// osInstallers maps os-release IDs (ID, then each ID_LIKE word) to the
// package managers that install there, preferred first.
var osInstallers = map[string][]string{}

func init() {
	for pms, ids := range map[string][]string{
		"tce-load":         {"tinycore", "boot2docker"},
		"apk":              {"alpine", "postmarketos"},
		"apt-get":          {"debian", "ubuntu", "raspbian", "linuxmint", "pop", "kali", "devuan"},
		"rpm-ostree":       {"fedora-coreos", "rhcos"},
		"dnf yum microdnf": {"fedora", "centos", "rhel", "rocky", "almalinux", "ol", "amzn"},
		"zypper":           {"opensuse", "opensuse-leap", "opensuse-tumbleweed", "sles", "suse"},
		"pacman":           {"arch", "archarm", "manjaro", "endeavouros"},
		"opkg":             {"openwrt"},
	} {
		for _, id := range ids {
			osInstallers[id] = strings.Fields(pms)
		}
	}
}

// pmFallbackOrder picks among the package managers present when the OS is
// not one vmdump knows. rpm-ostree comes before dnf: where both exist the
// system is image-based and dnf cannot change it.
var PmFallbackOrder = []string{"tce-load", "apk", "apt-get", "rpm-ostree", "dnf", "yum", "microdnf", "zypper", "pacman", "opkg"}

// chooseInstaller picks the package manager for the VM the probe
// describes: rpm-ostree on an ostree-booted system; else the first one its
// OS id (then ID_LIKE) calls for that is present; else, when the probe
// listed the package managers present, the first of those. Without a list
// (an older probe's output) the OS id alone decides.
func chooseInstaller(p probe.Probe) (pkgInstaller, bool) {
	has := func(pm string) bool { return !p.PmKnown || slices.Contains(p.PackageManagers, pm) }
	if p.OSTree && p.PmKnown && has("rpm-ostree") {
		return installers["rpm-ostree"], true
	}
	for _, id := range append([]string{p.OSID}, strings.Fields(p.OSLike)...) {
		for _, pm := range osInstallers[id] {
			if has(pm) {
				return installers[pm], true
			}
		}
	}
	if p.PmKnown {
		for _, pm := range PmFallbackOrder {
			if has(pm) {
				return installers[pm], true
			}
		}
	}
	return pkgInstaller{}, false
}

// installStep is one command of an install, run on the VM.
type installStep struct {
	sudo bool
	env  []string
	argv []string
}

// display is the step as a person would type it: "sudo apt-get install -y
// tcpdump" (the environment, set only to keep it from asking, is left out).
func (s installStep) display() string {
	words := make([]string, 0, len(s.argv)+1)
	if s.sudo {
		words = append(words, "sudo")
	}
	for _, a := range s.argv {
		words = append(words, shquote.Quote(a))
	}
	return strings.Join(words, " ")
}

// command is the exec string for the step: POSIX sh whatever the login
// shell, the sbin directories on PATH (apk is /sbin/apk; a non-root
// user's PATH often lacks them), `sudo -n` so sudo never prompts, and
// stdin from /dev/null so neither does the package manager.
func (s installStep) command() string {
	var b strings.Builder
	b.WriteString(`PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin:/usr/bin:/bin"; export PATH; exec `)
	if s.sudo {
		b.WriteString("sudo -n ")
	}
	if len(s.env) > 0 {
		b.WriteString("env ")
		for _, e := range s.env {
			b.WriteString(shquote.Quote(e) + " ")
		}
	}
	for _, a := range s.argv {
		b.WriteString(shquote.Quote(a) + " ")
	}
	b.WriteString("</dev/null")
	return "exec sh -c " + shquote.Quote(b.String())
}

// installPlan is what `vmdump provision` runs on one VM.
type installPlan struct {
	vm      string
	pm      string
	install installStep
	refresh *installStep // nil when the package manager has no index to fetch
	noIndex []string
}

// planInstall chooses the installer and whether it runs under sudo. It
// fails, naming what to do, when nothing fits or sudo would ask for a
// password.
func planInstall(p probe.Probe, priv Priv) (installPlan, error) {
	vm := p.VMLabel()
	in, ok := chooseInstaller(p)
	if !ok {
		what := "no package manager vmdump knows"
		if os := cmp.Or(p.OSPretty, p.OSID); os != "" {
			what = os + ", " + what
		}
		return installPlan{}, fmt.Errorf("vmdump does not know how to install tcpdump on %s (%s): install it there by hand, or use vmdump's capture agent (Capture program: agent)", vm, what)
	}
	sudo := false
	if !in.asUser {
		switch priv {
		case PrivNone:
		case PrivSudo:
			sudo = true
		case PrivAuto, "":
			sudo = p.UID != 0
		default:
			return installPlan{}, fmt.Errorf("unknown privilege mode %q (use auto, none or sudo)", priv)
		}
	}
	plan := installPlan{vm: vm, pm: in.pm, noIndex: in.noIndex,
		install: installStep{sudo: sudo, env: in.env, argv: append([]string{in.pm}, in.args...)}}
	if in.refresh != nil {
		plan.refresh = &installStep{sudo: sudo, env: in.env, argv: append([]string{in.pm}, in.refresh...)}
	}
	if sudo && p.UID >= 0 && !p.SudoNoPassword {
		return plan, fmt.Errorf("cannot install tcpdump on %s: sudo there needs a password (or is missing) and vmdump never types one; run `%s` on the VM yourself, or allow passwordless sudo, or log in as root", vm, plan.install.display())
	}
	return plan, nil
}

// InstallHint is the command that installs tcpdump on the VM the probe
// describes ("sudo apk add tcpdump"), for a person to type there, for
// messages and `vmdump list --check`.
func InstallHint(p probe.Probe) string {
	in, ok := chooseInstaller(p)
	if !ok {
		return "the package manager (package tcpdump)"
	}
	s := installStep{sudo: p.UID != 0 && !in.asUser, argv: append([]string{in.pm}, in.args...)}
	if in.note != "" {
		return s.display() + " (" + in.note + ")"
	}
	return s.display()
}

// provisionTarget is how `vmdump provision` names this VM: its id when the
// probe knows it, else its name.
func provisionTarget(p probe.Probe) string {
	if p.VMID != "" {
		return shquote.Quote(p.VMID)
	}
	if name, ok := strings.CutPrefix(p.Label, "VM "); ok && name != "" {
		return shquote.Quote(name)
	}
	return "<vm>"
}

// MissingTcpdumpError is the one line for a VM without tcpdump: the
// command for its OS, and the two ways vmdump can run it.
func MissingTcpdumpError(p probe.Probe) error {
	return fmt.Errorf("tcpdump is not installed on %s: install it there with: %s (or run: vmdump provision %s; or set Missing tcpdump to install it in the capture options)",
		p.VMLabel(), InstallHint(p), provisionTarget(p))
}
