package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// Hostile values (issue 5, guarantee 3). Each one, given the marker file m,
// tries to run `touch m`: through the VM's login shell, the remote
// wrapper, sudo, tcpdump's options (-w m writes a file), ssh's options
// (-oProxyCommand runs a command locally), or a local shell. The lab shares
// this machine's file system, so m appearing means a command ran somewhere.
var hostileValues = []struct {
	name  string
	value func(m string) string
}{
	{"single-quote", func(m string) string { return "x'; touch " + m + "; echo '" }},
	{"double-quote", func(m string) string { return `x"; touch ` + m + `; echo "` }},
	{"semicolon", func(m string) string { return "x; touch " + m }},
	{"and", func(m string) string { return "x && touch " + m }},
	{"pipe", func(m string) string { return "x | touch " + m }},
	{"subst", func(m string) string { return "$(touch " + m + ")" }},
	{"backticks", func(m string) string { return "`touch " + m + "`" }},
	{"newline", func(m string) string { return "x\ntouch " + m }},
	{"dash-w", func(m string) string { return "-w " + m }},
	{"dash-proxycommand", func(m string) string { return "-oProxyCommand=touch " + m }},
	{"long-100k", func(m string) string { return strings.Repeat("a", 100<<10) + "$(touch " + m + ")" }},
	{"nul", func(m string) string { return "x\x00touch " + m }},
}

func hostileValue(name string) func(m string) string {
	for _, v := range hostileValues {
		if v.name == name {
			return v.value
		}
	}
	panic("no hostile value " + name)
}

// hostileCase is one input: vmdump's extra arguments, or a config.toml, or
// a tshark run, built around the marker m.
type hostileCase struct {
	name string
	// args are vmdump --capture arguments (beyond interface and FIFO).
	args func(m string) []string
	// filterCheck: args are a filter check (--extcap-capture-filter only).
	filterCheck bool
	// config is a config.toml whose first [[vm]] holds the value.
	config func(l *lab.Lab, m string) string
	// tshark are tshark arguments (beyond -i and -w), {id} = the VM's id.
	tshark func(m string) []string
}

func hostileCases() []hostileCase {
	var cases []hostileCase
	arg := func(opt string, values ...string) {
		for _, v := range values {
			value := hostileValue(v)
			cases = append(cases, hostileCase{name: opt + "/" + v, args: func(m string) []string { return []string{opt, value(m)} }})
		}
	}
	arg("--extcap-capture-filter", "single-quote", "double-quote", "semicolon", "and", "pipe", "subst", "backticks", "newline", "dash-w", "long-100k")
	arg("--remote-interface", "single-quote", "semicolon", "pipe", "subst", "backticks", "newline", "dash-w", "long-100k")
	arg("--ssh-user", "single-quote", "semicolon", "subst", "newline", "dash-proxycommand", "long-100k")
	arg("--ssh-key", "semicolon", "subst", "backticks", "dash-proxycommand", "long-100k")
	arg("--ssh-port", "semicolon")
	arg("--snaplen", "subst")
	arg("--remote-priv", "semicolon")
	arg("--host-key-policy", "and")
	arg("--extcap-interface", "semicolon", "subst")
	arg("--container", "single-quote", "subst", "backticks", "newline", "dash-w", "long-100k") // issue 14: the VM interface's Container selector
	for _, v := range []string{"subst", "backticks", "semicolon", "dash-w"} {
		value := hostileValue(v)
		cases = append(cases, hostileCase{name: "filter-check/" + v, filterCheck: true,
			args: func(m string) []string { return []string{"--extcap-capture-filter", value(m)} }})
	}
	field := func(key string, values ...string) {
		for _, v := range values {
			value := hostileValue(v)
			cases = append(cases, hostileCase{name: "config-" + key + "/" + v, config: func(l *lab.Lab, m string) string {
				vm := labVM(l, "lab")
				extra := ""
				switch key {
				case "name":
					vm.Name = value(m)
				case "host":
					vm.Host = value(m)
				case "user":
					vm.User = value(m)
				case "key":
					vm.Key = value(m)
				case "interface":
					vm.Interface = value(m)
				case "proxy_jump":
					extra = "proxy_jump = " + tomlString(value(m)) + "\n"
				}
				return configTOML("", vm) + extra
			}})
		}
	}
	field("name", "semicolon", "subst", "nul", "long-100k")
	field("host", "semicolon", "dash-proxycommand", "newline", "long-100k")
	field("user", "subst", "dash-proxycommand", "nul")
	field("key", "subst", "backticks", "nul", "long-100k")
	field("interface", "semicolon", "dash-w", "nul")
	field("proxy_jump", "semicolon", "dash-proxycommand")
	for _, c := range []struct{ name, pref, value string }{
		{"tshark-remoteinterface/subst", "remoteinterface", "subst"},
		{"tshark-sshuser/dash-proxycommand", "sshuser", "dash-proxycommand"},
		{"tshark-sshkey/semicolon", "sshkey", "semicolon"},
	} {
		value := hostileValue(c.value)
		cases = append(cases, hostileCase{name: c.name, tshark: func(m string) []string {
			return []string{"-a", "duration:3", "-o", "extcap.{id}." + c.pref + ":" + value(m)}
		}})
	}
	return cases
}

