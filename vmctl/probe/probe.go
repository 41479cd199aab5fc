package probe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/internal/shquote"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// Probe is what one round trip learns about the VM before capturing.
type Probe struct {
	// vmdump's own SSH connection as the VM sees it ($SSH_CONNECTION);
	// empty when sshd did not set it.
	ClientAddr, ClientPort, ServerAddr, ServerPort string
	UID                                            int    // the login user's uid; -1 when unknown
	Tcpdump                                        string // absolute path of tcpdump, "" when not installed
	ImmediateMode                                  bool   // tcpdump knows --immediate-mode
	// Nsenter: the VM has nsenter (util-linux or busybox), which a
	// container's capture needs to run tcpdump inside its namespace;
	// NsenterKnown: the probe said so either way (older probes did not).
	Nsenter, NsenterKnown bool
	// SudoNoPassword: `sudo -n true` succeeded.
	SudoNoPassword bool
	// From /etc/os-release: ID (e.g. "alpine"; "fedora-coreos" for Fedora
	// with VARIANT_ID=coreos; "tinycore" for boot2docker without
	// os-release), ID_LIKE and PRETTY_NAME.
	OSID, OSLike, OSPretty string
	Kernel                 string   // uname -sr
	Arch                   string   // uname -m (x86_64, aarch64): which capture agent runs there
	Hostname               string   // uname -n
	Interfaces             []string // names under /sys/class/net
	// PackageManagers present on PATH (apk, apt-get, dnf, ..., tce-load),
	// for `vmdump provision`; OSTree: /run/ostree-booted exists (Fedora
	// CoreOS, Silverblue), where only rpm-ostree can install.
	PackageManagers []string
	OSTree          bool

	// pmKnown: the output had the pm= line (an older probe's did not), so
	// a package manager missing from PackageManagers is really missing.
	PmKnown bool
	// label is vmdump's name for the VM ("VM default"), set by Conn.Probe;
	// used in messages. vmID is the VM's id (vmdump list), which messages
	// give to `vmdump provision`.
	Label, VMID string
}

// vmLabel names the VM in a message: vmdump's name, else its host name.
func (p Probe) VMLabel() string {
	switch {
	case p.Label != "":
		return p.Label
	case p.Hostname != "":
		return "VM " + p.Hostname
	}
	return "the VM"
}

// probeScript is POSIX sh (busybox ash, dash, bash). It contains no single
// quote, so it travels as one single-quoted word through any login shell.
// Non-root users often lack the sbin directories in PATH, where tcpdump
// lives; they are added. sudo -n never prompts.
const ProbeScript = `
PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin:/usr/bin:/bin"
export PATH
echo vmdump-probe=1
echo "ssh_connection=$SSH_CONNECTION"
echo "uid=$(id -u)"
echo "hostname=$(uname -n)"
echo "kernel=$(uname -sr)"
echo "arch=$(uname -m)"
t=$(command -v tcpdump 2>/dev/null)
case "$t" in /*) ;; *) t= ;; esac
echo "tcpdump=$t"
if [ -n "$t" ] && "$t" --help </dev/null 2>&1 | grep -q immediate-mode; then echo immediate=1; else echo immediate=0; fi
if command -v nsenter >/dev/null 2>&1; then echo nsenter=1; else echo nsenter=0; fi
if command -v sudo >/dev/null 2>&1 && sudo -n true </dev/null >/dev/null 2>&1; then echo sudo=1; else echo sudo=0; fi
if command -v tce-load >/dev/null 2>&1; then echo tce=1; fi
m=
for x in tce-load apk apt-get rpm-ostree dnf yum microdnf zypper pacman opkg; do if command -v $x >/dev/null 2>&1; then m="$m$x,"; fi; done
echo "pm=$m"
if [ -e /run/ostree-booted ]; then echo ostree=1; fi
for f in /etc/os-release /usr/lib/os-release; do if [ -r "$f" ]; then while IFS= read -r l || [ -n "$l" ]; do case "$l" in ID=*|ID_LIKE=*|VARIANT_ID=*|PRETTY_NAME=*) echo "os.$l" ;; esac; done <"$f"; break; fi; done
for i in /sys/class/net/*; do if [ -e "$i" ]; then echo "iface=${i##*/}"; fi; done
echo end=1
`

