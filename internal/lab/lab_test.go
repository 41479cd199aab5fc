package lab

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"golang.org/x/crypto/ssh"
)

// sshCommand is the real OpenSSH client, configured by nothing but its
// arguments, logging in to the lab user at host:port.
func sshCommand(t *testing.T, l *Lab, host string, port int, command string) *exec.Cmd {
	t.Helper()
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(l.KnownHostsLine(host, port)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return exec.Command("ssh", "-F", "/dev/null", "-i", l.KeyFile, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile="+knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
		"-o", "LogLevel=ERROR", "-p", fmt.Sprint(port), l.User+"@"+host, command)
}

// sshOutput runs a command over ssh and returns its stdout.
func sshOutput(t *testing.T, l *Lab, host string, port int, command string) string {
	t.Helper()
	cmd := sshCommand(t, l, host, port, command)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssh %s@%s:%d %q: %v: %s\nsshd log:\n%s", l.User, host, port, command, err, stderr.String(), l.SSHDLog())
	}
	return string(out)
}

func TestSSHRunsSudoTcpdump(t *testing.T) {
	l := Start(t, Options{})
	t.Logf("lab %s built in %v", l.Namespace, l.BuildTime)
	out := sshOutput(t, l, l.VMAddr, l.SSHPort, "sudo -n tcpdump --version")
	if !strings.Contains(out, "tcpdump version") {
		t.Fatalf("sudo -n tcpdump --version printed %q", out)
	}
	// The session ran inside the VM: its shell sees eth1 with the VM address.
	if out := sshOutput(t, l, l.VMAddr, l.SSHPort, "ip -o -4 addr show eth1"); !strings.Contains(out, l.VMAddr+"/30") {
		t.Fatalf("eth1 in the session: %q", out)
	}
	var listener *Proc
	for _, p := range l.ProcessesInVM() {
		if strings.Contains(p.Cmdline, "[listener]") {
			listener = &p
		}
	}
	if listener == nil || listener.Pid != l.sshd.cmd.Process.Pid {
		t.Fatalf("sshd listener (pid %d) not among the VM's processes %v", l.sshd.cmd.Process.Pid, l.ProcessesInVM())
	}
}

func TestNetworkLayout(t *testing.T) {
	l := Start(t, Options{})
	for i := 1; i <= 2; i++ {
		veth := l.ContainerVeth(i)
		if len(veth) != 11 || !strings.HasPrefix(veth, "veth") {
			t.Errorf("container %d veth %q is not veth + 7 hex digits", i, veth)
		}
		// Docker's rule: the container's eth0 iflink is the ifindex of the
		// VM-side veth, which sits on docker0.
		iflink, err := run("ip", "netns", "exec", l.ContainerNS(i), "cat", "/sys/class/net/eth0/iflink")
		if err != nil {
			t.Fatal(err)
		}
		ifindex, err := l.Exec("cat", "/sys/class/net/"+veth+"/ifindex")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(iflink)) != strings.TrimSpace(string(ifindex)) {
			t.Errorf("container %d: eth0 iflink %s, but %s has ifindex %s", i, iflink, veth, ifindex)
		}
		master, err := l.Exec("readlink", "/sys/class/net/"+veth+"/master")
		if err != nil || filepath.Base(strings.TrimSpace(string(master))) != "docker0" {
			t.Errorf("container %d: %s master %q, %v; want docker0", i, veth, master, err)
		}
		addr, err := run("ip", "-n", l.ContainerNS(i), "-o", "-4", "addr", "show", "eth0")
		if err != nil || !strings.Contains(string(addr), l.ContainerAddr(i)+"/24") {
			t.Errorf("container %d eth0: %q %v; want %s/24", i, addr, err, l.ContainerAddr(i))
		}
	}
}

