package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestReliabilityRemoteFailures (issue 5, guarantee 8): what goes wrong on
// the VM reaches the Wireshark user as one line that says what to do,
// through the real tshark ("tshark: Error by extcap pipe: vmdump: ..."),
// and tshark ends by itself.
func TestReliabilityRemoteFailures(t *testing.T) {
	t.Parallel()
	type failure struct {
		name  string
		args  func(u *user) []string
		want  func(l *lab.Lab) []string
		setup func(t *testing.T, l *lab.Lab)
	}
	opt := func(u *user, name, value string) []string {
		return []string{"-o", "extcap." + u.vmID + "." + name + ":" + value}
	}
	for _, group := range []struct {
		name     string
		options  lab.Options
		failures []failure
	}{
		{"no-tcpdump", lab.Options{HideTcpdump: true}, []failure{{
			name: "tcpdump-missing",
			// With the capture program on "auto" the capture agent would
			// stand in (e2e/agent_test.go); "tcpdump" insists on tcpdump.
			args: func(u *user) []string { return opt(u, "capturetool", "tcpdump") },
			// The lab VM is Debian: the line names Debian's command.
			want: func(*lab.Lab) []string {
				return []string{"tcpdump is not installed on VM lab", "sudo apt-get install -y tcpdump"}
			},
		}}},
		{"sudo-needs-password", lab.Options{SudoNeedsPassword: true}, []failure{
			{
				name: "sudo-wants-password",
				args: func(u *user) []string { return opt(u, "remotepriv", "sudo") },
				want: func(*lab.Lab) []string {
					return []string{"sudo on VM lab needs a password", "passwordless sudo"}
				},
			},
			{
				// priv auto sees that sudo would prompt and does not use
				// it; tcpdump as the user is refused.
				name: "auto-without-sudo",
				want: func(l *lab.Lab) []string {
					return []string{"may not capture on " + l.ContainerVeth(1) + " as the login user", "passwordless sudo"}
				},
			},
		}},
		{"default", lab.Options{}, []failure{
			{
				name: "permission-denied",
				args: func(u *user) []string { return opt(u, "remotepriv", "none") },
				want: func(l *lab.Lab) []string {
					return []string{"may not capture on " + l.ContainerVeth(1) + " as the login user", "passwordless sudo"}
				},
			},
			{
				name: "no-such-interface",
				args: func(u *user) []string { return opt(u, "remoteinterface", "nosuch0") },
				want: func(l *lab.Lab) []string {
					return []string{`VM lab has no interface "nosuch0"; it has: `, "eth1", "docker0", l.ContainerVeth(1), l.ContainerVeth(2)}
				},
			},
			{
				name: "filter-does-not-compile",
				args: func(*user) []string { return []string{"-f", "tcp port 99999"} },
				want: func(*lab.Lab) []string {
					return []string{"the capture filter does not compile on VM lab", "99999"}
				},
			},
			{
				name: "interface-down",
				// A veth pair in the VM, left down.
				setup: func(t *testing.T, l *lab.Lab) {
					labExec(t, l, "ip", "link", "add", "down0", "type", "veth", "peer", "name", "down1")
				},
				args: func(u *user) []string { return opt(u, "remoteinterface", "down0") },
				want: func(*lab.Lab) []string {
					return []string{"interface down0 on VM lab is down"}
				},
			},
		}},
	} {
		t.Run(group.name, func(t *testing.T) {
			t.Parallel()
			l := lab.Start(t, group.options)
			u := newUser(t, l)
			for _, f := range group.failures {
				t.Run(f.name, func(t *testing.T) {
					faultCase(t)
					if f.setup != nil {
						f.setup(t, l)
					}
					var args []string
					if f.args != nil {
						args = f.args(u)
					}
					tu := *u
					tu.t = t
					ts := tu.startTshark(append([]string{"-a", "duration:30"}, args...)...)
					ts.wait(t, 60*time.Second)
					msg := checkTsharkOneLineError(t, ts, f.want(l)...)
					t.Logf("%s", msg)
					if _, left := awaitVMClean(l, time.Now(), 10*time.Second); len(left) > 0 {
						t.Errorf("left in the VM: %v", left)
					}
				})
			}
		})
	}
}

// labExec runs a command in the lab VM as root (setting the VM up).
func labExec(t *testing.T, l *lab.Lab, args ...string) {
	t.Helper()
	if out, err := l.Exec(args...); err != nil {
		t.Fatalf("%s in the VM: %v %s", strings.Join(args, " "), err, out)
	}
}