// TestReliabilityHostileInput (issue 5, guarantee 3): no hostile value in a
// capture filter, interface name, VM name, user, host, key path, port,
// option or config file ever runs a command, on the VM or locally; each is
// refused with one clear line or passed through quoted (the capture then
// runs, or the VM's tools refuse it); vmdump never panics, and
// --extcap-interfaces keeps working (exit 0) whatever the config holds.
func TestReliabilityHostileInput(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{})
	installed := newUser(t, l) // for the tshark cases
	dir := markerDir(t)
	cases := hostileCases()
	if len(cases) < 30 {
		t.Fatalf("only %d hostile cases; the issue asks for at least 30", len(cases))
	}
	var (
		mu      sync.Mutex
		markers []string
	)
	t.Run("cases", func(t *testing.T) {
		for i, c := range cases {
			marker := filepath.Join(dir, fmt.Sprintf("m%02d", i))
			mu.Lock()
			markers = append(markers, marker)
			mu.Unlock()
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				hostileTally.tried.Add(1)
				switch {
				case c.tshark != nil:
					runHostileTshark(t, installed, c, marker)
				case c.config != nil:
					runHostileConfig(t, l, c, marker)
				default:
					runHostileArgs(t, l, c, marker)
				}
				if _, err := os.Stat(marker); err == nil {
					hostileTally.bad.Add(1)
					t.Errorf("EXECUTED: the marker %s appeared", marker)
				}
			})
		}
	})
	// A command could still be on its way (a remote process, a retry):
	// look again once nothing of vmdump's runs in the VM any more.
	if _, left := awaitVMClean(l, time.Now(), 30*time.Second); len(left) > 0 {
		t.Errorf("still running in the VM 30s after the hostile cases: %v", left)
	}
	for i, m := range markers {
		if _, err := os.Stat(m); err == nil {
			t.Errorf("EXECUTED: case %s left its marker (seen only at the end)", cases[i].name)
		}
	}
}

// runHostileArgs runs vmdump with the hostile arguments against the lab VM
// and checks the outcome: one clear error line, or a capture that runs
// (the value went through quoted) and is then stopped.
func runHostileArgs(t *testing.T, l *lab.Lab, c hostileCase, marker string) {
	u := newPlainUser(t, l, configTOML("", labVM(l, "lab")))
	u.vmID = labID
	if c.filterCheck {
		stdout, stderr, code := u.vmdumpRun(t, 30*time.Second, c.args(marker)...)
		checkNoPanic(t, stdout+stderr)
		// Exit 0 with at most one line (the problem, red in Wireshark),
		// or exit 1 ("cannot check"): either way nothing ran.
		if code != 0 && code != 1 || strings.Count(strings.TrimSpace(stdout), "\n") > 0 {
			t.Errorf("filter check: exit %d, stdout %q, stderr %q", code, shorten(stdout, 300), shorten(stderr, 300))
		}
		return
	}
	args := c.args(marker)
	if args[0] == "--extcap-interface" {
		u.vmID = args[1]
		args = nil
	}
	logFile := filepath.Join(t.TempDir(), "vmdump.log")
	d := u.startDirect(t, append(args, "--log-level", "debug", "--log-file", logFile)...)
	judgeHostileRun(t, d, logFile)
}

