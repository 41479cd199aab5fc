package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/internal/safefile"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"

	"github.com/vmdump/vmdump/install"
	"github.com/vmdump/vmdump/internal/lab"
	"github.com/vmdump/vmdump/internal/trafficgen/generator"
	"github.com/vmdump/vmdump/vmctl"
)

// demoInterval is the pace of the containers' HTTP requests: slow enough to
// follow in Wireshark, fast enough to see something at once.
const demoInterval = 500 * time.Millisecond

// demoNIC is the VM interface the demo entry captures by default: the
// bridge, where both containers' traffic passes.
const demoNIC = "docker0"

// Run is `vmdump demo`: args are its arguments (it takes none), and
// trafficCmd is the vmdump subcommand that runs Traffic ("demo-traffic"):
// the demo starts its traffic generator as this binary with that
// subcommand. Run returns the exit status: 0 after a clean stop on
// SIGINT, SIGTERM or SIGHUP, 1 on failure, 2 on a usage error.
func Run(args []string, stdout, stderr io.Writer, trafficCmd string) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "vmdump: demo takes no arguments, got %q (run `sudo vmdump demo`)\n", args)
		return 2
	}
	if runtime.GOOS != "linux" {
		fmt.Fprintf(stderr, "vmdump: demo builds its VM from Linux network namespaces and cannot run on %s: capture from your Docker VM instead\n", runtime.GOOS)
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "vmdump: demo needs root to build network namespaces: run `sudo vmdump demo`")
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "vmdump: cannot find my own binary: %v\n", err)
		return 1
	}
	own, err := demoOwnerFrom(os.Getenv, user.LookupId)
	if err != nil {
		fmt.Fprintf(stderr, "vmdump: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	d := newDemo(own, []string{self, trafficCmd})
	if err := d.start(ctx); err != nil {
		if cerr := d.stop(); cerr != nil {
			err = fmt.Errorf("%v; and cleaning up: %v", err, cerr)
		}
		fmt.Fprintf(stderr, "vmdump: demo: %s\n", oneline.Err(err))
		return 1
	}
	d.printHowTo(stdout)
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping the demo ...")
	if err := d.stop(); err != nil {
		fmt.Fprintf(stderr, "vmdump: demo: stopping: %s\n", oneline.Err(err))
		return 1
	}
	fmt.Fprintln(stdout, "demo stopped: its VM, traffic and config entry are gone")
	return 0
}

// Traffic is the hidden subcommand (`vmdump demo-traffic`) that Run's lab
// runs in the container namespaces: the lab's traffic generator (package
// generator) inside the vmdump binary. name is how usage messages call it.
func Traffic(name string, args []string, stdout, stderr io.Writer) int {
	return generator.Run(name, args, stdout, stderr)
}

// demo is one running `vmdump demo`.
type demo struct {
	owner       demoOwner
	env         hostenv.Env // the owner's vmdump environment
	traffic     []string    // the traffic generator's command: this binary and its subcommand
	pid         int
	lab         *lab.Lab
	stopTraffic func() (lab.Summary, error)
	keyFile     string // the lab's client key, copied where the owner can read it
	vm          vmctl.VM
	// newConfig is set when the demo created the config file: it removes
	// it again rather than leave an empty one.
	newConfig bool
}

func newDemo(own demoOwner, traffic []string) *demo {
	getenv := func(k string) string {
		if k == "HOME" {
			return own.home
		}
		return os.Getenv(k)
	}
	return &demo{
		owner:   own,
		env:     hostenv.Env{Home: own.home, GOOS: runtime.GOOS, Getenv: getenv, Log: slog.New(slog.DiscardHandler)},
		traffic: traffic,
		pid:     os.Getpid(),
	}
}

func (d *demo) configFile() string { return d.env.ConfigFile() }
func (d *demo) pinFile() string    { return filepath.Join(d.env.ConfigDir(), "known_hosts") }

// start builds, registers and starts everything; on error the caller runs
// stop, which undoes what was done.
func (d *demo) start(ctx context.Context) error {
	cfg := d.configFile()
	if cfg == "" {
		return errors.New("no folder for vmdump's config file: set HOME and retry")
	}
	if err := d.removeStaleEntries(); err != nil {
		return err
	}
	if _, err := discover.LoadConfig(d.env); err != nil {
		return fmt.Errorf("%v (the demo adds its VM there)", err)
	}
	content, err := safefile.ReadIfExists(cfg)
	if err != nil {
		return err
	}
	if hasVMNamed(content, demoName) {
		return fmt.Errorf("%s already has a [[vm]] named %q: rename it to run the demo", cfg, demoName)
	}

	l, err := lab.New(lab.Options{Trafficgen: d.traffic})
	if err != nil {
		var pe *lab.PrereqError
		if errors.As(err, &pe) {
			return fmt.Errorf("%v (Debian/Ubuntu: apt-get install openssh-server tcpdump iproute2 sudo)", err)
		}
		return err
	}
	d.lab = l
	if err := ctx.Err(); err != nil {
		return errors.New("interrupted")
	}

	key, err := os.ReadFile(l.KeyFile)
	if err != nil {
		return err
	}
	d.keyFile = filepath.Join(d.env.ConfigDir(), "demo_ed25519")
	if err := d.owner.writeFile(d.keyFile, key, 0o600); err != nil {
		return fmt.Errorf("cannot write the demo's SSH key: %v", err)
	}
	d.newConfig = content == nil
	block := demoBlock(d.pid, demoVM{Host: l.VMAddr, Port: l.SSHPort, User: l.User, Key: d.keyFile, Interface: demoNIC})
	if err := d.owner.writeFile(cfg, withDemoBlock(content, block), 0o600); err != nil {
		return fmt.Errorf("cannot register the demo VM in %s: %v", cfg, err)
	}
	vm, ok := d.findVM()
	if !ok {
		return fmt.Errorf("the demo VM written to %s is not listed by vmdump", cfg)
	}
	if vm.Skip != "" {
		return fmt.Errorf("the demo VM is skipped: %s", vm.Skip)
	}
	d.vm = vm
	// A demo killed before it could clean up may have left the cache.
	if err := d.removeInventory(); err != nil {
		return err
	}

	if d.stopTraffic, err = l.StartHTTP(demoInterval); err != nil {
		return fmt.Errorf("cannot start the containers' traffic: %v", err)
	}
	return nil
}

// findVM is the demo VM as discovery sees it.
func (d *demo) findVM() (vmctl.VM, bool) {
	for _, vm := range discover.Discover(d.env) {
		if vm.Manager == "config" && vm.Name == demoName {
			return vm, true
		}
	}
	return vmctl.VM{}, false
}

// removeStaleEntries drops the config entries of demos that died without
// cleaning up (killed with SIGKILL, machine rebooted), and refuses to run
// next to a live one: both would be called "demo".
func (d *demo) removeStaleEntries() error {
	cfg := d.configFile()
	content, err := safefile.ReadIfExists(cfg)
	if err != nil || content == nil {
		return err
	}
	var live int
	out, removed := withoutDemoBlocks(content, func(pid int) bool {
		if pid != d.pid && processAlive(pid) {
			live = pid
			return false
		}
		return true
	})
	if live != 0 {
		return fmt.Errorf("another vmdump demo (pid %d) is running: stop it first", live)
	}
	if removed == 0 {
		return nil
	}
	if err := d.owner.writeFile(cfg, out, 0o600); err != nil {
		return err
	}
	return d.forgetHostKey()
}

// forgetHostKey drops the demo VM's pinned host key: every demo VM has a
// new one.
func (d *demo) forgetHostKey() error {
	pin := d.pinFile()
	if _, err := os.Stat(pin); err != nil {
		return nil
	}
	if err := sshconn.ForgetPinnedKey(pin, "config", demoName); err != nil {
		return err
	}
	return d.owner.chown(pin)
}

// removeInventory deletes the inventory cache file of the demo VM (written
// by the captures from it, see probe.SaveInventory): every demo VM is a new
// one, and nothing of the demo is to stay behind.
func (d *demo) removeInventory() error {
	if d.vm.ID == "" {
		return nil
	}
	p := probe.InventoryPath(d.env, d.vm.ID)
	if p == "" {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// stop undoes start, as far as it got: traffic, config entry, pinned key,
// key copy, inventory cache, lab. It tries every step and reports what
// failed.
func (d *demo) stop() error {
	var errs []error
	if d.stopTraffic != nil {
		d.stopTraffic() // its summary, or a request cut off mid-way, does not matter here
		d.stopTraffic = nil
	}
	if cfg := d.configFile(); cfg != "" {
		content, err := safefile.ReadIfExists(cfg)
		if err == nil && content != nil {
			out, n := withoutDemoBlocks(content, func(pid int) bool { return pid == d.pid })
			switch {
			case n > 0 && d.newConfig && len(bytes.TrimSpace(out)) == 0:
				err = os.Remove(cfg)
			case n > 0:
				err = d.owner.writeFile(cfg, out, 0o600)
			}
		}
		errs = append(errs, err)
	}
	errs = append(errs, d.forgetHostKey(), d.removeInventory())
	if d.keyFile != "" {
		if err := os.Remove(d.keyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		d.keyFile = ""
	}
	if d.lab != nil {
		errs = append(errs, d.lab.Close())
		d.lab = nil
	}
	return errors.Join(errs...)
}

// printHowTo tells the user what runs and what to do with it.
func (d *demo) printHowTo(w io.Writer) {
	l := d.lab
	fmt.Fprintf(w, "vmdump demo is running: a stand-in Docker VM (network namespace %s) with sshd at %s,\n", l.Namespace, l.VMAddr)
	fmt.Fprintf(w, "and two containers on its %s: %s asks %s for /orders/<n> over HTTP every %v.\n",
		demoNIC, l.ContainerAddr(1), l.ContainerAddr(2), demoInterval)
	fmt.Fprintf(w, "It is registered as VM %q in %s.\n\n", demoName, d.configFile())
	fmt.Fprintf(w, "  Wireshark: open Wireshark (or press F5 in a running one) and double-click %q\n", capture.DisplayName(d.vm))
	fmt.Fprintf(w, "  tshark:    tshark -i %s -Y http\n\n", d.vm.ID)
	if note := d.installNote(); note != "" {
		fmt.Fprintf(w, "%s\n\n", note)
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop: the VM, its traffic and the config entry are removed.")
}

// installNote says how to install vmdump when the owner's Wireshark
// folders have no copy yet; "" when one is there.
func (d *demo) installNote() string {
	ienv := install.Env{GOOS: runtime.GOOS, Home: d.owner.home, Getenv: d.env.Getenv}
	ts, err := install.Targets(ienv)
	if err == nil && len(install.CopiesIn(runtime.GOOS, ts, "")) > 0 {
		return ""
	}
	as := ""
	if d.owner.viaSudo {
		as = " as " + d.owner.name
	}
	return "vmdump is not in Wireshark's extcap folder yet: first run `vmdump install`" + as + "."
}

// demoOwnerFrom finds the account the demo is for: the user behind sudo
// (SUDO_UID), whose Wireshark should list the demo VM, or else root itself.
func demoOwnerFrom(getenv func(string) string, lookupID func(string) (*user.User, error)) (demoOwner, error) {
	uid := getenv("SUDO_UID")
	if uid == "" || uid == "0" {
		home := getenv("HOME")
		if home == "" {
			return demoOwner{}, errors.New("HOME is not set: set it and retry")
		}
		return demoOwner{home: home, name: "root"}, nil
	}
	u, err := lookupID(uid)
	if err != nil {
		return demoOwner{}, fmt.Errorf("cannot find the sudo user %s: %v", uid, err)
	}
	n, err := strconv.Atoi(uid)
	if err != nil {
		return demoOwner{}, fmt.Errorf("SUDO_UID %q is not a number", uid)
	}
	gid, err := strconv.Atoi(getenv("SUDO_GID"))
	if err != nil {
		if gid, err = strconv.Atoi(u.Gid); err != nil {
			return demoOwner{}, fmt.Errorf("cannot find the group of sudo user %s", u.Username)
		}
	}
	if u.HomeDir == "" {
		return demoOwner{}, fmt.Errorf("sudo user %s has no home folder", u.Username)
	}
	return demoOwner{uid: n, gid: gid, home: u.HomeDir, name: u.Username, viaSudo: true}, nil
}

// processAlive reports whether pid runs (signal 0 reaches it).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
