package lab

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// These tests need neither root nor a lab.

func TestParseStat(t *testing.T) {
	cases := []struct {
		stat     string
		comm     string
		ppid     int
		ok       bool
		describe string
	}{
		{"1234 (sshd) S 77 1234 1234 0 -1", "sshd", 77, true, "plain"},
		{"5 (my prog) R 1 5 5", "my prog", 1, true, "space in comm"},
		{"6 (a) b) (c) S 42 6", "a) b) (c", 42, true, "parentheses in comm"},
		{"7 () S 3 7", "", 3, true, "empty comm"},
		{"8 (x) S", "", 0, false, "no ppid"},
		{"9 (x) S notanumber", "", 0, false, "bad ppid"},
		{"10 x S 1", "", 0, false, "no parentheses"},
		{"", "", 0, false, "empty"},
		{"11 )( S 1", "", 0, false, "reversed parentheses"},
	}
	for _, c := range cases {
		comm, ppid, ok := parseStat(c.stat)
		if ok != c.ok || (ok && (comm != c.comm || ppid != c.ppid)) {
			t.Errorf("%s: parseStat(%q) = %q, %d, %v; want %q, %d, %v", c.describe, c.stat, comm, ppid, ok, c.comm, c.ppid, c.ok)
		}
	}
}

// FuzzParseStat: comm is chosen by whoever names a process.
func FuzzParseStat(f *testing.F) {
	f.Add("1234 (sshd) S 77 1234")
	f.Add("6 (a) b) (c) S 42 6")
	f.Add(")(")
	f.Fuzz(func(t *testing.T, stat string) {
		comm, _, ok := parseStat(stat)
		if ok && !strings.Contains(stat, "("+comm+")") {
			t.Fatalf("comm %q is not between parentheses in %q", comm, stat)
		}
	})
}

func TestParseStatOfThisProcess(t *testing.T) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	_, ppid, ok := parseStat(string(stat))
	if !ok || ppid != os.Getppid() {
		t.Fatalf("parseStat(/proc/self/stat) ppid %d %v, want %d", ppid, ok, os.Getppid())
	}
}