// judgeHostileRun waits for a hostile run to end. An error must be one
// line; a run still going is a capture that accepted the value (quoted):
// it must have started tcpdump, and is stopped.
func judgeHostileRun(t *testing.T, d *directCapture, logFile string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for d.running() {
		if log, _ := os.ReadFile(logFile); strings.Contains(string(log), "remote capture started") {
			// Give a late tcpdump error a moment, then stop.
			time.Sleep(time.Second)
			if d.running() {
				d.cmd.Process.Signal(syscall.SIGTERM)
				d.wait(t, 30*time.Second)
				t.Logf("passed through quoted: the capture ran")
				checkNoPanic(t, d.stderr.String())
				return
			}
			break
		}
		if time.Now().After(deadline) {
			d.wait(t, time.Second) // fails: it hangs
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.wait(t, 30*time.Second)
	if d.exitCode() == 0 && d.stderr.String() == "" {
		t.Logf("ended cleanly")
		return
	}
	msg := checkOneLineError(t, d.stderr.String())
	t.Logf("refused: %s", shorten(msg, 300))
}

// runHostileConfig puts the hostile value into config.toml: the listing
// must still work (exit 0, the VM skipped with a reason or listed), and a
// capture of the VM must refuse it in one line or pass it quoted.
func runHostileConfig(t *testing.T, l *lab.Lab, c hostileCase, marker string) {
	u := newPlainUser(t, l, c.config(l, marker))
	stdout, stderr, code := u.vmdumpRun(t, 30*time.Second, "--extcap-interfaces")
	checkNoPanic(t, stdout+stderr)
	if code != 0 || !strings.HasPrefix(stdout, "extcap {version=") {
		t.Fatalf("--extcap-interfaces: exit %d, stdout %q, stderr %q", code, shorten(stdout, 300), shorten(stderr, 300))
	}
	listed, lstderr, code := u.vmdumpRun(t, 30*time.Second, "list", "--json")
	checkNoPanic(t, listed+lstderr)
	var vms []struct{ ID, Manager, Name, Skip string }
	if err := json.Unmarshal([]byte(listed), &vms); err != nil || code != 0 {
		t.Fatalf("vmdump list --json: exit %d, %v\n%s", code, err, shorten(listed+lstderr, 500))
	}
	var vm *struct{ ID, Manager, Name, Skip string }
	for i := range vms {
		if vms[i].Manager == "config" {
			vm = &vms[i]
			break
		}
	}
	if vm == nil {
		t.Fatalf("the config's VM is not listed at all (a skipped VM should be, with its reason):\n%s", shorten(listed, 500))
	}
	if vm.Skip != "" {
		if strings.ContainsAny(vm.Skip, "\n\x00") || len(vm.Skip) > 1000 {
			t.Errorf("skip reason is not one short line: %q", shorten(vm.Skip, 300))
		}
		if strings.Contains(stdout, "value="+vm.ID+"}") {
			t.Errorf("skipped VM %s offered to Wireshark:\n%s", vm.ID, stdout)
		}
		t.Logf("skipped: %s", shorten(vm.Skip, 200))
	}
	u.vmID = vm.ID
	logFile := filepath.Join(t.TempDir(), "vmdump.log")
	d := u.startDirect(t, "--log-level", "debug", "--log-file", logFile)
	judgeHostileRun(t, d, logFile)
}

// runHostileTshark passes the hostile value the way Wireshark does, as an
// extcap preference of tshark.
func runHostileTshark(t *testing.T, u *user, c hostileCase, marker string) {
	var args []string
	for _, a := range c.tshark(marker) {
		args = append(args, strings.ReplaceAll(a, "{id}", u.vmID))
	}
	// tshark's -o parser is the first line of defence; whatever it lets
	// through reaches vmdump.
	tu := *u
	tu.t = t
	ts := tu.startTshark(args...)
	ts.wait(t, 60*time.Second)
	checkNoPanic(t, ts.stderr.String())
	if msg, ok := extcapError(ts.stderr.String()); ok {
		checkOneLineError(t, msg)
		t.Logf("refused: %s", shorten(msg, 300))
	} else {
		t.Logf("tshark: %s", shorten(ts.stderr.String(), 300))
	}
}
