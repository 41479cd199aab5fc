package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	flags "github.com/jessevdk/go-flags"

	"github.com/vmdump/vmdump/install"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// devVersion is replaced at release time with -ldflags "-X main.devVersion=v1.2.3".
var devVersion = ""

// version is the release tag, or the module version `go install` recorded.
func version() string {
	if devVersion != "" {
		return devVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "0.1.0-dev"
}

const usage = `vmdump captures from the Docker VMs you already have, live in Wireshark.

Usage:
  vmdump install [--dry-run]     put vmdump into Wireshark's extcap folder(s)
  vmdump uninstall [--dry-run]   take it out again
  vmdump list [--json]           the VMs vmdump finds, and why any is skipped
  vmdump list --check            also connect to each and check the connection, sudo and tcpdump
  vmdump forget-host-key VM      forget the host key pinned for a VM (id or manager/name)
  vmdump provision VM            install tcpdump on a VM with its package manager (--dry-run: only say how)
  vmdump doctor                  which Wireshark sees vmdump, which VMs are usable, and why not
  sudo vmdump demo               no VM yet? run a stand-in Docker VM with live HTTP traffic (Linux)
  vmdump version

Wireshark itself runs vmdump with --extcap-* options; see the README.
`

type installCmd struct {
	DryRun bool `long:"dry-run" description:"show what would be done, do nothing"`
}
type listCmd struct {
	JSON  bool `long:"json" description:"print JSON"`
	Check bool `long:"check" description:"connect to each running VM and check the connection, sudo and tcpdump"`
}

// runCommand runs a subcommand typed by a person.
func runCommand(argv []string, stdout, stderr io.Writer) int {
	switch argv[0] {
	case "help", "h":
		fmt.Fprint(stdout, usage)
		return 0
	case "version":
		fmt.Fprintln(stdout, "vmdump", version())
		return 0
	case "doctor":
		return cmdDoctor(stdout)
	case "demo":
		return cmdDemo(argv[1:], stdout, stderr)
	case "demo-traffic":
		return cmdDemoTraffic(argv[1:], stdout, stderr)
	}
	var (
		inst   installCmd
		uninst installCmd
		list   listCmd
		forget struct{}
		prov   provisionCmd
	)
	p := flags.NewNamedParser("vmdump", flags.HelpFlag|flags.PassDoubleDash)
	p.AddCommand("install", "install into Wireshark", "", &inst)
	p.AddCommand("uninstall", "remove from Wireshark", "", &uninst)
	p.AddCommand("list", "list the VMs", "", &list)
	p.AddCommand("forget-host-key", "forget a pinned host key", "", &forget)
	p.AddCommand("provision", "install tcpdump on a VM", "", &prov)
	rest, err := p.ParseArgs(argv)
	if err != nil {
		var fe *flags.Error
		if errors.As(err, &fe) && fe.Type == flags.ErrHelp {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "vmdump: %v (run `vmdump help`)\n", strings.TrimSpace(err.Error()))
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	switch p.Active.Name {
	case "install":
		return cmdInstall(ctx, inst.DryRun, stdout, stderr)
	case "uninstall":
		acts, err := install.Uninstall(ctx, install.HostEnv(), install.Options{DryRun: uninst.DryRun})
		install.WriteActions(stdout, acts)
		return exitStatus(stderr, err)
	case "list":
		env := discover.HostEnv(log)
		vms := discover.Discover(env)
		if list.Check {
			return exitStatus(stderr, writeChecks(stdout, checkVMs(ctx, env, vms, log)))
		}
		if list.JSON {
			return exitStatus(stderr, writeJSON(stdout, vms))
		}
		return exitStatus(stderr, writeTable(stdout, vms))
	case "forget-host-key":
		return cmdForget(rest, stdout, stderr, log)
	case "provision":
		return cmdProvision(rest, prov.DryRun, stdout, stderr, log)
	}
	fmt.Fprint(stderr, usage)
	return 2
}

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

// cmdForget removes a pinned host key, the fix vmdump names when a VM's key
// changed (a VM was recreated).
func cmdForget(args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "vmdump: forget-host-key needs one VM: its id (vmdump list) or manager/name")
		return 2
	}
	env := discover.HostEnv(log)
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
