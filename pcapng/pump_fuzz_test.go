package pcapng

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/pcaptest"
)

// FuzzPump feeds garbage to Pump: it must never panic, never allocate by a
// length it read (the output stays proportional to the input), return one
// line errors, and leave valid pcapng holding exactly the packets it counted.
// Seeds: testdata/fuzz/FuzzPump (valid pcap, truncated header, wrong magic,
// banner text, absurd caplen, mid-packet EOF, ...).
func FuzzPump(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		st, err := Pump(NewWriter(&out, "vmdump fuzz"), bytes.NewReader(in), testNIC)
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
		if out.Len() > 2*len(in)+1024 {
			t.Errorf("%d bytes out of %d in", out.Len(), len(in))
		}
		ng, perr := pcaptest.ParsePcapng(out.Bytes())
		if perr != nil {
			t.Fatalf("output is not valid pcapng (Pump error %v): %v", err, perr)
		}
		if uint64(len(ng.Packets)) != st.Packets {
			t.Errorf("%d packets written, Stats says %d", len(ng.Packets), st.Packets)
		}
	})
}

// The named seeds are what their names say.
func TestPumpSeedCorpus(t *testing.T) {
	want := map[string]string{
		"valid_pcap":                 "",
		"valid_pcap_bigendian_nanos": "",
		"valid_sll2":                 "",
		"header_only":                "",
		"truncated_header":           "remote capture stream ended inside the pcap header",
		"wrong_magic":                "remote side sent pcapng; vmdump needs classic pcap (tcpdump -w -)",
		"gzip":                       "remote side sent data that is not pcap (it starts with 1f 8b 08 00)",
		"banner_text":                `remote side sent text instead of pcap: "Welcome to Ubuntu 22.04 LTS"`,
		"sudo_text":                  `remote side sent text instead of pcap: "sudo: a password is required"`,
		"absurd_caplen":              "remote capture stream is corrupt: a packet claims 4294967280 captured bytes (at most 262144)",
		"caplen_above_orig":          "remote capture stream is corrupt: a packet claims 100 captured of 60 bytes",
		"mid_packet_eof":             "capture stream ended mid-packet",
		"mid_record_header_eof":      "capture stream ended mid-packet",
		"version_2_2":                "remote side sent pcap version 2.2; only 2.4 is supported",
		"empty":                      "remote capture ended before sending any data",
	}
	for name, wantErr := range want {
		raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzPump", name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		lit, ok := strings.CutPrefix(lines[len(lines)-1], "[]byte(")
		in, uerr := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		if !ok || uerr != nil {
			t.Fatalf("%s: not a corpus file: %v", name, uerr)
		}
		_, err = Pump(NewWriter(io.Discard, "x"), strings.NewReader(in), testNIC)
		if pcaptest.ErrText(err) != wantErr {
			t.Errorf("seed %s: error %q, want %q", name, pcaptest.ErrText(err), wantErr)
		}
	}
}
