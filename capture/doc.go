// Package capture runs one capture from start to stop: dial the VM, probe
// it, install tcpdump if asked, start one remote capture per NIC over the
// connection, take the inventory beside their start, pump them all into
// one pcapng stream, and on link loss reconnect into the same stream with
// backoff. It also names what Wireshark lists (Targets: a VM and its NICs
// from the cached inventory) and resolves a listed name back (Resolve).
//
// It takes plain Options and tells a Notifier what it does; it knows
// nothing of Wireshark's protocol (it never imports extcap): the binary's
// capture action opens the FIFO, the toolbar and the signals, and maps the
// dialog's options onto Options.
package capture
