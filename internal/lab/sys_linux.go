package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
)

// processAttrs makes every long-running process the lab starts die with the
// process that started it (SIGKILL on parent death), so that a test binary
// killed by a timeout cannot leave an sshd, socat or trafficgen behind.
// What those processes started themselves stays in the lab's namespaces,
// where the next lab's reaper finds it (see reap.go).
func processAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// pidsInNamespace lists the processes whose network namespace is the named
// one. It is what `ip netns pids` does (compare /proc/<pid>/ns/net with the
// namespace file), done here to spare a process per call in teardown loops.
func pidsInNamespace(ns string) ([]int, error) {
	var want syscall.Stat_t
	if err := syscall.Stat(filepath.Join(netnsDir, ns), &want); err != nil {
		return nil, fmt.Errorf("namespace %s: %w", ns, err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		// Fails for processes that exited meanwhile and for zombies, which
		// no longer hold a namespace: neither counts.
		if syscall.Stat(filepath.Join("/proc", e.Name(), "ns", "net"), &st) != nil {
			continue
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids, nil
}

// killPid sends SIGKILL: teardown does not negotiate.
func killPid(pid int) error {
	return syscall.Kill(pid, syscall.SIGKILL)
}
