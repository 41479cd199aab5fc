package extcap_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/pcaptest"
	"github.com/vmdump/vmdump/pcapng"
)

// TestMain lets tshark run this test binary as an extcap (see fakeExtcap).
func TestMain(m *testing.M) {
	if os.Getenv("VMDUMP_TEST_EXTCAP") == "1" {
		os.Exit(fakeExtcap(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const (
	e2eInterface = "vmdumptest"
	e2ePerNIC    = 150
)

// fakeExtcap is a miniature vmdump main built only from this package, with
// canned packets in place of SSH: what main.go will do, minus the VM. Each
// call appends its argv to $VMDUMP_TEST_LOG.
func fakeExtcap(argv []string, stdout, stderr io.Writer) int {
	if log := os.Getenv("VMDUMP_TEST_LOG"); log != "" {
		if f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			json.NewEncoder(f).Encode(argv)
			f.Close()
		}
	}
	var o dialog.Options
	a, err := extcap.ParseArgs(argv, &o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	switch a.Mode() {
	case extcap.ModeInterfaces:
		err = extcap.WriteInterfaces(stdout, "0.0-test", "https://example.org/vmdump", "",
			[]extcap.Interface{{Value: e2eInterface, Display: "vmdump test {VM} eth1"}}, nil)
	case extcap.ModeConfig:
		err = extcap.WriteConfig(stdout, dialog.Args(dialog.Defaults{RemoteInterface: "eth1", User: "docker", Port: 2222}))
	case extcap.ModeReload:
		err = extcap.WriteValues(stdout, dialog.ArgRemoteInterface, dialog.RemoteInterfaceValues(dialog.Defaults{RemoteInterface: "eth1", RemoteInterfaces: []extcap.Value{{Value: "eth0"}}}))
	case extcap.ModeDLTs:
		err = extcap.WriteDLTs(stdout, extcap.EthernetDLT)
	case extcap.ModeFilterCheck:
		problem, known := extcap.CheckFilter(context.Background(), a.CaptureFilter)
		if !known {
			return 1
		}
		if problem != "" {
			fmt.Fprintln(stdout, problem)
		}
	case extcap.ModeCapture:
		return fakeCapture(a, stderr)
	default:
		fmt.Fprintln(stderr, "nothing to do")
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// fakeCapture opens the FIFO first, then pumps two canned NICs into it, or
// fails the way a misconfigured VM does.
func fakeCapture(a extcap.Args, stderr io.Writer) int {
	fifo, err := extcap.OpenFIFO(a.Fifo)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer fifo.Close()
	if err := a.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	w := pcapng.NewWriter(fifo, "vmdump test")
	if os.Getenv("VMDUMP_TEST_FAIL") == "1" {
		_, err := pcapng.Pump(w, strings.NewReader("sudo: a password is required\n"), pcapng.NIC{Name: "default:eth0"})
		fmt.Fprintln(stderr, err)
		return 1
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for n, linkType := range []uint32{1, 276} {
		pkts := make([]pcaptest.TestPacket, e2ePerNIC)
		for i := range pkts {
			data := pcaptest.EthernetFrame(60, byte(i))
			if linkType == 276 {
				data = append(make([]byte, 20), data[14:]...)
				binary.BigEndian.PutUint16(data[0:], 0x0800)
			}
			pkts[i] = pcaptest.TestPacket{Ts: time.Unix(1700000000, int64(i)*1000), Data: data}
		}
		in := pcaptest.PcapBytes(binary.LittleEndian, false, linkType, 262144, pkts)
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			nic := pcapng.NIC{Name: fmt.Sprintf("default:eth%d", n), Description: "Docker VM default eth" + fmt.Sprint(n), Filter: a.CaptureFilter, OS: "Linux"}
			_, errs[n] = pcapng.Pump(w, &pcaptest.SmallReader{B: in, N: 300}, nic)
		}(n)
	}
	wg.Wait()
	for n := range errs {
		if errs[n] != nil {
			fmt.Fprintln(stderr, errs[n])
			return 1
		}
		w.WriteStats(n, e2ePerNIC+5, 5, time.Unix(1700000000, 0), time.Now())
	}
	if err := w.Flush(); err != nil && !extcap.IsReaderGone(err) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// e2eEnv installs this test binary as a personal extcap of a private
// Wireshark configuration directory (the global one is fixed for root).
func e2eEnv(t *testing.T) (env []string, log string) {
	t.Helper()
	pcaptest.NeedTool(t, "tshark")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := t.TempDir()
	log = filepath.Join(cfg, "argv.log")
	if err := os.MkdirAll(filepath.Join(cfg, "extcap"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\nVMDUMP_TEST_EXTCAP=1 VMDUMP_TEST_LOG='%s' exec '%s' \"$@\"\n", log, exe)
	if err := os.WriteFile(filepath.Join(cfg, "extcap", e2eInterface), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "WIRESHARK_CONFIG_DIR="+cfg), log
}

func tsharkRun(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	// The deadline only catches a hang (e.g. a FIFO nobody opens).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var o, e bytes.Buffer
	cmd := exec.CommandContext(ctx, "tshark", args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// loggedArgv is every argv the fake extcap was called with.
func loggedArgv(t *testing.T, log string) [][]string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var argv []string
		if err := dec.Decode(&argv); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, argv)
	}
	return calls
}

// Real tshark 4.0 lists the interface, reads the whole dialog (every arg
// becomes a preference: none was dropped by Wireshark's parser) and the DLT.
func TestTsharkProbes(t *testing.T) {
	env, log := e2eEnv(t)
	out, stderr, err := tsharkRun(t, env, "-D")
	if err != nil {
		t.Fatalf("tshark -D: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, ". "+e2eInterface+" (vmdump test (VM) eth1)\n") {
		t.Errorf("tshark -D does not list the interface:\n%s", out)
	}
	prefs, _, err := tsharkRun(t, env, "-G", "currentprefs")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range dialog.Args(dialog.Defaults{}) {
		pref := "#extcap." + e2eInterface + "." + strings.ReplaceAll(a.Call, "-", "") + ":"
		if !strings.Contains(prefs, pref) {
			t.Errorf("Wireshark dropped the arg %s (no preference %s)", a.Call, pref)
		}
	}
	// The SSH user and port are placeholders, not defaults: a saved default
	// would be passed back on every capture and override the manager's files.
	for _, want := range []string{"remoteinterface: eth1\n", "snaplen: 0\n", "sshuser: \n", "sshport: \n"} {
		if !strings.Contains(prefs, "#extcap."+e2eInterface+"."+want) {
			t.Errorf("preference default %q missing", want)
		}
	}
	out, stderr, err = tsharkRun(t, env, "-i", e2eInterface, "-L")
	if err != nil || !strings.Contains(out, "EN10MB (Ethernet)") {
		t.Errorf("tshark -L: %v\n%s%s", err, out, stderr)
	}
	for _, argv := range loggedArgv(t, log) {
		if _, err := extcap.ParseArgs(argv, &dialog.Options{}); err != nil {
			t.Errorf("ParseArgs(%q) of a real tshark call: %v", argv, err)
		}
	}
}

// A capture through tshark and dumpcap: the argv tshark builds parses into
// a capture with the filter and the -o options, and the packets of both
// NICs arrive in the file tshark writes.
func TestTsharkCapture(t *testing.T) {
	pcaptest.NeedTool(t, "dumpcap")
	env, log := e2eEnv(t)
	file := filepath.Join(t.TempDir(), "capture.pcapng")
	_, stderr, err := tsharkRun(t, env, "-i", e2eInterface, "-f", "udp port 9999", "-o", "extcap."+e2eInterface+".snaplen:96",
		"-o", "extcap."+e2eInterface+".payloadonly:off", "-w", file)
	if err != nil {
		t.Fatalf("tshark capture: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "Error") {
		t.Errorf("tshark reported an error:\n%s", stderr)
	}
	var capture *extcap.Args
	var opts dialog.Options
	for _, argv := range loggedArgv(t, log) {
		var o dialog.Options
		a, err := extcap.ParseArgs(argv, &o)
		if err != nil {
			t.Fatalf("ParseArgs(%q): %v", argv, err)
		}
		if a.Mode() == extcap.ModeCapture {
			capture, opts = &a, o
			t.Logf("capture argv: %q", argv)
		}
	}
	if capture == nil {
		t.Fatal("no capture call")
	}
	if capture.CaptureFilter != "udp port 9999" || opts.Snaplen != "96" || opts.PayloadOnly != "off" ||
		capture.Fifo == "" || capture.Interface != e2eInterface || capture.Validate() != nil || opts.Validate() != nil {
		t.Errorf("capture args %+v %+v", *capture, opts)
	}
	if opts.RemoteInterface != "eth1" {
		t.Errorf("saved default not passed as the reference says: %+v", *capture)
	}
	if opts.SSHUser != "" || opts.SSHPort != "" {
		t.Errorf("the VM's SSH user/port were passed as saved defaults: %+v", *capture)
	}

	counts := map[string]int{}
	out, _, err := tsharkRun(t, env, "-r", file, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.protocols")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range pcaptest.SplitLines(out) {
		counts[line]++
	}
	want := map[string]int{"default:eth0\teth:ethertype:ip:udp:data": e2ePerNIC, "default:eth1\tsll:ethertype:ip:udp:data": e2ePerNIC}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("frames per interface in tshark's file = %v, want %v", counts, want)
	}
}

// The failure path Wireshark users see: the FIFO is opened first, the one
// line error goes to stderr, and tshark returns at once and shows it.
func TestTsharkShowsCaptureError(t *testing.T) {
	pcaptest.NeedTool(t, "dumpcap")
	env, _ := e2eEnv(t)
	env = append(env, "VMDUMP_TEST_FAIL=1")
	_, stderr, _ := tsharkRun(t, env, "-i", e2eInterface, "-w", filepath.Join(t.TempDir(), "x.pcapng"))
	want := `remote side sent text instead of pcap: "sudo: a password is required"`
	if !strings.Contains(stderr, "extcap pipe: "+want) {
		t.Errorf("tshark stderr lacks the error:\n%s", stderr)
	}
}
