package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// execLabUser is a user whose config.toml reaches the lab VM through a
// local command instead of SSH, as for Multipass or WSL: `ip netns exec
// <VM namespace> runuser -u <lab user> --` puts the session in the VM's
// network namespace as its unprivileged user, so the capture goes through
// the same sudo path as over SSH. vmdump appends `sh -c <command>`.
func execLabUser(t *testing.T, l *lab.Lab) (*user, []string) {
	t.Helper()
	ip, err1 := exec.LookPath("ip")
	runuser, err2 := exec.LookPath("runuser")
	if err1 != nil || err2 != nil {
		t.Fatalf("the exec transport test needs ip and runuser: %v %v", err1, err2)
	}
	argv := []string{ip, "netns", "exec", l.Namespace, runuser, "-u", l.User, "--"}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = tomlString(a)
	}
	u := newBareUser(t, l)
	u.writeConfig(t, "[[vm]]\nname = \"labexec\"\nexec = ["+strings.Join(quoted, ", ")+"]\ninterface = "+tomlString(l.ContainerVeth(1))+"\n", "config", "labexec")
	return u, argv
}

// execChild is the local process the exec transport runs for the capture
// (ip execs runuser, so it shows as runuser), 0 when there is none.
func execChild(capturePid int) int {
	return childOf(capturePid, func(cmdline, _ string) bool {
		return strings.Contains(cmdline, "runuser") && strings.Contains(cmdline, "sh -c")
	})
}

// awaitExecChild waits for the capture's local process to appear.
func awaitExecChild(t *testing.T, ts *tshark) (capturePid, child int) {
	t.Helper()
	capturePid = ts.capturePid(t)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if child = execChild(capturePid); child != 0 {
			return capturePid, child
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("vmdump --capture (pid %d) runs no exec child; tshark stderr:\n%s", capturePid, ts.stderr.String())
	return 0, 0
}

// TestExecTransportList: `vmdump list` shows the exec command as the VM's
// endpoint, `list --json` has the argv.
func TestExecTransportList(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	u, argv := execLabUser(t, l)
	out, err := u.vmdump("list")
	if err != nil || !strings.Contains(string(out), strings.Join(argv, " ")) {
		t.Fatalf("vmdump list does not show the exec command: %v\n%s", err, out)
	}
	out, err = u.vmdump("list", "--json")
	if err != nil {
		t.Fatalf("vmdump list --json: %v\n%s", err, out)
	}
	var vms []struct {
		Name string
		Exec []string
	}
	if err := json.Unmarshal(out, &vms); err != nil {
		t.Fatal(err)
	}
	for _, vm := range vms {
		if vm.Name == "labexec" {
			if strings.Join(vm.Exec, "\x00") != strings.Join(argv, "\x00") {
				t.Fatalf("list --json exec %q, want %q", vm.Exec, argv)
			}
			return
		}
	}
	t.Fatalf("labexec not in list --json:\n%s", out)
}

// TestExecTransportCapture: tshark captures the containers' real traffic
// from the lab VM through the exec transport, and after each kind of stop
// nothing is left: no tcpdump or wrapper in the VM, no local child of
// vmdump's.
func TestExecTransportCapture(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	u, _ := execLabUser(t, l)
	const messages = 10

	t.Run("duration", func(t *testing.T) {
		ts := u.startTshark("-a", "duration:8")
		u.waitRemoteCapture(ts)
		_, child := awaitExecChild(t, ts)
		l.Send(t, messages, 20*time.Millisecond)
		ts.wait(t, 40*time.Second)
		u.assertNoOrphans()
		awaitExit(t, child, time.Now(), 5*time.Second, "the exec transport's local process")
		if data := count(t, ts.out, "tcp.len > 0"); data != 2*messages {
			t.Fatalf("%d data segments captured, want %d (each message and its echo); stderr: %s", data, 2*messages, ts.stderr.String())
		}
		between := "ip.addr == " + l.ContainerAddr(1) + " && ip.addr == " + l.ContainerAddr(2)
		if got := count(t, ts.out, between); got != 2*messages {
			t.Fatalf("%d packets between the containers, want %d", got, 2*messages)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		ts := u.startTshark("-f", quietFilter)
		u.waitRemoteCapture(ts)
		_, child := awaitExecChild(t, ts)
		ts.cmd.Process.Signal(syscall.SIGTERM)
		ts.wait(t, 10*time.Second)
		u.assertNoOrphans()
		awaitExit(t, child, time.Now(), 5*time.Second, "the exec transport's local process")
		read(t, ts.out) // must parse
	})

	// kill -9 of vmdump runs none of its cleanup: the local child dies of
	// Pdeathsig and the wrapper in the VM of its stdin EOF.
	t.Run("kill-9", func(t *testing.T) {
		ts := u.startTshark("-f", quietFilter)
		u.waitRemoteCapture(ts)
		capturePid, child := awaitExecChild(t, ts)
		since := time.Now()
		signalPid(capturePid, syscall.SIGKILL)
		awaitExit(t, child, since, 5*time.Second, "the exec transport's local process after kill -9 of vmdump")
		if _, orphans := awaitVMClean(l, since, 10*time.Second); len(orphans) > 0 {
			var list []string
			for _, p := range orphans {
				list = append(list, p.Cmdline)
				signalPid(p.Pid, syscall.SIGKILL)
			}
			t.Fatalf("left running in the VM after kill -9 of vmdump:\n%s", strings.Join(list, "\n"))
		}
		ts.signal(syscall.SIGTERM)
		ts.wait(t, 30*time.Second)
	})
}
