package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/internal/lazyre"
)

// reapStale removes what labs of dead processes left behind: a test binary
// killed by `go test -timeout` or SIGKILL never runs its Close. The
// long-running processes a lab starts die with it (Pdeathsig), but what they
// started (ssh sessions, a tcpdump) lives on in the lab's namespaces, and the
// namespaces, veth, etc directory and directories stay. Only things whose
// owner pid (see names.go) is dead are touched. Callers hold labLock.
func reapStale() error {
	var errs []error
	var deadNS []string
	if entries, err := os.ReadDir(netnsDir); err == nil {
		for _, e := range entries {
			if pid := ownerPid(e.Name(), nsNameRE()); pid != 0 && !pidAlive(pid) {
				deadNS = append(deadNS, e.Name())
			}
		}
	}
	if len(deadNS) > 0 {
		errs = append(errs, emptyNamespaces(deadNS))
	}
	// Host veths first: deleting one is synchronous, while a deleted
	// namespace takes its veths down only when the kernel gets to it.
	if links, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, l := range links {
			if !strings.HasPrefix(l.Name(), hostVethPrefix) {
				continue
			}
			alias, _ := os.ReadFile(filepath.Join("/sys/class/net", l.Name(), "ifalias"))
			if pid := ownerPid(strings.TrimSpace(string(alias)), nsNameRE()); pid != 0 && !pidAlive(pid) {
				_, err := run("ip", "link", "del", l.Name())
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, reapFallbackRoutes())
	for _, ns := range deadNS {
		_, err := run("ip", "netns", "del", ns)
		errs = append(errs, err)
	}
	if dirs, err := filepath.Glob(filepath.Join(etcNetns, "vmd*")); err == nil {
		for _, d := range dirs {
			if pid := ownerPid(filepath.Base(d), nsNameRE()); pid != 0 && !pidAlive(pid) {
				errs = append(errs, os.RemoveAll(d))
			}
		}
	}
	// Earlier versions' sudoers files, /etc/sudoers.d/vmdlab<N>.
	if files, err := filepath.Glob(filepath.Join(sudoersDir, legacyUserPrefix+"*")); err == nil {
		for _, f := range files {
			if legacyUserIndex(filepath.Base(f)) == 0 {
				continue
			}
			if pid := ownerPid(sudoersOwner(f), nsNameRE()); pid != 0 && !pidAlive(pid) {
				errs = append(errs, os.Remove(f))
			}
		}
	}
	// Hosts' sudoers files (host.go).
	if files, err := filepath.Glob(filepath.Join(sudoersDir, hostSudoersPrefix+"*")); err == nil {
		for _, f := range files {
			if pid := ownerPid(filepath.Base(f), hostSudoersRE()); pid != 0 && !pidAlive(pid) {
				errs = append(errs, os.Remove(f))
			}
		}
	}
	errs = append(errs, reapUsers())
	if dirs, err := filepath.Glob(filepath.Join(os.TempDir(), "vmd*")); err == nil {
		for _, d := range dirs {
			if pid := ownerPid(filepath.Base(d), tmpNameRE()); pid != 0 && !pidAlive(pid) {
				errs = append(errs, os.RemoveAll(d))
			}
		}
	}
	return errors.Join(errs...)
}

// reapUsers deletes the users of their own of dead labs
// (vmdlab-<namespace>, see user.go) and the users vmdlab<N> (N = 1…250)
// of earlier versions, one per lab index, that nothing uses: no sudoers
// file of a lab of theirs left, no host veth vmdh<N> (an earlier
// version's lab that holds index N has its user; such labs claim under
// the same labLock), and no process running as the user. Of the latter
// only accounts as those versions made them are touched: home "/",
// locked password '*'. Callers hold labLock.
func reapUsers() error {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return err
	}
	var errs []error
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) != 7 {
			continue
		}
		name, uid, home := f[0], f[2], f[5]
		if ns, ok := ownUserNS(name); ok {
			// -f and no uidBusy: its processes were in the dead lab's
			// namespaces, emptied above, and may still be zombies.
			if pid := ownerPid(ns, nsNameRE()); pid != 0 && !pidAlive(pid) {
				_, err := run("userdel", "-f", name)
				errs = append(errs, err)
			}
			continue
		}
		n := legacyUserIndex(name)
		if n == 0 || home != "/" || exists(filepath.Join(sudoersDir, name)) ||
			exists(filepath.Join("/sys/class/net", hostVethPrefix+strconv.Itoa(n))) {
			continue
		}
		if s, ok, err := passwdEntry("/etc/shadow", name); err != nil || !ok || s[1] != "*" {
			continue
		}
		if uidBusy(uid) {
			continue
		}
		_, err := run("userdel", name)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// legacyUserIndex is N of an earlier version's lab user vmdlab<N>, or 0.
func legacyUserIndex(name string) int {
	digits, ok := strings.CutPrefix(name, legacyUserPrefix)
	if !ok || digits == "" || digits[0] == '0' {
		return 0
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > maxIndex || strconv.Itoa(n) != digits {
		return 0
	}
	return n
}

// sudoersOwner reads the VM namespace name from a lab sudoers file's first
// line, "# vmdump lab <namespace>".
func sudoersOwner(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.TrimSpace(strings.TrimPrefix(line, sudoersHeader))
}

// reapFallbackRoutes deletes lab unreachable routes (10.231.N.0/30 metric 4242)
// whose host veth vmdh<N> is gone.
func reapFallbackRoutes() error {
	out, err := run("ip", "-j", "route", "show", "type", "unreachable")
	if err != nil {
		return err
	}
	var routes []struct {
		Dst    string `json:"dst"`
		Metric int    `json:"metric"`
	}
	if err := json.Unmarshal(out, &routes); err != nil {
		return fmt.Errorf("ip -j route: %w", err)
	}
	var errs []error
	for _, r := range routes {
		n, ok := labIndexOfNet(r.Dst)
		if !ok || strconv.Itoa(r.Metric) != fallbackMetric ||
			exists(filepath.Join("/sys/class/net", hostVethPrefix+strconv.Itoa(n))) {
			continue
		}
		_, err := run("ip", "route", "del", "unreachable", r.Dst, "metric", fallbackMetric)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// labIndexOfNet reads N out of "10.231.N.0/30".
func labIndexOfNet(dst string) (int, bool) {
	m := linkNetRE().FindStringSubmatch(dst)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil && n >= 1 && n <= maxIndex
}

var linkNetRE = lazyre.New(`^10\.231\.([0-9]+)\.0/30$`)
