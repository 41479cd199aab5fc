package remotecap

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
)

// pcapStartMarker is the line the capture wrapper prints on stdout right
// before tcpdump starts (see captureScript).
const pcapStartMarker = "vmdump-pcap-start\n"

// maxPreamble bounds what a login script may print before the marker.
const maxPreamble = 64 << 10

// afterMarker reads r from just after pcapStartMarker. A .bashrc that
// echoes something even in non-interactive shells would otherwise put its
// text in front of the pcap header, and the capture would fail with "bad
// magic". EOF before the marker is passed on as EOF: the command failed
// early (no tcpdump, sudo refused), and Wait says why.
type afterMarker struct {
	r     io.Reader
	log   *slog.Logger
	found bool
	buf   []byte
}

func (m *afterMarker) Read(p []byte) (int, error) {
	if !m.found {
		if err := m.findMarker(); err != nil {
			return 0, err
		}
	}
	if len(m.buf) > 0 {
		n := copy(p, m.buf)
		m.buf = m.buf[n:]
		return n, nil
	}
	return m.r.Read(p)
}

func (m *afterMarker) findMarker() error {
	chunk := make([]byte, 4096)
	for {
		if i := bytes.Index(m.buf, []byte(pcapStartMarker)); i >= 0 {
			if i > 0 {
				m.log.Warn("the VM's login shell printed text before the capture started; skipped", "text", string(bytes.TrimSpace(m.buf[:min(i, 200)])))
			}
			m.buf = m.buf[i+len(pcapStartMarker):]
			m.found = true
			return nil
		}
		if len(m.buf) > maxPreamble {
			return &preambleError{}
		}
		n, err := m.r.Read(chunk)
		m.buf = append(m.buf, chunk[:n]...)
		if err != nil && n == 0 {
			return err
		}
	}
}

// preambleError is afterMarker's refusal of a login shell that prints
// without end before the marker.
type preambleError struct{}

func (*preambleError) Error() string {
	return fmt.Sprintf("the VM's login shell printed more than %d KiB before the capture started: make ~/.bashrc or ~/.profile quiet for non-interactive shells", maxPreamble>>10)
}
