package remotecap

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vmdump/vmdump/internal/vmtest"
)

func TestCaptureAfterMarker(t *testing.T) {
	pcap := "\xd4\xc3\xb2\xa1rest-of-stream"
	for _, tc := range []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{"plain", pcapStartMarker + pcap, pcap, ""},
		{"login noise", "Welcome!\nlast login: never\n" + pcapStartMarker + pcap, pcap, ""},
		{"marker-like noise", "vmdump-pcap\nvmdump-pcap-star\n" + pcapStartMarker + pcap, pcap, ""},
		{"no marker: failed early", "", "", "EOF"},
		{"noise then EOF", "sudo: a password is required\n", "", "EOF"},
		{"endless noise", strings.Repeat("noise\n", 20000) + pcapStartMarker + pcap, "", "printed more than 64 KiB"},
		{"marker only", pcapStartMarker, "", ""},
	} {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&afterMarker{r: r, log: vmtest.DiscardLog()})
			switch {
			case tc.wantErr == "EOF":
				if err != nil || len(got) != 0 {
					t.Errorf("%s: got %q, %v; want EOF and nothing", tc.name, got, err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
				}
			default:
				if err != nil || !bytes.Equal(got, []byte(tc.want)) {
					t.Errorf("%s (one byte %v): got %q, %v; want %q", tc.name, oneByte, got, err, tc.want)
				}
			}
		}
	}
}

func TestCaptureAfterMarkerPassesReadErrors(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(pcapStartMarker+"abc"), iotest.ErrReader(boom))
	got, err := io.ReadAll(&afterMarker{r: r, log: vmtest.DiscardLog()})
	if string(got) != "abc" || !errors.Is(err, boom) {
		t.Errorf("got %q, %v", got, err)
	}
}
