// Package probe asks a connected VM, in one round trip, what it has: its
// OS, login user and privilege, tcpdump and the other tools, its NICs and,
// for Docker's veths, the containers on the other end (the inventory). The
// inventory is cached per VM so that Wireshark's interface list can name
// NICs and containers without touching the network.
package probe
