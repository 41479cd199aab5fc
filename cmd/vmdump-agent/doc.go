// Command vmdump-agent is vmdump's capture program for VMs without tcpdump
// (a minikube ISO, a read-only image): vmdump uploads a static build of it
// over the SSH session, runs it inside the same wrapper as tcpdump, and the
// wrapper removes it when the capture ends.
//
// It does the subset of tcpdump the wrapper uses, and nothing else:
//
//	vmdump-agent [-netns /proc/PID/ns/net [-netns-link net:[N]]] -i IFACE [-s SNAPLEN] [-f PROGRAM | -F FILE] [-e]
//	vmdump-agent -version
//
// With -netns it captures inside that network namespace (a container's):
// it joins it (setns) before it opens its packet socket, which then
// belongs to it. With -netns-link the namespace opened must be net:[N]
// (the process was not replaced since vmdump looked); a namespace that is
// gone or another one ends it with status 75 and "netns gone" on stderr.
// IFACE "any" captures every Ethernet and loopback interface (of the
// namespace) at once, in the same Ethernet stream.
//
// PROGRAM is classic BPF as `tcpdump -ddd` prints it: the instruction count,
// then one "code jt jf k" per instruction, separated by newlines or commas
// (a program passed as one argument has no newline, which some login
// shells refuse inside quotes). vmdump compiles the capture filter on its
// own machine: the VM needs no libpcap.
//
// It writes a pcap stream (Ethernet link type, microsecond kernel
// timestamps) to stdout, one write per packet like `tcpdump -U`, and on
// exit tcpdump's statistics lines on stderr, which vmdump parses the same
// way. It ends on SIGTERM/SIGINT/SIGHUP (statistics, exit 0), dies with
// SIGPIPE when stdout's reader is gone, dies with its parent (the wrapper)
// and, with -e, ends at stdin EOF.
//
// Only x/sys/unix, no gopacket and no fmt: the binary ships inside vmdump
// twice (amd64, arm64) and crosses the SSH link for every capture.
package main
