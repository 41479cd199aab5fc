package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Proc is one process living in the VM's network namespace.
type Proc struct {
	Pid  int
	PPid int
	// Cmdline is /proc/<pid>/cmdline with its NUL separators turned into
	// spaces, e.g. "sudo -n tcpdump -i docker0 -w -".
	Cmdline string
}

// netnsDir is where `ip netns add` keeps its named namespaces.
const netnsDir = "/run/netns"

// readProc describes one process; ok is false when it is gone.
func readProc(pid int) (Proc, bool) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Proc{}, false
	}
	_, ppid, ok := parseStat(string(stat))
	if !ok {
		return Proc{}, false
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return Proc{}, false
	}
	return Proc{
		Pid:     pid,
		PPid:    ppid,
		Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")),
	}, true
}

// parseStat reads the command name and parent pid out of /proc/<pid>/stat:
// "pid (comm) state ppid ...". comm may itself hold spaces and parentheses,
// so it ends at the LAST ')'.
func parseStat(stat string) (comm string, ppid int, ok bool) {
	open := strings.IndexByte(stat, '(')
	end := strings.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	fields := strings.Fields(stat[end+1:])
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return "", 0, false
	}
	return stat[open+1 : end], ppid, true
}

// processTable maps every live pid to its parent and command name.
func processTable() (parent map[int]int, comm map[int]string) {
	parent, comm = map[int]int{}, map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if c, pp, ok := parseStat(string(stat)); ok {
			parent[pid], comm[pid] = pp, c
		}
	}
	return parent, comm
}

// descendants lists every process below root in the parent map.
func descendants(root int, parent map[int]int) []int {
	children := map[int][]int{}
	for pid, pp := range parent {
		children[pp] = append(children[pp], pid)
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	sort.Ints(out)
	return out
}

// emptyNamespaces SIGKILLs every process in the given namespaces until none
// is left. It loops because a process may fork while being killed; SIGKILL
// cannot be caught, so a few rounds suffice.
func emptyNamespaces(names []string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []int
		for _, ns := range names {
			pids, err := pidsInNamespace(ns)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			left = append(left, pids...)
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still alive in namespaces %v after SIGKILL", left, names)
		}
		for _, pid := range left {
			killPid(pid)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// pidAlive reports whether pid exists. A reused pid counts as alive: the
// reaper then leaves a stale lab for a later run rather than risk a live one.
func pidAlive(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return err == nil
}
