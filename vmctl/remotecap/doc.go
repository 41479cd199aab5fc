// Package remotecap runs the capture on the VM: the POSIX sh wrapper around
// tcpdump (or vmdump's uploaded capture agent) that ends it when the
// channel closes or the heartbeat stops, the capture filter (payload only,
// vmdump's own session excluded), the pcap marker and statistics read back,
// the one-line remote errors, and installing tcpdump with the VM's package
// manager. A capture can also run inside a container's network namespace
// (CaptureSpec.Netns: nsenter, or the agent's own setns), and ends with
// ErrNetnsGone when the container does. Every value reaches the VM as a
// quoted word (internal/shquote).
package remotecap
