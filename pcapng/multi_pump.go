package pcapng

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/google/gopacket"
)

// pumpRecords forwards the packet records of a pcap stream whose header h
// has been read from br, as interface id of dst, until the stream ends: the
// record loop of Pump and PumpAll (PumpAll describes its interfaces itself,
// to keep their order). Flushing and checks: see Pump.
func pumpRecords(dst *Writer, br *bufio.Reader, h pcapHeader, id int) (st Stats, err error) {
	defer func() {
		// Whatever ended the stream, hand Wireshark what arrived before it.
		if ferr := dst.Flush(); err == nil {
			err = ferr
		}
	}()
	var big []byte // for records larger than br's buffer
	for {
		if !recordBuffered(br, h.order) {
			if err := dst.Flush(); err != nil {
				return st, err
			}
		}
		rec, err := br.Peek(recordHeaderLen)
		if len(rec) < recordHeaderLen {
			if len(rec) == 0 && err == io.EOF {
				return st, nil
			}
			return st, readError(err)
		}
		sec, frac := h.order.Uint32(rec[0:4]), h.order.Uint32(rec[4:8])
		caplen, orig := h.order.Uint32(rec[8:12]), h.order.Uint32(rec[12:16])
		if caplen > MaxSnaplen {
			return st, fmt.Errorf("remote capture stream is corrupt: a packet claims %d captured bytes (at most %d)", caplen, MaxSnaplen)
		}
		if caplen > orig {
			return st, fmt.Errorf("remote capture stream is corrupt: a packet claims %d captured of %d bytes", caplen, orig)
		}
		ci := gopacket.CaptureInfo{
			Timestamp:     time.Unix(int64(sec), int64(frac)*h.fracNanos),
			CaptureLength: int(caplen),
			Length:        int(orig),
		}
		size := recordHeaderLen + int(caplen)
		inBuffer := size <= br.Size()
		var data []byte
		if inBuffer {
			whole, err := br.Peek(size)
			if len(whole) < size {
				return st, readError(err)
			}
			data = whole[recordHeaderLen:]
		} else {
			if big == nil {
				big = make([]byte, MaxSnaplen)
			}
			br.Discard(recordHeaderLen)
			data = big[:caplen]
			if _, err := io.ReadFull(br, data); err != nil {
				return st, readError(err)
			}
		}
		if err := dst.WritePacket(id, ci, data); err != nil {
			return st, err
		}
		if inBuffer {
			br.Discard(size) // only now: data pointed into br's buffer
		}
		st.Packets++
		st.Bytes += uint64(caplen)
	}
}

// maxSnaplen is the largest capture length vmdump accepts, both as the
// --snaplen option and for a single packet in the remote stream. It is
// tcpdump's own maximum (MAXIMUM_SNAPLEN).
const MaxSnaplen = 262144
