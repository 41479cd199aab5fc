package remotecap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/vmctl/probe"
)

// pms is a probe's pm= list: the package managers present.
func pms(list ...string) probe.Probe {
	return probe.Probe{UID: 1000, SudoNoPassword: true, PackageManagers: list, PmKnown: true}
}

func TestChooseInstaller(t *testing.T) {
	with := func(p probe.Probe, id, like string) probe.Probe { p.OSID, p.OSLike = id, like; return p }
	unknown := probe.Probe{UID: 1000}
	for _, tc := range []struct {
		name string
		p    probe.Probe
		want string // the package manager; "" for none
	}{
		{"alpine by id, no pm list", with(unknown, "alpine", ""), "apk"},
		{"debian by id", with(pms("apt-get"), "debian", ""), "apt-get"},
		{"ubuntu by id", with(pms("apt-get"), "ubuntu", "debian"), "apt-get"},
		{"unknown id, debian-like", with(pms("apt-get"), "neon", "ubuntu debian"), "apt-get"},
		{"fedora", with(pms("dnf"), "fedora", ""), "dnf"},
		{"amazon linux 2 has only yum", with(pms("yum"), "amzn", "centos rhel fedora"), "yum"},
		{"rhel-like, ubi micro: microdnf", with(pms("microdnf"), "rhel", "fedora"), "microdnf"},
		{"fedora coreos by variant", with(pms("rpm-ostree"), "fedora-coreos", ""), "rpm-ostree"},
		{"ostree-booted fedora (silverblue) with dnf too", func() probe.Probe {
			p := with(pms("rpm-ostree", "dnf"), "fedora", "")
			p.OSTree = true
			return p
		}(), "rpm-ostree"},
		{"opensuse leap", with(pms("zypper"), "opensuse-leap", "suse opensuse"), "zypper"},
		{"arch", with(pms("pacman"), "arch", ""), "pacman"},
		{"manjaro via like", with(pms("pacman"), "manjaro-arm", "manjaro arch"), "pacman"},
		{"tinycore (boot2docker without os-release)", with(pms("tce-load"), "tinycore", ""), "tce-load"},
		{"boot2docker os-release id, no pm list", with(unknown, "boot2docker", ""), "tce-load"},
		{"unknown os, pm present", with(pms("apk"), "", ""), "apk"},
		{"unknown os, rpm-ostree before dnf", with(pms("dnf", "rpm-ostree"), "mystery", ""), "rpm-ostree"},
		{"debian id but its apt-get is gone, apk there", with(pms("apk"), "debian", ""), "apk"},
		{"unknown os, nothing present", with(pms(), "mystery", ""), ""},
		{"unknown os, no pm list", with(unknown, "flatcar", ""), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, ok := chooseInstaller(tc.p)
			if got := map[bool]string{true: in.pm}[ok]; got != tc.want {
				t.Fatalf("chose %q (ok %v), want %q", got, ok, tc.want)
			}
		})
	}
}

func TestPlanInstall(t *testing.T) {
	debian := pms("apt-get")
	debian.OSID = "debian"
	root := debian
	root.UID, root.SudoNoPassword = 0, false
	tiny := pms("tce-load")
	tiny.OSID = "tinycore"
	tinyRoot := tiny
	tinyRoot.UID = 0
	noSudo := debian
	noSudo.SudoNoPassword = false
	unknownUID := debian
	unknownUID.UID, unknownUID.SudoNoPassword = -1, false
	alpine := pms("apk")
	alpine.OSID = "alpine"
	for _, tc := range []struct {
		name        string
		p           probe.Probe
		priv        Priv
		want        string // display of the install step
		wantRefresh string
		wantErr     string
	}{
		{"debian user, passwordless sudo", debian, PrivAuto, "sudo apt-get install -y tcpdump", "sudo apt-get update", ""},
		{"debian root", root, PrivAuto, "apt-get install -y tcpdump", "apt-get update", ""},
		{"root but priv sudo", root, PrivSudo, "", "", "sudo there needs a password"},
		{"user, priv none", noSudo, PrivNone, "apt-get install -y tcpdump", "apt-get update", ""},
		{"sudo wants a password", noSudo, PrivAuto, "", "", "run `sudo apt-get install -y tcpdump` on the VM yourself"},
		{"uid unknown: sudo -n is tried", unknownUID, PrivAuto, "sudo apt-get install -y tcpdump", "sudo apt-get update", ""},
		{"tinycore as the login user, never sudo", tiny, PrivSudo, "tce-load -wi tcpdump.tcz", "", ""},
		{"tinycore root: still no sudo", tinyRoot, PrivAuto, "tce-load -wi tcpdump.tcz", "", ""},
		{"alpine", alpine, PrivAuto, "sudo apk add tcpdump", "sudo apk update", ""},
		{"bad priv", debian, Priv("doas"), "", "", "unknown privilege mode"},
		{"no package manager", pms(), PrivAuto, "", "", "does not know how to install tcpdump on the VM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := planInstall(tc.p, tc.priv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error has more than one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.install.display(); got != tc.want {
				t.Errorf("install %q, want %q", got, tc.want)
			}
			got := ""
			if plan.refresh != nil {
				got = plan.refresh.display()
			}
			if got != tc.wantRefresh {
				t.Errorf("refresh %q, want %q", got, tc.wantRefresh)
			}
		})
	}
}

