//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestDoctorLab runs the doctor's real check (SSH, probe) against the lab's
// stand-in VM (a network namespace with the real sshd, sudo and tcpdump):
// Ready while its sshd runs; once sshd is stopped, the VM refuses the
// connection, and the doctor says so and exits 1. It needs root (the lab
// skips without it, and fails under CI).
func TestDoctorLab(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	m := newDoctorMachine(t)
	m.config = fmt.Sprintf("[[vm]]\nname = \"lab\"\nhost = %q\nport = %d\nuser = %q\nkey = %q\n", l.VMAddr, l.SSHPort, l.User, l.KeyFile)
	writeDemoTestFile(t, filepath.Join(m.home, "cfg", "config.toml"), m.config)
	writeDemoTestFile(t, filepath.Join(m.home, ".ssh", "known_hosts"), l.HostKeyLine()+"\n")
	writeDemoTestFile(t, filepath.Join(m.home, ".local", "lib", "wireshark", "extcap", "vmdump"), "vmdump v2")
	d := m.env()
	d.probe = sshProbe(d.vms, slog.New(slog.DiscardHandler), doctorDialTimeout)

	doctor := func() (int, string) {
		var out bytes.Buffer
		begin := time.Now()
		code := runDoctor(context.Background(), d, &out)
		if took := time.Since(begin); took > doctorCheckTimeout+5*time.Second {
			t.Errorf("the doctor took %v", took)
		}
		return code, out.String()
	}

	code, report := doctor()
	if want := "  ok    vmdump_cfg_lab  Docker VM lab (config): capture works (sudo -n ok, /"; code != 0 || !strings.Contains(report, want) || !strings.Contains(report, "\nReady, with warnings above") {
		t.Fatalf("with sshd running: exit %d, want 0 and %q and Ready; report:\n%s\nsshd log:\n%s", code, want, report, l.SSHDLog())
	}
	t.Logf("with sshd running:\n%s", report)

	stopSSHD(t, l)
	code, report = doctor()
	refused := "cannot reach VM lab at " + l.VMAddr + ":22: connection refused — is the VM running?"
	for _, want := range []string{
		"\n  warn  vmdump_cfg_lab  Docker VM lab (config): cannot capture: " + refused + "\n",
		"\n  FAIL  no VM can capture (see above)\n",
		"\nNot ready: no VM can capture: vmdump_cfg_lab: " + refused + "\n",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("with sshd stopped, the report lacks %q", want)
		}
	}
	if code != 1 || strings.Contains(report, "capture works") || strings.Contains(report, "\nReady") {
		t.Errorf("with sshd stopped: exit %d, want 1 and no VM that captures", code)
	}
	t.Logf("with sshd stopped:\n%s", report)
}

// stopSSHD stops the lab's sshd (this test process started it, in the
// VM's namespace) and waits until it is gone.
func stopSSHD(t *testing.T, l *lab.Lab) {
	t.Helper()
	config := filepath.Join(l.Dir, "sshd_config")
	find := func() int {
		for _, p := range l.ProcessesInVM() {
			if p.PPid == os.Getpid() && strings.Contains(p.Cmdline, "sshd") && strings.Contains(p.Cmdline, config) {
				return p.Pid
			}
		}
		return 0
	}
	pid := find()
	if pid == 0 {
		t.Fatalf("the lab's sshd is not among the VM's processes: %v", l.ProcessesInVM())
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); find() != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sshd (pid %d) still runs 5 s after SIGTERM", pid)
		}
	}
}
