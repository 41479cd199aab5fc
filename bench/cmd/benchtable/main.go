// Command benchtable turns bench/run.sh's raw results into the one table of
// BENCHMARKS.md: medians per figure and tool, and ratios against the
// baseline measured in the same run.
//
// Input: -results, lines "metric<TAB>subject<TAB>value" (fifolat,
// proctime); -gobench, the output of `go test -bench` (P1 in-process, P5).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	results := flag.String("results", "", "raw result lines")
	gobench := flag.String("gobench", "", "go test -bench output (optional)")
	flag.Parse()
	if *results == "" {
		flag.Usage()
		os.Exit(2)
	}
	s := samples{}
	if err := s.readResults(*results); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if *gobench != "" {
		if err := s.readGoBench(*gobench); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
	writeTable(os.Stdout, s)
}

// samples maps "metric\x00subject" to its values.
type samples map[string][]float64

func (s samples) add(metric, subject string, v float64) {
	k := metric + "\x00" + subject
	s[k] = append(s[k], v)
}

func (s samples) readResults(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != 3 {
			continue
		}
		v, err := strconv.ParseFloat(fs[2], 64)
		if err != nil {
			continue
		}
		s.add(fs[0], fs[1], v)
	}
	return sc.Err()
}

// readGoBench keeps every "value unit" pair of each Benchmark line, as
// metric "go:<unit>" and subject the benchmark's name without the -N suffix.
func (s samples) readGoBench(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		name := fs[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		for i := 2; i+1 < len(fs); i += 2 {
			if v, err := strconv.ParseFloat(fs[i], 64); err == nil {
				s.add("go:"+fs[i+1], name, v)
			}
		}
	}
	return sc.Err()
}