// TestInstallStepCommand runs the exec string of an install step through
// the real sh, with a recording `sudo` first on PATH: the package manager
// gets exactly its argv (nothing split or expanded), through `sudo -n` and
// env, with stdin at EOF even when the session's stdin has data.
func TestInstallStepCommand(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs a POSIX sh")
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >" + record + "\necho stdin=$(cat | wc -c) >>" + record + "\n"
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	step := installStep{sudo: true, env: []string{"DEBIAN_FRONTEND=noninteractive"},
		argv: []string{"apt-get", "install", "-y", "tcp dump'; touch " + filepath.Join(dir, "pwned") + "; '$(id)"}}
	cmd := exec.Command("sh", "-c", step.command())
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	cmd.Stdin = strings.NewReader("y\ny\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{"-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", step.argv[3], "stdin=0"}, "\n") + "\n"
	if string(got) != want {
		t.Errorf("sudo got\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("a quote in an argument ran a command")
	}
	if strings.Contains(step.command()[len("exec sh -c "):], "\n") {
		t.Error("the command is not one line")
	}
}

func TestPlanRunRefreshesOnce(t *testing.T) {
	debian := pms("apt-get")
	debian.OSID = "debian"
	plan, err := planInstall(debian, PrivAuto)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		results []installRun // what each step in turn returns
		wantRan []string
		exit    int
	}{
		{"installs at once", []installRun{{exit: 0}}, []string{"install"}, 0},
		{"no lists: update, install", []installRun{{exit: 100, stderr: "E: Unable to locate package tcpdump"}, {exit: 0}, {exit: 0}}, []string{"install", "update", "install"}, 0},
		{"no lists, update fails: stop", []installRun{{exit: 100, stderr: "E: Unable to locate package tcpdump"}, {exit: 100, stderr: "E: Could not resolve deb.debian.org"}}, []string{"install", "update"}, 100},
		{"other failure: no update", []installRun{{exit: 100, stderr: "E: Could not get lock /var/lib/dpkg/lock-frontend"}}, []string{"install"}, 100},
		{"still missing after update: no loop", []installRun{{exit: 100, stderr: "E: Unable to locate package tcpdump"}, {exit: 0}, {exit: 100, stderr: "E: Unable to locate package tcpdump"}}, []string{"install", "update", "install"}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			run, err := plan.run(func(s installStep) (installRun, error) {
				ran = append(ran, s.argv[1])
				if len(ran) > len(tc.results) {
					t.Fatalf("step %d (%s) was not expected", len(ran), s.display())
				}
				return tc.results[len(ran)-1], nil
			})
			if err != nil || run.exit != tc.exit || !reflect.DeepEqual(ran, tc.wantRan) {
				t.Errorf("ran %v, exit %d, err %v; want %v, exit %d", ran, run.exit, err, tc.wantRan, tc.exit)
			}
		})
	}
}

func TestProvisionMessages(t *testing.T) {
	p := pms("apt-get")
	p.OSID, p.Label, p.VMID = "debian", "VM lab", "vmdump_cfg_lab"
	err := MissingTcpdumpError(p)
	for _, w := range []string{"tcpdump is not installed on VM lab", "sudo apt-get install -y tcpdump", "vmdump provision vmdump_cfg_lab", "Missing tcpdump"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	// Without the id (a probe from elsewhere), the name, quoted for the shell.
	p.VMID, p.Label = "", "VM my vm"
	if err := MissingTcpdumpError(p); !strings.Contains(err.Error(), "vmdump provision 'my vm';") {
		t.Errorf("%q does not name the VM for vmdump provision", err)
	}

	plan, _ := planInstall(probe.Probe{UID: 1000, SudoNoPassword: true, OSID: "alpine", Label: "VM rd"}, PrivAuto)
	res := ProvisionResult{VM: "VM rd", Ran: []string{"sudo apk add tcpdump"}, Exit: 1,
		Output: "fetch https://dl-cdn.alpinelinux.org/...\nERROR: unable to select packages:\n  tcpdump (no such package):"}
	for _, tc := range []struct {
		name   string
		res    ProvisionResult
		runErr error
		want   string
	}{
		{"exit status and last line", res, nil, "installing tcpdump on VM rd with `sudo apk add tcpdump` failed (exit 1): tcpdump (no such package):; run it on the VM yourself to see why"},
		{"sudo password", ProvisionResult{Ran: res.Ran, Exit: 1, Output: "sudo: a password is required"}, nil, "failed (exit 1): sudo: a password is required; allow passwordless sudo there, or log in as root"},
		{"no package manager on PATH", ProvisionResult{Ran: res.Ran, Exit: 127, Output: "sudo: apk: command not found"}, nil, "(exit 127): sudo: apk: command not found; the package manager is not on PATH there"},
		{"timeout", res, fmt.Errorf("waiting: %w", context.DeadlineExceeded), "did not finish in time; vmdump stopped waiting (it may still run there)"},
		{"session broke", res, errors.New("ssh: session\nclosed"), "with `sudo apk add tcpdump` failed: ssh: session closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := provisionFailed(plan, tc.res, tc.runErr)
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got  %q\nwant one line holding %q", err, tc.want)
			}
		})
	}

	ok := ProvisionResult{VM: "VM rd", Ran: []string{"sudo apk add tcpdump"}, Duration: 12340 * time.Millisecond, Probe: probe.Probe{Tcpdump: "/usr/bin/tcpdump"}}
	if got, want := ok.String(), "installed tcpdump on VM rd with `sudo apk add tcpdump` (12.3 s): /usr/bin/tcpdump"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	already := ProvisionResult{VM: "VM rd", Already: true, Probe: probe.Probe{Tcpdump: "/usr/sbin/tcpdump"}}
	if got, want := already.String(), "tcpdump is already installed on VM rd: /usr/sbin/tcpdump"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