// tcpdump on docker0 (promiscuous, its default) sees the traffic the bridge
// forwards between the containers, one data segment per message and way.
func TestDocker0SeesContainerTraffic(t *testing.T) {
	l := Start(t, Options{})
	cases := []struct {
		name    string
		traffic Traffic
		filter  string
	}{
		{"tcp", Traffic{Count: 10, Interval: time.Millisecond}, fmt.Sprintf("tcp port %d", EchoPort)},
		{"tcp back to back", Traffic{Count: 25, Size: 200}, fmt.Sprintf("tcp port %d", EchoPort)},
		{"udp", Traffic{Count: 6, UDP: true}, fmt.Sprintf("udp port %d", EchoPort)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			capture := tcpdumpIn(t, l.Namespace, "docker0", c.filter)
			sum, err := l.Run(c.traffic)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Sent != c.traffic.Count || sum.Echoed != c.traffic.Count {
				t.Fatalf("summary %+v, want %d sent and echoed", sum, c.traffic.Count)
			}
			pkts := capture.waitFor(func(pkts []gopacket.Packet) bool {
				return messagesSeen(l, pkts).messages() >= 2*c.traffic.Count
			})
			seen := messagesSeen(l, pkts)
			for _, p := range seen.problems {
				t.Error(p)
			}
			toServer, toClient, other := seen.toServer, seen.toClient, seen.other
			for seq := range uint64(c.traffic.Count) {
				if toServer[seq] != 1 || toClient[seq] != 1 {
					t.Errorf("message %d seen %d times to the server and %d back, want 1 and 1", seq, toServer[seq], toClient[seq])
				}
			}
			if len(toServer) != c.traffic.Count || len(toClient) != c.traffic.Count {
				t.Errorf("saw messages %v and %v, want 0…%d", toServer, toClient, c.traffic.Count-1)
			}
			t.Logf("%d packets: %d messages each way, %d without payload (handshake, ACKs, FINs)",
				len(pkts), len(toServer), other)
		})
	}
}

func TestSendHelperAndSteadyTraffic(t *testing.T) {
	l := Start(t, Options{})
	if sum := l.Send(t, 3, time.Millisecond); sum != (Summary{Sent: 3, Echoed: 3}) {
		t.Fatalf("Send(3) = %+v", sum)
	}
	capture := tcpdumpIn(t, l.Namespace, "docker0", "tcp", "port", fmt.Sprint(EchoPort))
	stopSteady := l.StartSteady(t, 500)
	// Let some messages through, then stop.
	capture.waitFor(func(pkts []gopacket.Packet) bool { return len(pkts) > 20 })
	sum := stopSteady()
	if sum.Sent < 5 || sum.Echoed < sum.Sent-1 {
		t.Fatalf("steady traffic summary %+v", sum)
	}
	// Every message the client wrote crossed docker0, and none more.
	pkts := capture.waitFor(func(pkts []gopacket.Packet) bool {
		return len(messagesSeen(l, pkts).toServer) >= sum.Sent
	})
	capture.stop()
	seen := messagesSeen(l, pkts)
	for _, p := range seen.problems {
		t.Error(p)
	}
	if len(seen.toServer) != sum.Sent {
		t.Errorf("client sent %d messages, docker0 saw %d", sum.Sent, len(seen.toServer))
	}
	if again := stopSteady(); again != sum {
		t.Errorf("second stop returned %+v, first %+v", again, sum)
	}
}

// leftovers lists what of a closed lab still exists.
func leftovers(l *Lab, pids []int) []string {
	var left []string
	for _, ns := range l.namespaces {
		if exists(filepath.Join(netnsDir, ns)) {
			left = append(left, "namespace "+ns)
		}
	}
	// Index N (veth vmdh<N>, route 10.231.N.0/30) may already serve a newer
	// lab: only what still names this lab counts.
	alias, err := os.ReadFile(filepath.Join("/sys/class/net", l.HostVeth, "ifalias"))
	if err == nil && strings.TrimSpace(string(alias)) == l.namespaces[0] {
		left = append(left, "host veth "+l.HostVeth)
	}
	if routes, _ := run("ip", "route", "show", "type", "unreachable", l.fallback); err != nil && len(bytes.TrimSpace(routes)) > 0 {
		left = append(left, "route "+string(routes))
	}
	if l.etcDir != "" && exists(l.etcDir) {
		left = append(left, "etc directory "+l.etcDir)
	}
	if l.ownUser {
		if _, ok, _ := passwdEntry("/etc/passwd", l.User); ok {
			left = append(left, "user "+l.User)
		}
	}
	if exists(l.Dir) {
		left = append(left, "directory "+l.Dir)
	}
	for _, pid := range pids {
		if p, ok := readProc(pid); ok && !isZombie(pid) {
			left = append(left, fmt.Sprintf("process %d %q", pid, p.Cmdline))
		}
	}
	return left
}

