package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/remotecap"
)

// home makes a user home with one config-file VM and points every directory
// vmdump reads at it.
func home(t *testing.T, config string) string {
	t.Helper()
	h := t.TempDir()
	for _, k := range []string{"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "VMDUMP_CONFIG_DIR", "VMDUMP_CACHE_DIR",
		"DOCKER_HOST", "DOCKER_CONFIG", "LIMA_HOME", "COLIMA_HOME", "MINIKUBE_HOME", "VAGRANT_HOME", "MACHINE_STORAGE_PATH", "BOOT2DOCKER_DIR"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", h)
	if config != "" {
		dir := filepath.Join(h, ".config", "vmdump")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// runArgs runs vmdump as Wireshark would and returns exit status, stdout, stderr.
func runArgs(argv ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(argv, &out, &errb)
	return code, out.String(), errb.String()
}

func TestFilterCheck(t *testing.T) {
	home(t, "")
	if _, known := extcap.CheckFilter(t.Context(), "tcp"); !known {
		t.Skip("no local filter compiler (tcpdump) to check with")
	}
	code, out, _ := runArgs("--extcap-capture-filter", "tcp port 80", "--extcap-interface", "vmdump_x")
	if code != 0 || out != "" {
		t.Errorf("valid filter: exit %d, stdout %q (Wireshark needs exit 0 and no output)", code, out)
	}
	code, out, _ = runArgs("--extcap-capture-filter", "tcp port", "--extcap-interface", "vmdump_x")
	if code != 0 || out == "" || strings.Count(out, "\n") != 1 {
		t.Errorf("invalid filter: exit %d, stdout %q (Wireshark needs exit 0 and one line)", code, out)
	}
}

func TestCaptureOfUnknownVMFailsInOneLine(t *testing.T) {
	home(t, "")
	fifo := filepath.Join(t.TempDir(), "fifo") // a plain file: OpenFIFO creates it
	code, _, stderr := runArgs("--capture", "--extcap-interface", "vmdump_cfg_gone", "--fifo", fifo)
	if code == 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "vmdump list") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// The FIFO got a valid section header first, so Wireshark shows the
	// error instead of hanging.
	b, err := os.ReadFile(fifo)
	if err != nil || len(b) < 28 || !bytes.Equal(b[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		t.Fatalf("FIFO content %x, %v", b, err)
	}
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct {
		vm   vmctl.VM
		want string
	}{
		{vmctl.VM{Name: "default", Manager: "boot2docker", State: vmctl.Unknown}, "Docker VM default (boot2docker)"},
		{vmctl.VM{Name: "colima", Manager: "colima", State: vmctl.Running}, "Docker VM colima (colima, running)"},
		{vmctl.VM{Name: "mp", Manager: "multipass", Note: "no SSH"}, "Docker VM mp (multipass) - no SSH"},
	} {
		if got := capture.DisplayName(tc.vm); got != tc.want {
			t.Errorf("capture.DisplayName(%+v) = %q, want %q", tc.vm, got, tc.want)
		}
	}
}

func TestCaptureSpecDefaults(t *testing.T) {
	spec, err := captureSpec(dialog.Options{}, vmctl.VM{Interface: "eth1"})
	if err != nil || spec.Interface != "eth1" || spec.Priv != remotecap.PrivAuto || spec.Snaplen != 0 {
		t.Fatalf("%+v, %v", spec, err)
	}
	spec, err = captureSpec(dialog.Options{RemoteInterface: "docker0", Priv: "none", Snaplen: "96"}, vmctl.VM{})
	if err != nil || spec.Interface != "docker0" || spec.Priv != remotecap.PrivNone || spec.Snaplen != 96 {
		t.Fatalf("%+v, %v", spec, err)
	}
	if spec, _ := captureSpec(dialog.Options{}, vmctl.VM{}); spec.Interface != "eth0" {
		t.Fatalf("no natural interface: %q, want eth0", spec.Interface)
	}
	if _, err := captureSpec(dialog.Options{Snaplen: "-5"}, vmctl.VM{}); err == nil {
		t.Fatal("a negative snap length was accepted")
	}
}