func TestTCPTableHasListener(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0201E70A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0201E70A:0016 0101E70A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
`
	cases := []struct {
		want string
		ok   bool
	}{
		{"0201E70A:0016", true},  // listening
		{"0100007F:1F90", true},  // listening
		{"0201E70A:0017", false}, // other port
		{"0101E70A:C350", false}, // only a remote address
		{"0301E70A:0016", false}, // other address
	}
	for _, c := range cases {
		if got := tcpTableHasListener(bufio.NewScanner(strings.NewReader(table)), c.want); got != c.ok {
			t.Errorf("listener %s: %v, want %v", c.want, got, c.ok)
		}
	}
}

func TestOwnerPid(t *testing.T) {
	cases := []struct {
		name string
		tmp  bool
		pid  int
	}{
		{"vmd4711n3", false, 4711},
		{"vmd4711n3c1", false, 4711},
		{"vmd4711n3c2", false, 4711},
		{"vmd4711n3c3", false, 0},
		{"vmd4711", false, 0},
		{"vmdx1n1", false, 0},
		{"myns", false, 0},
		{"vmd4711n3-12345", true, 4711},
		{"vmd99-trafficgen-777", true, 99},
		{"vmd", true, 0},
		{"vmdump-notes", true, 0},
	}
	for _, c := range cases {
		re := nsNameRE()
		if c.tmp {
			re = tmpNameRE()
		}
		if got := ownerPid(c.name, re); got != c.pid {
			t.Errorf("ownerPid(%q) = %d, want %d", c.name, got, c.pid)
		}
	}
}

func TestLabIndexOfNet(t *testing.T) {
	cases := map[string]int{
		"10.231.1.0/30":   1,
		"10.231.250.0/30": 250,
		"10.231.0.0/30":   0,
		"10.231.251.0/30": 0,
		"10.231.1.0/24":   0,
		"10.231.1.4/30":   0,
		"10.23.1.0/30":    0,
		"10x231.1.0/30":   0,
	}
	for dst, want := range cases {
		n, ok := labIndexOfNet(dst)
		if ok != (want != 0) || n != want && ok {
			t.Errorf("labIndexOfNet(%q) = %d, %v; want %d", dst, n, ok, want)
		}
	}
}

func TestDescendants(t *testing.T) {
	parent := map[int]int{10: 1, 11: 10, 12: 10, 13: 11, 20: 1, 21: 20}
	if got, want := descendants(10, parent), []int{11, 12, 13}; !reflect.DeepEqual(got, want) {
		t.Errorf("descendants(10) = %v, want %v", got, want)
	}
	if got := descendants(13, parent); len(got) != 0 {
		t.Errorf("descendants of a leaf: %v", got)
	}
}

func TestLoginShell(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "notexec")
	os.WriteFile(notExec, []byte("x"), 0o644)
	cases := []struct {
		spec    string
		want    string // "" when an error is expected
		symlink bool
	}{
		{"", "/bin/sh", false},
		{"/bin/sh", "/bin/sh", false},
		{"/bin/busybox ash", filepath.Join(dir, "ash"), true},
		{"sh", "", false},
		{notExec, "", false},
		{dir, "", false},
		{"/nonexistent/shell", "", false},
		{"/bin/busybox a/b", "", false},
		{"/bin/busybox ash extra", "", false},
	}
	for _, c := range cases {
		got, err := loginShell(c.spec, dir)
		if c.want == "" {
			if err == nil {
				t.Errorf("loginShell(%q) = %q, want an error", c.spec, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("loginShell(%q) = %q, %v; want %q", c.spec, got, err, c.want)
		}
		if c.symlink {
			if target, err := os.Readlink(got); err != nil || target != "/bin/busybox" {
				t.Errorf("%s links to %q, %v", got, target, err)
			}
		}
	}
}

func TestSSHDConfig(t *testing.T) {
	l := &Lab{Namespace: "vmd1n1", VMAddr: "10.231.1.2", SSHPort: 22, User: "vmdlab"}
	cases := []struct {
		opt  Options
		want []string
	}{
		{Options{}, []string{"PasswordAuthentication no", "ListenAddress 10.231.1.2:22", "AllowUsers vmdlab", "UsePAM no", "PidFile none", "StrictModes no"}},
		{Options{Password: "x"}, []string{"PasswordAuthentication yes"}},
		{Options{SSHDConfig: []string{"ClientAliveInterval 1"}}, []string{"ClientAliveInterval 1"}},
	}
	for _, c := range cases {
		cfg := l.sshdConfig("/k", "/a", c.opt)
		lines := strings.Split(cfg, "\n")
		for _, w := range c.want {
			found := false
			for _, line := range lines {
				found = found || line == w
			}
			if !found {
				t.Errorf("%+v: config lacks %q:\n%s", c.opt, w, cfg)
			}
		}
	}
}

func TestKnownHostsLine(t *testing.T) {
	l := &Lab{VMAddr: "10.231.1.2", SSHPort: 22, hostKeyPub: "ssh-ed25519 AAAA"}
	cases := []struct {
		host string
		port int
		want string
	}{
		{"10.231.1.2", 22, "10.231.1.2 ssh-ed25519 AAAA"},
		{"127.0.0.1", 2022, "[127.0.0.1]:2022 ssh-ed25519 AAAA"},
	}
	for _, c := range cases {
		if got := l.KnownHostsLine(c.host, c.port); got != c.want {
			t.Errorf("KnownHostsLine(%s, %d) = %q, want %q", c.host, c.port, got, c.want)
		}
	}
	if got := l.HostKeyLine(); got != cases[0].want {
		t.Errorf("HostKeyLine = %q", got)
	}
}

func TestPrereqErrorNamesWhatIsMissing(t *testing.T) {
	err := &PrereqError{Missing: []string{"root (run the tests as root)", "socat"}}
	msg := err.Error()
	if !strings.HasPrefix(msg, "lab needs root, ip, sshd, tcpdump: ") || !strings.Contains(msg, "socat") || strings.Contains(msg, "\n") {
		t.Errorf("PrereqError message %q", msg)
	}
}

// Off Linux there is no lab at all: the error says why in one line, and on
// such a machine that is what checkPrereqs returns, whatever the options.
func TestPrereqErrorOffLinux(t *testing.T) {
	if msg := (&PrereqError{OS: "darwin"}).Error(); msg != "the lab needs Linux network namespaces; this is darwin" {
		t.Errorf("PrereqError message %q", msg)
	}
	if runtime.GOOS == "linux" {
		return
	}
	pe, ok := checkPrereqs(Options{Forward: true}).(*PrereqError)
	if !ok || pe.OS != runtime.GOOS || len(pe.Missing) != 0 {
		t.Errorf("checkPrereqs on %s = %#v, want a PrereqError for the OS alone", runtime.GOOS, pe)
	}
}

func TestLegacyUserIndex(t *testing.T) {
	for name, want := range map[string]int{
		"vmdlab1": 1, "vmdlab250": 250, "vmdlab251": 0, "vmdlab01": 0, "vmdlab0": 0, "vmdlab": 0,
		"vmdlabx": 0, "vmdlab1a": 0, "vmdlab+1": 0, "vmdlab-1": 0, "xvmdlab1": 0,
	} {
		if got := legacyUserIndex(name); got != want {
			t.Errorf("legacyUserIndex(%q) = %d, want %d", name, got, want)
		}
	}
}
