// Package pcapng turns the remote tcpdump's pcap streams into one pcapng
// stream: a section header at once, an interface block per captured NIC
// (named after the VM and the NIC, with the filter that ran and the VM's
// OS), the packets as they arrive (flushed when the input is idle, batched
// under load, no allocation per packet) and a statistics block per NIC at
// the end. It knows no FIFO and no Wireshark: the destination is any
// io.Writer, and a failed write comes back as *WriteError.
package pcapng
