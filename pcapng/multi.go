package pcapng

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// NICResult is how one stream of PumpAll ended.
type NICResult struct {
	Stats
	// Interface is the stream's interface number in the Writer, for
	// WriteStats; -1 when the stream ended before its pcap header, so no
	// interface was described for it.
	Interface int
	// Err is why the stream ended, nil for a clean end at a packet
	// boundary. Errors writing the Writer are *WriteError; IsReaderGone holds when
	// Wireshark went away.
	Err error
}

// headerOrderWait bounds how long a stream whose pcap header arrived waits
// for the streams before it to describe their interfaces. tcpdump writes
// its header as soon as it has opened the interface; a stream that is late
// by more than this only costs the interfaces their order.
const headerOrderWait = 2 * time.Second

// PumpAll copies several remote tcpdump streams (one per VM interface) into
// one pcapng section on dst, one goroutine per stream, and returns when
// every stream has ended. Packets are written as they arrive, so the file
// interleaves the interfaces in arrival order; each packet names its
// interface, which Wireshark shows as frame.interface_name (NIC.Name).
//
// Each interface is described with the link type and snap length of its
// own stream's pcap header. The interfaces are numbered in the order of
// srcs (stream i gets number i when every stream starts), so a stream
// that ends without a header leaves the numbers of the later ones one lower;
// results tell each stream's number.
//
// ended, if not nil, is called from the stream's goroutine as each stream
// ends, for example to stop the other captures when Wireshark went away.
// The returned error is the first failure that is Wireshark's (the FIFO
// closed), else the first stream's failure in srcs order, else nil.
//
// Every stream's data is flushed as soon as its own input runs dry, as with
// Pump.
func PumpAll(dst *Writer, srcs []io.Reader, nics []NIC, ended func(i int, r NICResult)) ([]NICResult, error) {
	if len(srcs) != len(nics) {
		return nil, fmt.Errorf("%d streams but %d interface descriptions", len(srcs), len(nics))
	}
	results := make([]NICResult, len(srcs))
	// turn[i] is closed once stream i has described its interface (or
	// given up on it): stream i+1 waits for it.
	turn := make([]chan struct{}, len(srcs)+1)
	for i := range turn {
		turn[i] = make(chan struct{})
	}
	close(turn[0])
	var wg sync.WaitGroup
	for i := range srcs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := pumpOrdered(dst, srcs[i], nics[i], turn[i], turn[i+1])
			results[i] = r
			if ended != nil {
				ended(i, r)
			}
		}(i)
	}
	wg.Wait()
	var first error
	for _, r := range results {
		var we *WriteError
		if errors.As(r.Err, &we) {
			return results, r.Err
		}
		if first == nil {
			first = r.Err
		}
	}
	return results, first
}

// pumpOrdered is Pump for one of PumpAll's streams: it reads the header,
// waits for its turn (mine) to describe the interface, lets the next stream
// have its turn, then forwards the packets.
func pumpOrdered(dst *Writer, src io.Reader, nic NIC, mine <-chan struct{}, next chan<- struct{}) NICResult {
	res := NICResult{Interface: -1}
	br := bufio.NewReaderSize(src, readerBufferSize)
	h, err := readPcapHeader(br)
	// Also without a header: a later stream must not take this one's
	// number while the ones before it still may describe theirs.
	select {
	case <-mine:
	case <-time.After(headerOrderWait):
	}
	if err == nil {
		br.Discard(pcapHeaderLen)
		res.Interface, err = dst.AddNIC(h.linkType, h.snaplen, nic)
		if err != nil {
			res.Interface = -1
		}
	}
	close(next)
	if err != nil {
		res.Err = err
		return res
	}
	res.Stats, res.Err = pumpRecords(dst, br, h, res.Interface)
	return res
}