// median of the samples; ok false when there are none.
func (s samples) median(metric, subject string) (float64, int, bool) {
	v := slices.Clone(s[metric+"\x00"+subject])
	if len(v) == 0 {
		return 0, 0, false
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return m, len(v), true
}

// cell formats a median with its unit and sample count; "—" when missing.
func (s samples) cell(metric, subject, unit string) string {
	m, n, ok := s.median(metric, subject)
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%s %s (n=%d)", num(m), unit, n)
}

// scaled is cell with the median multiplied by f.
func (s samples) scaled(metric, subject string, f float64, unit string) string {
	m, n, ok := s.median(metric, subject)
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%s %s (n=%d)", num(m*f), unit, n)
}

// ratio is median(a)/median(b) as "0.42x"; "—" when either is missing.
func (s samples) ratio(metric, a, b string) (float64, string) {
	x, _, ok1 := s.median(metric, a)
	y, _, ok2 := s.median(metric, b)
	if !ok1 || !ok2 || y == 0 {
		return 0, "—"
	}
	r := x / y
	if r < 0.01 {
		return r, fmt.Sprintf("%.2gx", r)
	}
	return r, fmt.Sprintf("%.2fx", r)
}

func num(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// verdict says whether a goal was met; "?" when the figure is missing.
func verdict(ok, known bool) string {
	switch {
	case !known:
		return "?"
	case ok:
		return "yes"
	default:
		return "**no**"
	}
}

func writeTable(w io.Writer, s samples) {
	fmt.Fprintln(w, "| | what | vmdump | baseline(s), same run | ratio | goal | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	row := func(cells ...string) { fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |") }

	r, rs := s.ratio("p1_ms", "vmdump", "sshdump")
	_, hasP1 := s["p1_ms\x00vmdump"]
	row("P1", "`--extcap-interfaces`, whole process, 12-VM home (as Wireshark runs it: inputs unchanged since the last listing)", s.cell("p1_ms", "vmdump", "ms"),
		"sshdump "+s.cell("p1_ms", "sshdump", "ms")+"; for scale: a Go hello world "+s.cell("p1_ms", "go-hello", "ms")+
			", a Go program with vmdump's libraries doing nothing "+s.cell("p1_ms", "deps-floor", "ms")+
			", vmdump without discovery (`--extcap-dlts`) "+s.cell("p1_ms", "vmdump-dlts", "ms"),
		rs, "≤ 0.5x", verdict(r <= 0.5, hasP1))
	r, rs = s.ratio("p1_ms", "vmdump-cold", "sshdump")
	_, hasCold := s["p1_ms\x00vmdump-cold"]
	_, rf := s.ratio("p1_ms", "deps-floor", "sshdump")
	_, rh := s.ratio("p1_ms", "go-hello", "sshdump")
	row("P1", "the same, first listing after a change (no cache)", s.cell("p1_ms", "vmdump-cold", "ms"),
		"sshdump, same run; the floor's ratio "+rf+", hello world's "+rh, rs, "≤ 0.5x", verdict(r <= 0.5, hasCold))
	row("P1", "same answer in-process (Go benchmark)", s.scaled("go:ns/op", "BenchmarkExtcapInterfaces/answer", 1e-6, "ms"), "—", "—", "—", "—")

	r, rs = s.ratio("p2_ms", "vmdump", "sshdump")
	_, hasP2 := s["p2_ms\x00vmdump"]
	row("P2", "`--capture` start → first packet in the FIFO", s.cell("p2_ms", "vmdump", "ms"),
		"sshdump "+s.cell("p2_ms", "sshdump", "ms")+"; OpenSSH recipe "+s.cell("p2_ms", "openssh", "ms"),
		rs, "≤ 0.45x", verdict(r <= 0.45, hasP2))

	for _, q := range []string{"p50", "p99"} {
		m := "p3_" + q + "_ms"
		_, r1 := s.ratio(m, "vmdump", "sshdump")
		_, r2 := s.ratio(m, "vmdump", "openssh")
		goal, met := "—", "—"
		if q == "p99" {
			v, _, ok := s.median(m, "vmdump")
			goal, met = "≤ 5 ms", verdict(v <= 5, ok)
		}
		row("P3", q+" latency at 10 packets/s (FIFO arrival − capture time)", s.cell(m, "vmdump", "ms"),
			"sshdump "+s.cell(m, "sshdump", "ms")+"; OpenSSH recipe "+s.cell(m, "openssh", "ms"),
			r1+" / "+r2, goal, met)
	}

	r, rs = s.ratio("p4_mbps", "vmdump", "openssh")
	_, rsGCM := s.ratio("p4_mbps", "vmdump", "openssh-aes128gcm")
	_, hasP4 := s["p4_mbps\x00vmdump"]
	row("P4", "bulk: pcap file through the hook into a FIFO", s.cell("p4_mbps", "vmdump", "MB/s"),
		"`ssh vm cat file` "+s.cell("p4_mbps", "openssh", "MB/s")+"; same with `-c aes128-gcm` "+s.cell("p4_mbps", "openssh-aes128gcm", "MB/s"),
		rs+" (vs aes128-gcm "+rsGCM+")", "≥ 0.9x (≥ 1.0x)", verdict(r >= 0.9, hasP4)+stretch(r >= 1.0 && hasP4))

	_, rsCPU := s.ratio("p4_cpu_ms_per_mb", "vmdump", "openssh")
	_, rsCPUGCM := s.ratio("p4_cpu_ms_per_mb", "vmdump", "openssh-aes128gcm")
	row("P4", "the same: client CPU time (user+system) per MB", s.cell("p4_cpu_ms_per_mb", "vmdump", "ms/MB"),
		"ssh "+s.cell("p4_cpu_ms_per_mb", "openssh", "ms/MB")+"; ssh `-c aes128-gcm` "+s.cell("p4_cpu_ms_per_mb", "openssh-aes128gcm", "ms/MB"),
		rsCPU+" (vs aes128-gcm "+rsCPUGCM+")", "—", "—")

	for _, size := range []string{"64B", "1500B"} {
		pump := "BenchmarkPump/" + size
		pps, _, ok := s.median("go:pkts/s", pump)
		allocs, _, okA := s.median("go:allocs/op", pump)
		_, rs := s.ratio("go:pkts/s", pump, "BenchmarkIOCopy/"+size)
		goal, met := "—", "—"
		if size == "64B" {
			goal, met = "≥ 3 M packets/s, 0 allocs/packet", verdict(pps >= 3e6 && allocs == 0, ok && okA)
		}
		row("P5", "pcap→pcapng rewrite, one core, "+size+" packets", s.cell("go:pkts/s", pump, "packets/s")+", "+s.cell("go:allocs/op", pump, "allocs/packet"),
			"`io.Copy` of the same bytes "+s.cell("go:pkts/s", "BenchmarkIOCopy/"+size, "packets/s"), rs, goal, met)
	}

	p4rss, _, ok4 := s.median("p4_rss_peak_mb", "vmdump")
	row("P6", "peak RSS (VmHWM) during P4", s.cell("p4_rss_peak_mb", "vmdump", "MB"), "—", "—", "≤ 40 MB", verdict(p4rss <= 40, ok4))
	peak, _, ok6 := s.median("p6_rss_peak_mb", "vmdump")
	early, _, _ := s.median("p6_rss_early_mb", "vmdump")
	what := "peak RSS during a long capture (not run)"
	if dur, _, ok := s.median("p6_minutes", "vmdump"); ok {
		what = fmt.Sprintf("peak RSS during a %s-minute capture (after the first tenth → end)", num(dur))
	}
	row("P6", what,
		s.cell("p6_rss_early_mb", "vmdump", "MB")+" → "+s.cell("p6_rss_peak_mb", "vmdump", "MB"), "—", "—", "≤ 40 MB, flat",
		verdict(peak <= 40 && peak-early <= 2, ok6))

	writeP7(row, s)
}

// writeP7 is P7's rows: `tshark -D` with vmdump installed against the same
// without it, and one extcap call of vmdump against sshdump's.
func writeP7(row func(...string), s samples) {
	base, _, okBase := s.median("p7_tshark_ms", "base")
	runs := func(home string) string {
		e, _, ok := s.median("p7_execs", home)
		c, _, _ := s.median("p7_configs", home)
		if !ok {
			return "?"
		}
		return fmt.Sprintf("%.0f (%.0f with `--extcap-config`)", e, c)
	}
	v12, _, ok12 := s.median("p7_tshark_ms", "vms12")
	added, addedTxt := 0.0, "—"
	if ok12 && okBase && base > 0 {
		added = v12/base - 1
		addedTxt = fmt.Sprintf("%+.0f%%", 100*added)
	}
	row("P7", "`tshark -D`, whole process: 12 VMs, 60 NIC and container interfaces (cached inventories); runs of vmdump: "+runs("vms12"),
		s.cell("p7_tshark_ms", "vms12", "ms"), "the same without vmdump "+s.cell("p7_tshark_ms", "base", "ms"),
		addedTxt, "≤ +15%", verdict(added <= 0.15, ok12 && okBase))
	for _, short := range []struct{ home, what string }{
		{"vms12-containers", "VMs and containers (42 interfaces)"},
		{"vms12-vms", "VMs only (12 interfaces)"},
	} {
		v, _, ok := s.median("p7_tshark_ms", short.home)
		a, txt := 0.0, "—"
		if ok && okBase && base > 0 {
			a = v/base - 1
			txt = fmt.Sprintf("%+.0f%%", 100*a)
		}
		row("P7", "the same 12-VM home, config.toml `list_interfaces` listing "+short.what+"; runs of vmdump: "+runs(short.home),
			s.cell("p7_tshark_ms", short.home, "ms"), "the same without vmdump "+s.cell("p7_tshark_ms", "base", "ms"),
			txt, "≤ +15%", verdict(a <= 0.15, ok && okBase))
	}
	v300, _, ok300 := s.median("p7_tshark_ms", "c300")
	diff, diffTxt := 0.0, "—"
	if ok300 && okBase {
		diff = (v300 - base) / 1000
		diffTxt = fmt.Sprintf("%+.2f s", diff)
	}
	row("P7", "the same: one VM running 300 containers; runs of vmdump: "+runs("c300"),
		s.cell("p7_tshark_ms", "c300", "ms"), "the same without vmdump "+s.cell("p7_tshark_ms", "base", "ms"),
		diffTxt, "≤ +0.25 s", verdict(diff <= 0.25, ok300 && okBase))
	// The floors: the same answers from an extcap that does nothing else.
	addedTo := func(home string) string {
		v, _, ok := s.median("p7_tshark_ms", home)
		if !ok || !okBase || base == 0 {
			return "—"
		}
		return fmt.Sprintf("%+.0f%% / %+.2f s", 100*(v/base-1), (v-base)/1000)
	}
	row("P7", "where it goes: `tshark -D` with vmdump's answers replayed by an extcap doing nothing else (Wireshark's own cost of the interfaces)",
		"12-VM home "+s.cell("p7_tshark_ms", "floor12", "ms")+"; 300-container home "+s.cell("p7_tshark_ms", "floor300", "ms"),
		"the same without vmdump "+s.cell("p7_tshark_ms", "base", "ms")+"; vmdump's own share: with vmdump / replayed "+
			ratioTxt(s, "p7_tshark_ms", "vms12", "floor12")+" (12 VMs), "+ratioTxt(s, "p7_tshark_ms", "c300", "floor300")+" (300 containers)",
		addedTo("floor12")+"; "+addedTo("floor300"), "—", "—")
	row("P7", "the same, 12-VM home, every `--extcap-config` answer empty (the cost of the number of interfaces alone)",
		s.cell("p7_tshark_ms", "floor12-empty", "ms"), "the same without vmdump "+s.cell("p7_tshark_ms", "base", "ms"),
		addedTo("floor12-empty"), "—", "—")
	_, r := s.ratio("p7_call_ms", "vmdump-interfaces", "sshdump-interfaces")
	row("P7", "one `--extcap-interfaces`, whole process, 12-VM home", s.cell("p7_call_ms", "vmdump-interfaces", "ms"),
		"sshdump "+s.cell("p7_call_ms", "sshdump-interfaces", "ms")+"; vmdump in the 300-container home "+
			s.cell("p7_call_ms", "vmdump-interfaces-c300", "ms"), r, "—", "—")
	_, r = s.ratio("p7_call_ms", "vmdump-config", "sshdump-config")
	_, rVM := s.ratio("p7_call_ms", "vmdump-config-c300-vm", "sshdump-config")
	_, rNIC := s.ratio("p7_call_ms", "vmdump-config-c300-nic", "sshdump-config")
	row("P7", "one `--extcap-config`, whole process: a container's interface, 12-VM home", s.cell("p7_call_ms", "vmdump-config", "ms"),
		"sshdump "+s.cell("p7_call_ms", "sshdump-config", "ms")+"; vmdump in the 300-container home: the VM's interface (300 in the Container selector) "+
			s.cell("p7_call_ms", "vmdump-config-c300-vm", "ms")+" ("+rVM+"), a NIC's "+s.cell("p7_call_ms", "vmdump-config-c300-nic", "ms")+" ("+rNIC+")",
		r, "—", "—")
	_, rh := s.ratio("p7_call_ms", "go-hello", "sshdump-config")
	_, rd := s.ratio("p7_call_ms", "vmdump-dlts", "sshdump-config")
	row("P7", "for scale, whole process: a Go hello world; vmdump without discovery (`--extcap-dlts`)",
		s.cell("p7_call_ms", "go-hello", "ms")+"; "+s.cell("p7_call_ms", "vmdump-dlts", "ms"), "sshdump's `--extcap-config` "+s.cell("p7_call_ms", "sshdump-config", "ms"),
		rh+"; "+rd, "—", "—")
}

func ratioTxt(s samples, metric, a, b string) string {
	_, r := s.ratio(metric, a, b)
	return r
}

func stretch(ok bool) string {
	if ok {
		return " (stretch: yes)"
	}
	return ""
}