// isZombie: a killed process whose new parent (pid 1) has not reaped it yet
// is dead for our purposes.
func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	end := bytes.LastIndexByte(stat, ')')
	return end < 0 || bytes.HasPrefix(bytes.TrimSpace(stat[end+1:]), []byte("Z"))
}

func TestCloseLeavesNothing(t *testing.T) {
	l, err := New(Options{Forward: true, Password: "lab-pw-1", LoginShell: "/bin/busybox ash"})
	if err != nil {
		var pe *PrereqError
		if os.Getenv("CI") == "" && asPrereq(err, &pe) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			l.Close()
		}
	})
	// Populate everything teardown must find: traffic in both containers,
	// an ssh session whose command outlives its sshd, the forwarder.
	stopSteady, err := l.StartTraffic(Traffic{Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_ = stopSteady
	session := sshCommand(t, l, "127.0.0.1", l.ForwardPort, "sleep 300 & sleep 300")
	if err := session.Start(); err != nil {
		t.Fatal(err)
	}
	defer session.Wait()
	for deadline := time.Now().Add(30 * time.Second); countCmdline(l, "sleep 300") < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the ssh session's sleeps never showed up: %v\n%s", l.ProcessesInVM(), l.SSHDLog())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var pids []int
	for _, ns := range l.namespaces {
		p, err := pidsInNamespace(ns)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, p...)
	}
	l.mu.Lock()
	for _, p := range l.procs {
		pids = append(pids, p.cmd.Process.Pid) // includes socat, in the root namespace
	}
	l.mu.Unlock()
	if len(pids) < 6 { // sshd, 3 session processes, 2 sleeps, 2 trafficgens, socat…
		t.Fatalf("only %d processes to tear down: %v", len(pids), pids)
	}

	begin := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	t.Logf("lab built in %v, torn down in %v (%d processes)", l.BuildTime, time.Since(begin), len(pids))
	if left := leftovers(l, pids); len(left) > 0 {
		t.Fatalf("after Close: %s", strings.Join(left, "; "))
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", l.ForwardPort), time.Second); err == nil {
		t.Errorf("forward port %d still accepts connections", l.ForwardPort)
	}
	if l.User == labUser || !l.ownUser {
		t.Errorf("a lab with a password and a shell uses user %s, not one of its own", l.User)
	}
	shadow, _ := os.ReadFile("/etc/shadow")
	for _, line := range strings.Split(string(shadow), "\n") {
		if f := strings.Split(line, ":"); len(f) > 1 && f[0] == l.User && f[1] != "*" {
			t.Errorf("lab user %s keeps a password after Close", l.User)
		}
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func asPrereq(err error, target **PrereqError) bool {
	pe, ok := err.(*PrereqError)
	*target = pe
	return ok
}

func countCmdline(l *Lab, cmdline string) int {
	n := 0
	for _, p := range l.ProcessesInVM() {
		if p.Cmdline == cmdline {
			n++
		}
	}
	return n
}

// Two labs at once (as two test packages would build) get distinct names,
// addresses and etc directories, and both work, each with its login shell:
// the shared lab user's /bin/sh, or a user of its own with busybox ash.
func TestTwoLabsInParallel(t *testing.T) {
	labs := make(chan *Lab, 2)
	t.Run("group", func(t *testing.T) {
		for i := range 2 {
			t.Run(fmt.Sprint("lab", i), func(t *testing.T) {
				t.Parallel()
				l := Start(t, Options{LoginShell: []string{"", "/bin/busybox ash"}[i]})
				labs <- l
				wantUser := []string{labUser, ownUserName(l.Namespace)}[i]
				if out := sshOutput(t, l, l.VMAddr, l.SSHPort, "id -un"); strings.TrimSpace(out) != l.User || l.User != wantUser {
					t.Errorf("id -un = %q, want %s (lab user %s)", out, wantUser, l.User)
				}
				want, _ := filepath.EvalSymlinks([]string{"/bin/sh", "/bin/busybox"}[i])
				if out := sshOutput(t, l, l.VMAddr, l.SSHPort, "readlink /proc/$$/exe"); strings.TrimSpace(out) != want {
					t.Errorf("login shell runs %q, want %s", out, want)
				}
				if sum := l.Send(t, 5, 0); sum.Echoed != 5 {
					t.Errorf("Send(5) = %+v", sum)
				}
			})
		}
	})
	close(labs)
	var all []*Lab
	for l := range labs {
		all = append(all, l)
	}
	if len(all) != 2 {
		t.Fatalf("%d labs came up", len(all))
	}
	a, b := all[0], all[1]
	for _, pair := range [][2]string{
		{a.Namespace, b.Namespace}, {a.HostVeth, b.HostVeth}, {a.VMAddr, b.VMAddr},
		{a.User, b.User}, {a.etcDir, b.etcDir}, {a.Dir, b.Dir}, {a.ContainerNS(1), b.ContainerNS(1)},
	} {
		if pair[0] == pair[1] {
			t.Errorf("both labs use %q", pair[0])
		}
	}
	for _, l := range all {
		if left := leftovers(l, nil); len(left) > 0 {
			t.Errorf("after the subtests: %s", strings.Join(left, "; "))
		}
	}
}

func TestForwardPasswordAndLoginShell(t *testing.T) {
	l := Start(t, Options{Forward: true, Password: "s3cret pass", LoginShell: "/bin/busybox ash"})
	// Through the forwarder, sshd sees the host end of the link as the
	// client, as behind a VM manager's NAT.
	out := sshOutput(t, l, "127.0.0.1", l.ForwardPort, `echo "$SSH_CONNECTION"; readlink /proc/$$/exe`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], l.HostAddr+" ") || !strings.HasSuffix(lines[0], " "+l.VMAddr+" 22") {
		t.Fatalf("SSH_CONNECTION / shell: %q", out)
	}
	if busybox, _ := filepath.EvalSymlinks("/bin/busybox"); lines[1] != busybox {
		t.Errorf("login shell runs %s, want %s", lines[1], busybox)
	}

	cases := []struct {
		name     string
		password string
		wantOK   bool
	}{
		{"right password", "s3cret pass", true},
		{"wrong password", "s3cret", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &ssh.ClientConfig{
				User:            l.User,
				Auth:            []ssh.AuthMethod{ssh.Password(c.password)},
				HostKeyCallback: fixedHostKey(t, l),
				Timeout:         10 * time.Second,
			}
			client, err := ssh.Dial("tcp", net.JoinHostPort(l.VMAddr, "22"), cfg)
			if !c.wantOK {
				if err == nil {
					client.Close()
					t.Fatal("login with a wrong password succeeded")
				}
				return
			}
			if err != nil {
				t.Fatalf("password login: %v", err)
			}
			defer client.Close()
			s, err := client.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if out, err := s.Output("sudo -n id -u"); err != nil || strings.TrimSpace(string(out)) != "0" {
				t.Fatalf("sudo -n id -u: %q %v", out, err)
			}
		})
	}
}

