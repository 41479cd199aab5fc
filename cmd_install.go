package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/vmdump/vmdump/install"
)

// cmdInstall is `vmdump install [--dry-run]`: vmdump into the personal extcap
// folder of every Wireshark found, then checked with that Wireshark's tshark.
func cmdInstall(ctx context.Context, dryRun bool, stdout, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		return exitStatus(stderr, fmt.Errorf("cannot find my own binary: %v", err))
	}
	env := install.HostEnv()
	acts, err := install.Install(ctx, env, self, install.Options{DryRun: dryRun})
	install.WriteActions(stdout, acts)
	if err != nil || dryRun {
		return exitStatus(stderr, err)
	}
	seen, err := install.Verify(ctx, env)
	if err != nil {
		return exitStatus(stderr, err)
	}
	if seen == "" {
		seen = "tshark not found: could not check that Wireshark sees vmdump"
	}
	fmt.Fprintln(stdout, seen)
	return 0
}

// cmdUninstall is `vmdump uninstall [--dry-run]`: every copy install put
// into Wireshark's personal extcap folders goes.
func cmdUninstall(ctx context.Context, dryRun bool, stdout, stderr io.Writer) int {
	acts, err := install.Uninstall(ctx, install.HostEnv(), install.Options{DryRun: dryRun})
	install.WriteActions(stdout, acts)
	return exitStatus(stderr, err)
}
