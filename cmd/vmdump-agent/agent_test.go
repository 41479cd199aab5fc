package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func TestParseProgram(t *testing.T) {
	want := []insn{{40, 0, 0, 12}, {21, 0, 1, 2048}, {6, 0, 0, 262144}, {6, 0, 0, 0}}
	for _, text := range []string{
		"4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n", // tcpdump -ddd
		"4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0",       // as vmdump passes it
		" 4 ,\r\n40 0 0 12 ,21  0 1 2048,\n6 0 0 262144,6 0 0 0,",
	} {
		got, err := parseProgram(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %v", text, got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%q: insn %d = %v, want %v", text, i, got[i], want[i])
			}
		}
	}
	for _, bad := range []string{"", "0", "2,6 0 0 1", "1,6 0 0", "1,6 0 0 1 2", "1,65536 0 0 1", "1,6 256 0 1", "1,6 0 0 4294967296", "1,6 0 0 -1", "x,6 0 0 1", "4097"} {
		if _, err := parseProgram(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPcapHeaderAndRecord(t *testing.T) {
	h := pcapHeader(1500)
	want := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xdc, 0x05, 0, 0, 1, 0, 0, 0}
	if !bytes.Equal(h, want) {
		t.Errorf("header % x", h)
	}
	rec := make([]byte, 16)
	putRecordHeader(rec, 1700000000, 999999, 60, 1514)
	for i, v := range []uint32{1700000000, 999999, 60, 1514} {
		if got := binary.LittleEndian.Uint32(rec[4*i:]); got != v {
			t.Errorf("field %d = %d, want %d", i, got, v)
		}
	}
}

func TestParseArgs(t *testing.T) {
	o, err := parseArgs([]string{"-i", "veth1", "-s", "0", "-f", "1,6 0 0 1", "-e"})
	if err != nil || o.iface != "veth1" || o.snaplen != defaultSnaplen || o.program != "1,6 0 0 1" || !o.stdinEOF {
		t.Errorf("%+v %v", o, err)
	}
	file := filepath.Join(t.TempDir(), "prog")
	os.WriteFile(file, []byte("1\n6 0 0 96\n"), 0o600)
	if o, err := parseArgs([]string{"-s", "96", "-F", file, "-i", "lo"}); err != nil || o.snaplen != 96 || o.program != "1\n6 0 0 96\n" {
		t.Errorf("%+v %v", o, err)
	}
	if o, err := parseArgs([]string{"-version"}); err != nil || !o.version {
		t.Errorf("%+v %v", o, err)
	}
	o, err = parseArgs([]string{"-netns", "/proc/42/ns/net", "-netns-link", "net:[4026532198]", "-i", "any"})
	if err != nil || o.netns != "/proc/42/ns/net" || o.netnsLink != "net:[4026532198]" || o.iface != "any" {
		t.Errorf("netns: %+v %v", o, err)
	}
	for _, bad := range [][]string{{"-i", "eth0", "-netns-link", "net:[1]"}, {"-i", "eth0", "-netns", "/proc/1/ns/net", "-netns-link", "net:[1]; rm -rf /"}, {"-i", "eth0", "-netns", "/x", "-netns-link", "net:[]"}, {"-i", "eth0", "-netns"}} {
		if _, err := parseArgs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, bad := range [][]string{{}, {"-i"}, {"-i", "lo", "-s", "x"}, {"-i", "lo", "-s", "300000"}, {"-i", "lo", "-w", "-"}, {"-i", "lo", "-F", "/nonexistent"}} {
		if _, err := parseArgs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
