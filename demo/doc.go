// Package demo is `vmdump demo`: it shows a newcomer a live capture on a
// fresh Linux machine without any Docker VM. It builds the project's
// stand-in VM (internal/lab: a network namespace with the real sshd and
// tcpdump, a docker0 bridge and two container namespaces), makes the
// containers talk HTTP, registers the VM in vmdump's config file so that
// Wireshark and `tshark -D` list it, and removes all of it on Ctrl-C: the
// VM, its traffic, the config entry, the key copy, the pinned host key and
// the VM's inventory cache.
//
// The traffic comes from vmdump itself (Traffic, behind the hidden
// subcommand `vmdump demo-traffic`), so an installed binary needs no Go
// toolchain.
//
// It is a package of its own, rather than part of package main, because it
// is a program of its own in all but name: it needs nothing of the root
// package, only the packages the rest is built from (vmctl, install,
// capture), and it alone in the binary pulls in the test lab. Kept apart,
// it and its tests stay out of the extcap's package. The root's
// commands.go calls Run and Traffic.
//
// The demo runs on Linux only (on other systems Run says so and fails) but
// builds everywhere.
package demo
