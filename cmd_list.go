package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// cmdList is `vmdump list [--json|--check]`: the VMs found and why any is
// skipped (list_output.go), or with --check what works on each running VM
// (check.go). Config-file warnings go to stderr, so --json stays JSON.
func cmdList(ctx context.Context, list listCmd, stdout, stderr io.Writer, log *slog.Logger) int {
	env := hostenv.HostEnv(log)
	vms := discover.Discover(env)
	for _, w := range discover.ConfigWarnings(env) {
		fmt.Fprintln(stderr, "vmdump: warning:", w)
	}
	if len(vms) == 0 && !list.JSON {
		if err := writeNoVMs(stdout, env); err != nil || !list.Check {
			return exitStatus(stderr, err)
		}
		// --check: no VM can capture, which is a failure
		return exitStatus(stderr, errors.New("no VM can capture: none was found"))
	}
	if list.Check {
		return exitStatus(stderr, writeChecks(stdout, checkVMs(ctx, env, vms, log)))
	}
	if list.JSON {
		return exitStatus(stderr, writeJSON(stdout, vms))
	}
	return exitStatus(stderr, writeTable(stdout, vms))
}

// managerNames are the VM managers as people write them, for the line of
// `vmdump list` that says where it looked; a provider missing here shows
// under its manager id (TestCommandListNamesEveryProvider).
var managerNames = map[string]string{
	"boot2docker":     "boot2docker",
	"docker-machine":  "docker-machine",
	"colima":          "Colima",
	"rancher-desktop": "Rancher Desktop",
	"lima":            "Lima",
	"podman":          "Podman machine",
	"minikube":        "minikube",
	"vagrant":         "Vagrant",
	"orbstack":        "OrbStack",
	"multipass":       "Multipass",
	"docker-desktop":  "Docker Desktop",
	"docker-context":  "Docker contexts",
	"ssh":             "~/.ssh/config hosts",
}

// writeNoVMs is `vmdump list` when no VM is found: instead of a table with
// no rows, where vmdump looked (discover.Providers) and what to do.
// ~/.ssh/config counts only when the config file turns its hosts on.
func writeNoVMs(w io.Writer, env hostenv.Env) error {
	cfg, _ := discover.LoadConfig(env)
	var looked []string
	for _, p := range discover.Providers {
		switch {
		case p.Manager == "config":
			continue // named last, as the file to add a VM to
		case p.Manager == "ssh" && !cfg.SSHConfigHosts:
			continue
		}
		looked = append(looked, cmp.Or(managerNames[p.Manager], p.Manager))
	}
	file := env.ConfigFile()
	where := cmp.Or(file, "config.toml")
	_, err := fmt.Fprintf(w, "no Docker VM found; vmdump looked for %s and vmdump's config file\n"+
		"add a VM to %s (see the README: The config file) or start a VM with one of those managers\n",
		strings.Join(looked, ", "), where)
	return err
}
