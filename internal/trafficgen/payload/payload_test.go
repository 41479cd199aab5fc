package payload

import (
	"bytes"
	"testing"
	"time"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		size int
		sent time.Time
		seq  uint64
	}{
		{"header only", HeaderLen, time.Unix(0, 1), 0},
		{"typical", 64, time.Unix(1760000000, 123456789), 41},
		{"max seq", 100, time.Unix(5, 0), ^uint64(0)},
		{"before epoch", 32, time.Unix(-10, 7), 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := make([]byte, c.size)
			Encode(msg, c.sent, c.seq)
			sent, seq, ok := Decode(msg)
			if !ok || !sent.Equal(c.sent) || seq != c.seq {
				t.Fatalf("Decode = %v, %d, %v; want %v, %d, true", sent, seq, ok, c.sent, c.seq)
			}
			if fill := msg[HeaderLen:]; !bytes.Equal(fill, bytes.Repeat([]byte{filler}, len(fill))) {
				t.Fatalf("filler = %q", fill)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good := make([]byte, HeaderLen)
	Encode(good, time.Unix(1, 2), 3)
	cases := map[string][]byte{
		"empty":      nil,
		"short":      good[:HeaderLen-1],
		"bad magic":  append([]byte("vmdx"), good[4:]...),
		"other data": []byte("GET / HTTP/1.1\r\nHost: x\r\n"),
	}
	for name, b := range cases {
		if _, _, ok := Decode(b); ok {
			t.Errorf("%s: Decode accepted %q", name, b)
		}
	}
}

func TestEncodePanicsOnShortBuffer(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Encode of a short buffer did not panic")
		}
	}()
	Encode(make([]byte, HeaderLen-1), time.Now(), 0)
}

// FuzzDecode: Decode reads bytes captured off the wire.
func FuzzDecode(f *testing.F) {
	seed := make([]byte, 64)
	Encode(seed, time.Unix(1760000000, 5), 9)
	f.Add(seed)
	f.Add([]byte("vmdt"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		sent, seq, ok := Decode(b)
		if !ok {
			return
		}
		again := make([]byte, HeaderLen)
		Encode(again, sent, seq)
		if !bytes.Equal(again, b[:HeaderLen]) {
			t.Fatalf("re-encoding %x gave %x", b[:HeaderLen], again)
		}
	})
}
