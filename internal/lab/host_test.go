package lab

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestHost: the root namespace is reachable over the host's sshd on a
// loopback port as vmdlab with passwordless sudo and the session
// environment asked for; Close leaves no sshd, sudoers file or directory.
func TestHost(t *testing.T) {
	h, err := NewHost(HostOptions{Env: []string{"VMDUMP_HOST_PROBE=yes-" + t.Name()}})
	if err != nil {
		var pe *PrereqError
		if errors.As(err, &pe) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer h.Close()
	t.Logf("host %s on %s:%d built in %v", h.Name, h.Addr, h.Port, h.BuildTime)
	out, err := h.SSH(`id -un; sudo -n id -u; echo "$VMDUMP_HOST_PROBE"; readlink /proc/self/ns/net`)
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, h.SSHDLog())
	}
	rootNet, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	want := "vmdlab\n0\nyes-" + t.Name() + "\n" + rootNet + "\n"
	if string(out) != want {
		t.Fatalf("over ssh: got %q, want %q", out, want)
	}
	// The session's sshd takes a moment to exit after the command.
	deadline := time.Now().Add(2 * time.Second)
	for got := h.Sessions(); len(got) != 0; got = h.Sessions() {
		if time.Now().After(deadline) {
			t.Fatalf("sessions left below sshd 2s after the command ended: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid, sudoers, dir := h.SSHDPid(), h.sudoers, h.Dir
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if pidAlive(pid) {
		t.Errorf("sshd %d alive after Close", pid)
	}
	for _, p := range []string{sudoers, dir} {
		if exists(p) {
			t.Errorf("%s left after Close", p)
		}
	}
	if !strings.HasPrefix(sudoers, sudoersDir+"/"+hostSudoersPrefix) {
		t.Errorf("sudoers file %q", sudoers)
	}
}