// probeCommand is the exec string for the probe.
func probeCommand() string {
	return "exec sh -c " + shquote.Quote(shquote.OneLine(ProbeScript))
}

// Probe runs the probe script in one SSH session.
func Run(ctx context.Context, c *sshconn.Conn) (Probe, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	run, err := c.RunCommand(ctx, probeCommand(), 64<<10)
	if err != nil {
		return Probe{}, err
	}
	p, perr := ParseProbe(run.Stdout)
	if perr != nil {
		return Probe{}, probeFailed(c, perr, run)
	}
	p.Label, p.VMID = c.Label(), c.VM().ID
	c.Log().Debug("probe", "vm", c.VM().ID, "uid", p.UID, "tcpdump", p.Tcpdump, "immediate", p.ImmediateMode,
		"sudo", p.SudoNoPassword, "os", p.OSID, "pm", p.PackageManagers, "kernel", p.Kernel, "interfaces", p.Interfaces)
	return p, nil
}

// probeFailed explains output the parser refused: the shell's last error
// line if there is one, else the session's error, else the parser's.
func probeFailed(c *sshconn.Conn, perr error, run sshconn.CommandRun) error {
	why := oneline.LastLines(string(run.Stderr), 1)
	if why == "" && run.Err != nil {
		why = oneline.Err(run.Err)
	}
	if why == "" {
		why = perr.Error()
	}
	return fmt.Errorf("probing %s failed: %s", c.Label(), why)
}

// ParseProbe reads the probe script's key=value output. Lines it does not
// know (a login banner, a .profile that prints) are ignored; the output
// must hold the probe's first and last line, else it was not the probe
// that ran or it was cut short.
func ParseProbe(out []byte) (Probe, error) {
	p := Probe{UID: -1}
	var started, ended, tce bool
	var variant string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if line == "vmdump-probe=1" {
			started = true
			p = Probe{UID: -1}
			ended, tce, variant = false, false, ""
			continue
		}
		if !started {
			continue
		}
		switch key {
		case "ssh_connection":
			f := strings.Fields(val)
			if len(f) == 4 {
				p.ClientAddr, p.ClientPort, p.ServerAddr, p.ServerPort = f[0], f[1], f[2], f[3]
			}
		case "uid":
			if n, err := strconv.Atoi(strings.TrimSpace(val)); err == nil && n >= 0 {
				p.UID = n
			}
		case "hostname":
			p.Hostname = strings.TrimSpace(val)
		case "kernel":
			p.Kernel = strings.TrimSpace(val)
		case "arch":
			p.Arch = strings.TrimSpace(val)
		case "tcpdump":
			if strings.HasPrefix(val, "/") {
				p.Tcpdump = val
			}
		case "immediate":
			p.ImmediateMode = val == "1"
		case "nsenter":
			p.Nsenter, p.NsenterKnown = val == "1", true
		case "sudo":
			p.SudoNoPassword = val == "1"
		case "tce":
			tce = val == "1"
		case "pm":
			p.PmKnown = true
			p.PackageManagers = nil
			for _, m := range strings.Split(val, ",") {
				if m = strings.TrimSpace(m); m != "" && !slices.Contains(p.PackageManagers, m) {
					p.PackageManagers = append(p.PackageManagers, m)
				}
			}
		case "ostree":
			p.OSTree = val == "1"
		case "os.ID":
			p.OSID = strings.ToLower(osReleaseValue(val))
		case "os.ID_LIKE":
			p.OSLike = strings.ToLower(osReleaseValue(val))
		case "os.VARIANT_ID":
			variant = strings.ToLower(osReleaseValue(val))
		case "os.PRETTY_NAME":
			p.OSPretty = osReleaseValue(val)
		case "iface":
			if val != "" && !slices.Contains(p.Interfaces, val) {
				p.Interfaces = append(p.Interfaces, val)
			}
		case "end":
			ended = val == "1"
		}
	}
	if !started {
		return Probe{}, errors.New("the VM's shell did not run vmdump's probe")
	}
	if !ended {
		return Probe{}, errors.New("the probe's output was cut short")
	}
	if p.OSID == "fedora" && variant == "coreos" {
		p.OSID = "fedora-coreos"
	}
	if p.OSID == "" && tce {
		p.OSID = "tinycore"
	}
	return p, nil
}

// osReleaseValue undoes os-release's shell-style quoting.
func osReleaseValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}
