package remotecap

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vmdump/vmdump/internal/vmtest"
)

// FuzzAfterMarker feeds arbitrary VM output (login banners, sudo messages,
// binary garbage, with or without vmdump's start marker) to the reader that
// skips to the pcap stream: no panic; the stream is exactly what follows the
// first marker; without a marker it is nothing; what it buffers looking for
// the marker is bounded (a clear error past 64 KiB). Seeds:
// testdata/fuzz/FuzzAfterMarker.
func FuzzAfterMarker(f *testing.F) {
	f.Add([]byte(pcapStartMarker + "\xd4\xc3\xb2\xa1"))
	f.Add([]byte(strings.Repeat("banner\n", 12000) + pcapStartMarker + "x"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&afterMarker{r: r, log: vmtest.DiscardLog()})
			i := bytes.Index(in, []byte(pcapStartMarker))
			switch {
			case err != nil:
				if !strings.Contains(err.Error(), "printed more than") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("unexpected error %v", err)
				}
				if i >= 0 && i+len(pcapStartMarker) <= maxPreamble {
					t.Fatalf("marker at %d not found: %v", i, err)
				}
			case i < 0:
				if len(got) != 0 {
					t.Fatalf("no marker, but %d bytes passed on", len(got))
				}
			default:
				if !bytes.Equal(got, in[i+len(pcapStartMarker):]) {
					t.Fatalf("stream after the marker differs: got %d bytes, want %d", len(got), len(in)-i-len(pcapStartMarker))
				}
			}
		}
	})
}