func fixedHostKey(t *testing.T, l *Lab) ssh.HostKeyCallback {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l.hostKeyPub))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FixedHostKey(key)
}

// Without Options.Password, sshd takes no passwords at all.
func TestNoPasswordLogin(t *testing.T) {
	l := Start(t, Options{})
	_, err := ssh.Dial("tcp", net.JoinHostPort(l.VMAddr, "22"), &ssh.ClientConfig{
		User:            l.User,
		Auth:            []ssh.AuthMethod{ssh.Password("*")},
		HostKeyCallback: fixedHostKey(t, l),
		Timeout:         10 * time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("password login without Options.Password: %v", err)
	}
}

func TestKillSSHSessions(t *testing.T) {
	l := Start(t, Options{})
	session := sshCommand(t, l, l.VMAddr, l.SSHPort, "sleep 300")
	if err := session.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- session.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); countCmdline(l, "sleep 300") == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("sleep never showed up: %v", l.ProcessesInVM())
		}
		time.Sleep(5 * time.Millisecond)
	}
	killed, err := l.KillSSHSessions()
	if err != nil || killed == 0 {
		t.Fatalf("KillSSHSessions = %d, %v", killed, err)
	}
	select {
	case err := <-ended:
		if err == nil {
			t.Error("ssh client exited 0 after its sshd was killed")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ssh client still running 30s after its sshd was killed")
	}
	// The session's command is not an sshd: it is left for the tests to
	// look at, and the listener still serves new logins.
	if countCmdline(l, "sleep 300") != 1 {
		t.Errorf("the session's sleep should survive KillSSHSessions: %v", l.ProcessesInVM())
	}
	if out := sshOutput(t, l, l.VMAddr, l.SSHPort, "echo ok"); out != "ok\n" {
		t.Errorf("new login after KillSSHSessions: %q", out)
	}
}

