// The Go runtime re-reads the container's CPU limit in a background
// goroutine of its own (Go 1.25's updatemaxprocs); that goroutine costs a
// thread at every start, and Wireshark starts vmdump for every interface
// listing. vmdump's processes are short and never need GOMAXPROCS to follow
// a changing limit. (~0.3 ms of ~3.5 in P1, BENCHMARKS.md.)
//go:debug updatemaxprocs=0

// Command vmdump is a Wireshark extcap that captures, live, from the Docker VMs
// a developer already has (boot2docker, docker-machine, Lima, Colima, Podman
// machine, ... or any host over SSH).
//
// Wireshark runs it with --extcap-* arguments; a person runs it with a
// subcommand (install, list, ...). main only tells the two apart.
package main

import (
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	flags "github.com/jessevdk/go-flags"

	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/extcap"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status so that tests
// can drive every path.
func run(argv []string, stdout, stderr io.Writer) int {
	if len(argv) > 0 && !strings.HasPrefix(argv[0], "-") {
		return runCommand(argv, stdout, stderr)
	}
	if len(argv) == 1 && (argv[0] == "-h" || argv[0] == "--help" || argv[0] == "--version") {
		return runCommand([]string{strings.TrimLeft(argv[0], "-")}, stdout, stderr)
	}
	if len(argv) == 0 {
		return runCommand([]string{"help"}, stdout, stderr)
	}
	// Options that ask Wireshark's extcap side for nothing were typed by a
	// person: a usage error, exit 2, like an unknown command.
	if !asksExtcap(argv) {
		return optionsError(argv, stderr)
	}
	return runExtcap(argv, stdout, stderr)
}

// extcapRequests are the options by which Wireshark asks vmdump for
// something (extcap.Args.Mode): every call of Wireshark's has one.
var extcapRequests = []string{"--extcap-interfaces", "--extcap-config", "--extcap-dlts", "--extcap-capture-filter", "--capture", "--extcap-cleanup-postkill"}

// asksExtcap reports whether argv has one of extcapRequests, alone or with
// "=value": then it is Wireshark's, and extcap's parser has it. It is a
// plain scan, so that Wireshark's calls (every start lists the interfaces)
// do not pay for a second parse.
func asksExtcap(argv []string) bool {
	for _, tok := range argv {
		if tok == "--" {
			break
		}
		name, _, _ := strings.Cut(tok, "=")
		if slices.Contains(extcapRequests, name) {
			return true
		}
	}
	return false
}

// optionsError is the usage error, exit 2, for options that ask Wireshark's
// extcap side for nothing, typed by a person: the first unknown option, a
// known one without its value, or nothing to do.
func optionsError(argv []string, stderr io.Writer) int {
	if opt := unknownOption(argv); opt != "" {
		return usageError(stderr, "unknown option %q; run \"vmdump help\" for the commands", opt)
	}
	if _, err := extcap.ParseArgs(argv, &dialog.Options{}); err != nil {
		return usageError(stderr, "%v; run \"vmdump help\" for the commands", err)
	}
	return usageError(stderr, "nothing to do: no command and no --extcap-* request; run \"vmdump help\" for the commands")
}

// unknownOption is the first option of argv (without any "=value") that
// neither Wireshark's extcap options nor the -h, --help and --version of
// the command line know, skipping the values of known options as
// extcap.ParseArgs does; "" when there is none.
func unknownOption(argv []string) string {
	var a extcap.Args
	p := flags.NewParser(&a, flags.None)
	if _, err := p.AddGroup("options", "", &dialog.Options{}); err != nil {
		return ""
	}
	for i := 0; i < len(argv); i++ {
		tok := argv[i]
		if tok == "--" {
			break
		}
		if !strings.HasPrefix(tok, "-") || tok == "-h" || tok == "--help" || tok == "--version" {
			continue
		}
		name, _, glued := strings.Cut(strings.TrimPrefix(tok, "--"), "=")
		opt := p.FindOptionByLongName(name)
		if !strings.HasPrefix(tok, "--") || opt == nil {
			return strings.SplitN(tok, "=", 2)[0]
		}
		if !glued && opt.Field().Type.Kind() != reflect.Bool && name != "extcap-version" {
			i++ // its value, taken verbatim
		}
	}
	return ""
}
