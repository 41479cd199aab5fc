package capture

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// captureResult is how a multi-interface capture ended.
type captureResult struct {
	pumpErr   error // the pcap streams (or Wireshark's end of them)
	remoteErr error // the remote side: why a tcpdump ended by itself
}

// joinNames lists interface names for a status line: "eth0, eth1".
func joinNames(names []string) string { return strings.Join(names, ", ") }

// runCaptures runs one tcpdump per spec over conn and pumps them all into
// w, one interface block per spec, until ctx ends, the link dies or every
// stream ended. An interface whose capture ends by itself (its container
// stopped) is reported on the toolbar while the others go on; how the last
// one ended is the result, for the caller to report. At the end each
// interface gets one statistics block with tcpdump's received and
// kernel-dropped counts (Wireshark shows drops only for an interface with
// exactly one). Those reach the file when vmdump ends first (Wireshark's
// Stop button, or the VM ending the capture); tshark's own stop ends
// dumpcap before vmdump. what says what is captured, for the status line
// ("": the interfaces' names). describe gives the interface blocks once
// the captures have started, so that the caller can take the VM's
// inventory beside their start.
func runCaptures(ctx context.Context, conn *sshconn.Conn, probe probe.Probe, specs []remotecap.CaptureSpec, describe func() []pcapng.NIC,
	w *pcapng.Writer, n Notifier, vmName, what, why string, log *slog.Logger, readerGone func(error) bool) (captureResult, error) {
	if readerGone == nil {
		readerGone = func(error) bool { return false }
	}
	remotes, err := remotecap.StartAll(ctx, conn, specs, probe)
	if err != nil {
		return captureResult{}, err
	}
	start := time.Now()
	if what == "" {
		what = joinNames(specNames(specs))
	}
	msg := fmt.Sprintf("capturing %s on %s", what, vmName)
	if why != "" {
		msg += " (" + why + ")"
	}
	n.Status(msg)
	n.Log(msg)

	var stopOnce sync.Once
	var stopping atomic.Bool
	stopAll := func() {
		stopping.Store(true)
		stopOnce.Do(func() {
			var wg sync.WaitGroup
			for _, r := range remotes {
				wg.Add(1)
				go func(r *remotecap.RemoteCapture) { defer wg.Done(); r.Stop() }(r)
			}
			wg.Wait()
		})
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-conn.Dead():
		case <-done:
			return
		}
		stopAll()
	}()

	srcs := make([]io.Reader, len(remotes))
	for i, r := range remotes {
		srcs[i] = r.Stdout()
	}
	var errMu sync.Mutex
	remoteErrs := make([]error, len(remotes))
	var running atomic.Int32
	running.Store(int32(len(remotes)))
	results, pumpErr := pcapng.PumpAll(w, srcs, describe(), func(i int, r pcapng.NICResult) {
		last := running.Add(-1) == 0
		if readerGone(r.Err) {
			go stopAll() // Wireshark stopped reading: everything ends
			return
		}
		if ctx.Err() != nil || stopping.Load() || last {
			return // the end of the whole capture: its caller reports
		}
		// One interface's stream ended while the others go on: its
		// tcpdump ended by itself (a container stopped), or its stream
		// broke, and then tcpdump may still run: Wait would wait for it.
		remotes[i].Stop()
		err := remotes[i].Wait()
		if err == nil {
			err = r.Err
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", specs[i].Interface, err)
			errMu.Lock()
			remoteErrs[i] = err
			errMu.Unlock()
			n.Error(oneline.Clip(oneline.Err(err), 200))
			n.Log(oneline.Clip(oneline.Err(err), 200))
		}
	})
	stopAll()
	end := time.Now()
	var res captureResult
	res.pumpErr = pumpErr
	for i, r := range remotes {
		err := r.Wait()
		errMu.Lock()
		if remoteErrs[i] != nil {
			err = remoteErrs[i]
		} else if err != nil && len(remotes) > 1 {
			err = fmt.Errorf("%s: %w", specs[i].Interface, err)
		}
		errMu.Unlock()
		if res.remoteErr == nil {
			res.remoteErr = err
		}
		st := r.Stats()
		if !st.Valid {
			continue
		}
		// The counts go to the log first: when tshark stops a capture it
		// stops dumpcap before vmdump, so the FIFO is closed already and
		// the statistics block cannot be written.
		n.Log(fmt.Sprintf("%s: %d packets received by tcpdump, %d dropped by the kernel", specs[i].Interface, st.Received, st.Dropped))
		if results == nil || results[i].Interface < 0 {
			continue
		}
		if err := w.WriteStats(results[i].Interface, st.Received, st.Dropped, start, end); err != nil {
			log.Debug("statistics not written", "interface", specs[i].Interface, "err", err)
		}
	}
	if ferr := w.Flush(); res.pumpErr == nil {
		res.pumpErr = ferr
	}
	return res, nil
}
