//go:build !linux

package main

import "os"

// The agent captures with Linux packet sockets; Docker VMs run Linux. The
// stub keeps `go build ./...` working on every platform vmdump builds for.
func main() {
	os.Stderr.WriteString("vmdump-agent: runs on Linux only\n")
	os.Exit(2)
}
