//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// rssSampler polls the tool's VmHWM (peak resident set) every 100 ms.
type rssSampler struct {
	done  chan struct{}
	quit  chan struct{}
	early int64 // VmHWM at the early mark, KiB
	peak  int64 // last VmHWM seen, KiB
}

func startRSS(pid int, c config) *rssSampler {
	s := &rssSampler{done: make(chan struct{}), quit: make(chan struct{})}
	mark := min(60*time.Second, max(10*time.Second, c.duration/10))
	if c.mode == "drain" {
		mark = 2 * time.Second
	}
	go func() {
		defer close(s.done)
		start := time.Now()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if hwm, ok := vmHWM(pid); ok {
				s.peak = max(s.peak, hwm)
				if s.early == 0 && time.Since(start) >= mark {
					s.early = s.peak
				}
			}
			select {
			case <-s.quit:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends sampling (before the tool is stopped) and returns the early and
// the peak VmHWM in KiB.
func (s *rssSampler) stop() (early, peak int64) {
	close(s.quit)
	<-s.done
	if s.early == 0 {
		s.early = s.peak
	}
	return s.early, s.peak
}

func vmHWM(pid int) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
