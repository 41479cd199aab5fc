package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// cmdForget removes a pinned host key, the fix vmdump names when a VM's key
// changed (a VM was recreated).
func cmdForget(args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "vmdump: forget-host-key needs one VM: its id (vmdump list) or manager/name")
		return 2
	}
	env := hostenv.HostEnv(log)
	manager, name, ok := strings.Cut(args[0], "/")
	if vm, found := discover.Lookup(discover.Discover(env), args[0]); found {
		manager, name, ok = vm.Manager, vm.Name, true
	}
	if !ok {
		fmt.Fprintf(stderr, "vmdump: no VM %q: give its id from `vmdump list` or manager/name\n", args[0])
		return 2
	}
	if err := sshconn.ForgetPinnedKey(filepath.Join(env.ConfigDir(), "known_hosts"), manager, name); err != nil {
		return exitStatus(stderr, err)
	}
	fmt.Fprintf(stdout, "forgot the host key of %s/%s; the next capture pins the new one\n", manager, name)
	return 0
}
