package probe

import (
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
)

const probeOutputDebian = `Welcome to the VM!
vmdump-probe=1
ssh_connection=10.0.2.2 51234 10.0.2.15 22
uid=1000
hostname=lima-default
kernel=Linux 6.8.0-31-generic
tcpdump=/usr/bin/tcpdump
immediate=1
sudo=1
os.PRETTY_NAME="Ubuntu 24.04 LTS"
os.ID=ubuntu
os.ID_LIKE=debian
iface=eth0
iface=lo
iface=docker0
end=1
`

func TestParseProbe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     string
		want    Probe
		wantErr string
	}{
		{name: "ubuntu with banner", out: probeOutputDebian, want: Probe{
			ClientAddr: "10.0.2.2", ClientPort: "51234", ServerAddr: "10.0.2.15", ServerPort: "22",
			UID: 1000, Tcpdump: "/usr/bin/tcpdump", ImmediateMode: true, SudoNoPassword: true,
			OSID: "ubuntu", OSLike: "debian", OSPretty: "Ubuntu 24.04 LTS", Kernel: "Linux 6.8.0-31-generic",
			Hostname: "lima-default", Interfaces: []string{"eth0", "lo", "docker0"},
		}},
		{name: "boot2docker without os-release, no tcpdump", out: "vmdump-probe=1\r\nssh_connection=\r\nuid=1000\r\ntcpdump=\r\nimmediate=0\r\nsudo=1\r\ntce=1\r\niface=eth1\r\nend=1\r\n", want: Probe{
			UID: 1000, SudoNoPassword: true, OSID: "tinycore", Interfaces: []string{"eth1"},
		}},
		{name: "fedora coreos, root", out: "vmdump-probe=1\nuid=0\nos.ID=fedora\nos.VARIANT_ID=coreos\nos.PRETTY_NAME='Fedora CoreOS 40'\nend=1\n", want: Probe{
			UID: 0, OSID: "fedora-coreos", OSPretty: "Fedora CoreOS 40",
		}},
		{name: "escaped pretty name and ipv6 connection", out: "vmdump-probe=1\nssh_connection=fe80::1%eth0 40000 fe80::2%eth0 2222\nuid=x\nos.PRETTY_NAME=\"A \\\"B\\\" \\$C\"\ntcpdump=tcpdump\nend=1\n", want: Probe{
			ClientAddr: "fe80::1%eth0", ClientPort: "40000", ServerAddr: "fe80::2%eth0", ServerPort: "2222",
			UID: -1, OSPretty: `A "B" $C`,
		}},
		{name: "package managers and ostree", out: "vmdump-probe=1\nuid=0\nos.ID=fedora\npm=rpm-ostree,dnf,,dnf,\nostree=1\nend=1\n", want: Probe{
			UID: 0, OSID: "fedora", PackageManagers: []string{"rpm-ostree", "dnf"}, PmKnown: true, OSTree: true,
		}},
		{name: "no package manager", out: "vmdump-probe=1\nuid=0\npm=\nend=1\n", want: Probe{UID: 0, PmKnown: true}},
		{name: "nsenter", out: "vmdump-probe=1\nuid=0\nnsenter=1\nend=1\n", want: Probe{UID: 0, Nsenter: true, NsenterKnown: true}},
		{name: "no nsenter", out: "vmdump-probe=1\nuid=0\nnsenter=0\nend=1\n", want: Probe{UID: 0, NsenterKnown: true}},
		{name: "restarted probe output counts from the last start", out: "vmdump-probe=1\nuid=5\nvmdump-probe=1\nuid=7\nend=1\n", want: Probe{UID: 7}},
		{name: "not the probe", out: "sh: 1: exec: sh: not found\n", wantErr: "did not run"},
		{name: "cut short", out: "vmdump-probe=1\nuid=0\n", wantErr: "cut short"},
		{name: "empty", out: "", wantErr: "did not run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProbe([]byte(tc.out))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseProbe(f *testing.F) {
	f.Add([]byte(probeOutputDebian))
	f.Add([]byte("vmdump-probe=1\nend=1\n"))
	f.Add([]byte("vmdump-probe=1\nos.PRETTY_NAME=\"\\\nend=1"))
	f.Add([]byte("iface=\nvmdump-probe=1\niface==\nend=1\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		p, err := ParseProbe(out)
		if err != nil {
			return
		}
		if !strings.Contains(string(out), "vmdump-probe=1") || !strings.Contains(string(out), "end=1") {
			t.Fatalf("accepted output without the probe's markers: %q", out)
		}
		for _, i := range p.Interfaces {
			if i == "" || strings.ContainsAny(i, "\n") {
				t.Fatalf("bad interface %q", i)
			}
		}
		if p.Tcpdump != "" && !strings.HasPrefix(p.Tcpdump, "/") {
			t.Fatalf("relative tcpdump path %q", p.Tcpdump)
		}
		if p.UID < -1 {
			t.Fatalf("uid %d", p.UID)
		}
	})
}

// TestProbeScriptRunsUnderEachShell runs the exact probe command the way
// sshd would (login shell -c command) with sh replaced by each shell, and
// checks the result against this machine.
func TestProbeScriptRunsUnderEachShell(t *testing.T) {
	for _, sh := range vmtest.AvailableShells(t) {
		cmd := strings.Replace(probeCommand(), "exec sh -c ", "exec "+strings.Join(sh, " ")+" -c ", 1)
		// The login shell runs with the caller's PATH; the probe must
		// find tcpdump and the rest even with a minimal PATH.
		c := exec.Command("/bin/sh", "-c", cmd)
		c.Env = append(os.Environ(), "SSH_CONNECTION=192.0.2.1 40000 192.0.2.2 22", "PATH=/bin")
		out, err := c.Output()
		if err != nil {
			t.Fatalf("%v: %v", sh, err)
		}
		p, err := ParseProbe(out)
		if err != nil {
			t.Fatalf("%v: %v\n%s", sh, err, out)
		}
		if p.ClientAddr != "192.0.2.1" || p.ServerPort != "22" {
			t.Errorf("%v: SSH_CONNECTION not read: %+v", sh, p)
		}
		if p.UID != os.Getuid() {
			t.Errorf("%v: uid %d, want %d", sh, p.UID, os.Getuid())
		}
		if path, err := exec.LookPath("tcpdump"); err == nil && p.Tcpdump == "" {
			t.Errorf("%v: tcpdump %s not found by the probe", sh, path)
		}
		if len(p.Interfaces) == 0 || !slices.Contains(p.Interfaces, "lo") {
			t.Errorf("%v: interfaces %v lack lo", sh, p.Interfaces)
		}
		if p.Kernel == "" || !strings.HasPrefix(p.Kernel, "Linux ") {
			t.Errorf("%v: kernel %q", sh, p.Kernel)
		}
		if _, err := os.Stat("/etc/os-release"); err == nil && p.OSID == "" {
			t.Errorf("%v: os-release not read", sh)
		}
		// The package managers: exactly those on this machine (with the
		// probe's sbin additions to PATH).
		var wantPM []string
		for _, pm := range []string{"tce-load", "apk", "apt-get", "rpm-ostree", "dnf", "yum", "microdnf", "zypper", "pacman", "opkg"} { // remotecap.PmFallbackOrder
			for _, d := range []string{"/bin", "/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"} {
				if fi, err := os.Stat(d + "/" + pm); err == nil && fi.Mode()&0o111 != 0 {
					wantPM = append(wantPM, pm)
					break
				}
			}
		}
		if !p.PmKnown || !reflect.DeepEqual(p.PackageManagers, wantPM) {
			t.Errorf("%v: package managers %v (reported: %v), want %v", sh, p.PackageManagers, p.PmKnown, wantPM)
		}
		if _, err := os.Stat("/run/ostree-booted"); (err == nil) != p.OSTree {
			t.Errorf("%v: ostree %v", sh, p.OSTree)
		}
	}
}
