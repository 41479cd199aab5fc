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
	"strings"
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
	return runExtcap(argv, stdout, stderr)
}
