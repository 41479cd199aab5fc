package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMedianAndRatio(t *testing.T) {
	s := samples{}
	for _, v := range []float64{5, 1, 3} {
		s.add("p1_ms", "vmdump", v)
	}
	for _, v := range []float64{8, 2, 6, 4} {
		s.add("p1_ms", "sshdump", v)
	}
	if m, n, _ := s.median("p1_ms", "vmdump"); m != 3 || n != 3 {
		t.Errorf("odd median %v (n=%d), want 3", m, n)
	}
	if m, _, _ := s.median("p1_ms", "sshdump"); m != 5 {
		t.Errorf("even median %v, want 5", m)
	}
	if r, txt := s.ratio("p1_ms", "vmdump", "sshdump"); r != 0.6 || txt != "0.60x" {
		t.Errorf("ratio %v %q", r, txt)
	}
	if _, txt := s.ratio("p1_ms", "vmdump", "nobody"); txt != "—" {
		t.Errorf("missing baseline gives %q", txt)
	}
}

func TestReadInputs(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "r.tsv")
	gob := filepath.Join(dir, "g.txt")
	os.WriteFile(res, []byte("p4_mbps\tvmdump\t300\np4_mbps\topenssh\t200\nnot a result\np4_mbps\tvmdump\tNaNx\n"), 0o600)
	os.WriteFile(gob, []byte("goos: linux\nBenchmarkPump/64B-2   \t 100\t 72.0 ns/op\t 1109.7 MB/s\t 13871611 pkts/s\t 0 B/op\t 0 allocs/op\nPASS\n"), 0o600)
	s := samples{}
	if err := s.readResults(res); err != nil {
		t.Fatal(err)
	}
	if err := s.readGoBench(gob); err != nil {
		t.Fatal(err)
	}
	if _, txt := s.ratio("p4_mbps", "vmdump", "openssh"); txt != "1.50x" {
		t.Errorf("P4 ratio %q", txt)
	}
	if v, _, ok := s.median("go:pkts/s", "BenchmarkPump/64B"); !ok || v != 13871611 {
		t.Errorf("pkts/s %v %v", v, ok)
	}
	if v, _, ok := s.median("go:allocs/op", "BenchmarkPump/64B"); !ok || v != 0 {
		t.Errorf("allocs %v %v", v, ok)
	}
	var b strings.Builder
	writeTable(&b, s)
	for _, want := range []string{"| P4 | bulk", "1.50x", "| P5 | pcap→pcapng rewrite, one core, 64B packets", "≥ 3 M packets/s, 0 allocs/packet | yes |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestP7Rows(t *testing.T) {
	s := samples{}
	for _, v := range []float64{200, 210, 190} {
		s.add("p7_tshark_ms", "base", v)
	}
	for _, v := range []float64{220, 224, 240} {
		s.add("p7_tshark_ms", "vms12", v)
	}
	for _, v := range []float64{600, 500, 400} {
		s.add("p7_tshark_ms", "c300", v)
	}
	s.add("p7_execs", "vms12", 73)
	s.add("p7_configs", "vms12", 72)
	s.add("p7_call_ms", "vmdump-config", 3)
	s.add("p7_call_ms", "sshdump-config", 6)
	var b strings.Builder
	writeTable(&b, s)
	for _, want := range []string{
		"runs of vmdump: 73 (72 with `--extcap-config`)",
		"| +12% | ≤ +15% | yes |",
		"| +0.30 s | ≤ +0.25 s | **no** |",
		"| 0.50x |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
