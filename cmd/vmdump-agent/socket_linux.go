//go:build linux

package main

import (
	"encoding/binary"
	"io"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// capture is a packet socket bound to one interface.
type capture struct {
	fd       int
	loopback bool
	// any: every interface (iface "any"), as tcpdump -i any but with
	// Ethernet framing: packets of interfaces that are neither Ethernet
	// nor loopback are skipped, as are loopback's duplicates.
	any   bool
	total unix.TpacketStats // PACKET_STATISTICS resets on read: summed here
}

// openCapture opens AF_PACKET/SOCK_RAW for iface with prog attached.
//
// The socket is created with protocol 0, which receives nothing, and only
// bound to ETH_P_ALL after the filter is attached (libpcap does the same):
// no packet can be queued before the filter is in place, so no unfiltered
// packet slips into the stream and nothing needs draining.
func openCapture(iface string, prog []insn) (*capture, error) {
	if len(iface) >= unix.IFNAMSIZ {
		return nil, errString(iface + ": no such device (name too long)")
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, errString("packet socket: " + err.Error())
	}
	c := &capture{fd: fd}
	if err := c.setup(iface, prog); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *capture) setup(iface string, prog []insn) error {
	if iface == "any" {
		c.any = true
		return c.setupSocket(0, prog)
	}
	ifr, err := unix.NewIfreq(iface)
	if err != nil {
		return errString(iface + ": " + err.Error())
	}
	if err := unix.IoctlIfreq(c.fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return errString(iface + ": " + err.Error())
	}
	switch hw := ifr.Uint16(); hw {
	case unix.ARPHRD_ETHER:
	case unix.ARPHRD_LOOPBACK:
		c.loopback = true
	default:
		return errString(iface + ": not an Ethernet interface (ARPHRD " + itoa(int(hw)) + "); the capture agent captures Ethernet only: install tcpdump in the VM")
	}
	ifr, _ = unix.NewIfreq(iface)
	if err := unix.IoctlIfreq(c.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return errString(iface + ": " + err.Error())
	}
	index := int(ifr.Uint32())
	if err := c.setupSocket(index, prog); err != nil {
		if _, ok := err.(bindError); ok {
			return errString(iface + ": " + err.Error())
		}
		return err
	}
	// Promiscuous like tcpdump without -p; the kernel drops the membership
	// with the socket.
	mr := unix.PacketMreq{Ifindex: int32(index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(c.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
		return errString(iface + ": promiscuous mode: " + err.Error())
	}
	return nil
}

// bindError is a failure to bind the socket to its interface.
type bindError string

func (e bindError) Error() string { return string(e) }

// setupSocket attaches prog and the socket options, then binds to the
// interface of index (0: every interface).
func (c *capture) setupSocket(index int, prog []insn) error {
	if len(prog) > 0 {
		f := make([]unix.SockFilter, len(prog))
		for i, in := range prog {
			f[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
		}
		fp := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
		if err := unix.SetsockoptSockFprog(c.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
			return errString("attaching the filter: " + err.Error())
		}
	}
	// Kernel receive timestamps; the original length and a stripped VLAN
	// tag from PACKET_AUXDATA; a 16 MiB queue for bursts (tcpdump -B 16384).
	if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_TIMESTAMP, 1); err != nil {
		return errString("SO_TIMESTAMP: " + err.Error())
	}
	if err := unix.SetsockoptInt(c.fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return errString("PACKET_AUXDATA: " + err.Error())
	}
	if unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20) != nil {
		_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 16<<20)
	}
	// A receive that wakes up four times a second to look at the stop
	// flag: simpler than a poller, and the cost is nil.
	tv := unix.Timeval{Usec: 250000}
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return errString("SO_RCVTIMEO: " + err.Error())
	}
	if err := unix.Bind(c.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: index}); err != nil {
		return bindError(err.Error())
	}
	return nil
}

// loop writes one pcap record per packet to w until stop is set or a
// write fails; it returns the number of packets written.
func (c *capture) loop(snaplen int, stop *atomic.Bool, w io.Writer) (uint64, error) {
	const vlanRoom = 4
	buf := make([]byte, 16+vlanRoom+snaplen)
	oob := make([]byte, 256)
	var captured uint64
	for !stop.Load() {
		pkt := buf[16+vlanRoom:]
		n, oobn, _, from, err := unix.Recvmsg(c.fd, pkt, oob, unix.MSG_TRUNC)
		if err != nil {
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			return captured, errString("receive: " + err.Error())
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			lo := c.loopback || c.any && ll.Hatype == unix.ARPHRD_LOOPBACK
			if lo && ll.Pkttype == unix.PACKET_OUTGOING {
				continue // loopback shows each packet twice; libpcap drops this copy
			}
			if c.any && ll.Hatype != unix.ARPHRD_ETHER && ll.Hatype != unix.ARPHRD_LOOPBACK {
				continue // not Ethernet-framed: would be garbage in an EN10MB stream
			}
		}
		caplen := min(n, len(pkt))
		origlen := n
		var sec, usec int64
		var aux *unix.TpacketAuxdata
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				switch {
				case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMP && len(m.Data) >= int(unsafe.Sizeof(unix.Timeval{})):
					tv := (*unix.Timeval)(unsafe.Pointer(&m.Data[0]))
					sec, usec = int64(tv.Sec), int64(tv.Usec)
				case m.Header.Level == unix.SOL_PACKET && m.Header.Type == unix.PACKET_AUXDATA && len(m.Data) >= int(unsafe.Sizeof(unix.TpacketAuxdata{})):
					aux = (*unix.TpacketAuxdata)(unsafe.Pointer(&m.Data[0]))
				}
			}
		}
		start := 16 + vlanRoom
		if aux != nil {
			origlen = int(aux.Len)
			// The kernel strips an offloaded VLAN tag; put it back where
			// it was on the wire, as libpcap does.
			if aux.Status&unix.TP_STATUS_VLAN_VALID != 0 && caplen >= 12 {
				tpid := uint16(unix.ETH_P_8021Q)
				if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
					tpid = aux.Vlan_tpid
				}
				copy(buf[16:16+12], pkt[:12])
				binary.BigEndian.PutUint16(buf[16+12:], tpid)
				binary.BigEndian.PutUint16(buf[16+14:], aux.Vlan_tci)
				start = 16
				caplen += vlanRoom
				origlen += vlanRoom
			}
		}
		if sec == 0 && usec == 0 {
			var tv unix.Timeval
			_ = unix.Gettimeofday(&tv)
			sec, usec = int64(tv.Sec), int64(tv.Usec)
		}
		caplen = min(caplen, snaplen)
		origlen = max(origlen, caplen)
		rec := buf[start-16 : start+caplen]
		putRecordHeader(rec, sec, usec, caplen, origlen)
		if _, err := w.Write(rec); err != nil {
			return captured, errString("writing to stdout: " + err.Error())
		}
		captured++
	}
	return captured, nil
}

// stats sums PACKET_STATISTICS: tp_packets is what passed the filter
// (drops included), tp_drops what the full queue lost.
func (c *capture) stats() unix.TpacketStats {
	if st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		c.total.Packets += st.Packets
		c.total.Drops += st.Drops
	}
	return c.total
}

func (c *capture) close() { _ = unix.Close(c.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
