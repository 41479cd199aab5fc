package lab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vmdump/vmdump/internal/lazyre"
)

// Naming. Every name a lab creates says which process owns it, so that a
// later lab can tell a crashed lab's leftovers (owner pid dead) from a live
// lab of a parallel test package (owner pid alive) and reap only the former:
//
//	VM namespace         vmd<pid>n<seq>         e.g. vmd4711n3
//	container namespaces vmd<pid>n<seq>c1, …c2  (≤ 15 characters)
//	lab directory        $TMPDIR/vmd<pid>n<seq>-<random>
//	trafficgen binary    $TMPDIR/vmd<pid>-trafficgen-<random>/trafficgen
//	host directory       $TMPDIR/vmd<pid>h<seq>-<random> (host.go)
//	host sudoers file    /etc/sudoers.d/vmdump-host-<pid>-<seq>
//
// Names that live in the shared root namespace or in /etc carry the lab's
// index N (1…250), which also picks its addresses; N is claimed under
// labLock and the owner is recorded in the thing itself:
//
//	host-side veth       vmdh<N>     alias = VM namespace name
//
// Named after the VM namespace too: the lab's etc directory
// /etc/netns/vmd<pid>n<seq>, and the user of its own of a lab with a
// password or a login shell, vmdlab-vmd<pid>n<seq>; other labs share the
// user vmdlab (user.go).
//
// Addresses (N = index): host end 10.231.N.1/30, VM eth1 10.231.N.2/30,
// docker0 172.31.N.1/24, containers 172.31.N.2 and 172.31.N.3.
const (
	hostVethPrefix   = "vmdh"
	legacyUserPrefix = "vmdlab" // earlier versions' users vmdlab<N>
	sudoersDir       = "/etc/sudoers.d"
	maxIndex         = 250
)

var (
	nsNameRE      = lazyre.New(`^vmd([0-9]+)n[0-9]+(c[12])?$`)
	tmpNameRE     = lazyre.New(`^vmd([0-9]+)([nh][0-9]+)?-`)
	hostSudoersRE = lazyre.New(`^` + hostSudoersPrefix + `([0-9]+)-[0-9]+$`)
	labSeq        atomic.Int64
)

// ownerPid is the pid that created a name of the forms above, or 0.
func ownerPid(name string, re *regexp.Regexp) int {
	m := re.FindStringSubmatch(name)
	if m == nil {
		return 0
	}
	pid, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return pid
}

// newNamespaceName picks an unused VM namespace name for this process. The
// sequence number is cut so that "<name>c2" stays within 15 characters (the
// limit the project keeps for interface-like names).
func newNamespaceName() (string, error) {
	prefix := fmt.Sprintf("vmd%dn", os.Getpid())
	digits := 15 - len(prefix) - len("c1")
	if digits < 1 {
		return "", fmt.Errorf("pid %d too long for a 15-character namespace name", os.Getpid())
	}
	limit := int64(1)
	for range digits {
		limit *= 10
	}
	for range 100 {
		name := prefix + strconv.FormatInt(labSeq.Add(1)%limit, 10)
		if !exists(filepath.Join(netnsDir, name)) && !exists(filepath.Join(netnsDir, name+"c1")) &&
			!exists(filepath.Join(netnsDir, name+"c2")) {
			return name, nil
		}
	}
	return "", fmt.Errorf("no free namespace name with prefix %s", prefix)
}

// claimIndex returns the lowest index whose host veth does not exist.
// Callers hold labLock and create the veth before releasing it.
func claimIndex() (int, error) {
	for n := 1; n <= maxIndex; n++ {
		if !exists(filepath.Join("/sys/class/net", hostVethPrefix+strconv.Itoa(n))) {
			return n, nil
		}
	}
	return 0, fmt.Errorf("all %d lab indexes are in use (links %s1…%s%d exist)", maxIndex, hostVethPrefix, hostVethPrefix, maxIndex)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// labLock serialises what labs share across processes (index claims, the
// lab user's creation, reaping). The lock is an abstract unix socket
// name, which only one socket can hold: nothing to leave behind, and the
// kernel frees it if its holder dies. (Not an flock on /run/netns: ip netns
// add takes that one itself.)
func labLock() (release func(), err error) {
	const name = "@vmdump-lab-lock"
	deadline := time.Now().Add(30 * time.Second)
	for {
		ln, err := net.Listen("unix", name)
		if err == nil {
			return func() { ln.Close() }, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("take the lab lock %s: %w", name, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("another lab has held the lab lock %s for 30s", name)
		}
		time.Sleep(time.Millisecond)
	}
}