// sshBanner connects to addr and returns the first line the server sends,
// or "" when none comes within a second.
func sshBanner(addr string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}

func TestLinkDownAndUp(t *testing.T) {
	l := Start(t, Options{})
	addr := net.JoinHostPort(l.VMAddr, "22")
	if banner := sshBanner(addr); !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("sshd banner with the link up: %q", banner)
	}
	if err := l.SetLinkDown(); err != nil {
		t.Fatal(err)
	}
	carrier, err := l.Exec("cat", "/sys/class/net/eth1/carrier")
	if err != nil || strings.TrimSpace(string(carrier)) != "0" {
		t.Errorf("VM's eth1 carrier with the host end down: %q %v", carrier, err)
	}
	// The fallback route keeps packets for the VM from leaving by the
	// default route (where a sandbox proxy may answer for anything).
	if route, err := run("ip", "route", "get", l.VMAddr); err == nil || !strings.Contains(err.Error(), "No route to host") {
		t.Errorf("with the link down, %s routes as %q (%v); want no route to host", l.VMAddr, route, err)
	}
	if banner := sshBanner(addr); banner != "" {
		t.Fatalf("sshd answered with the link down: %q", banner)
	}
	if err := l.SetLinkUp(); err != nil {
		t.Fatal(err)
	}
	banner := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && banner == ""; {
		banner = sshBanner(addr)
	}
	if !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("sshd banner after SetLinkUp: %q", banner)
	}
}

func TestExecAndPids(t *testing.T) {
	l := Start(t, Options{})
	out, err := l.Exec("ip", "-o", "link", "show", "docker0")
	if err != nil || !strings.Contains(string(out), "docker0") {
		t.Fatalf("Exec ip link show docker0: %q %v", out, err)
	}
	if _, err := l.Exec("false"); err == nil {
		t.Error("Exec false: no error")
	}
	if _, err := l.Exec(); err == nil {
		t.Error("Exec with no command: no error")
	}
	pids := l.PidsInVM()
	if len(pids) != 1 || pids[0] != l.sshd.cmd.Process.Pid {
		t.Errorf("PidsInVM = %v, want only sshd %d", pids, l.sshd.cmd.Process.Pid)
	}
}

func TestContainerIndexOutOfRange(t *testing.T) {
	l := &Lab{}
	for _, i := range []int{0, 3, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ContainerNS(%d) did not panic", i)
				}
			}()
			l.ContainerNS(i)
		}()
	}
}

// BenchmarkLabStartClose reports how long a lab takes to build and to tear
// down (ms per lab), separately.
func BenchmarkLabStartClose(b *testing.B) {
	var build, teardown time.Duration
	for b.Loop() {
		l, err := New(Options{})
		if err != nil {
			b.Skip(err)
		}
		build += l.BuildTime
		begin := time.Now()
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		teardown += time.Since(begin)
	}
	b.ReportMetric(float64(build.Milliseconds())/float64(b.N), "build-ms/op")
	b.ReportMetric(float64(teardown.Milliseconds())/float64(b.N), "close-ms/op")
}

// BenchmarkFirstTraffic is a lab plus its first message: the echo server
// start (and, when no other lab of the process holds it, the trafficgen
// build).
func BenchmarkFirstTraffic(b *testing.B) {
	for b.Loop() {
		l, err := New(Options{})
		if err != nil {
			b.Skip(err)
		}
		if _, err := l.Run(Traffic{Count: 1}); err != nil {
			b.Fatal(err)
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
