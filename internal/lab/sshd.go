package lab

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startSSHD runs Debian's OpenSSH sshd in the VM namespace with keys and
// config of the lab's own, and waits until it listens.
func (l *Lab) startSSHD(opt Options) error {
	hostKey, authorized, err := makeSSHKeys(l.Dir, "vmdump-lab-"+l.Namespace)
	if err != nil {
		return err
	}
	l.KeyFile = filepath.Join(l.Dir, "id_ed25519")
	if l.hostKeyPub, err = readPublicKey(hostKey + ".pub"); err != nil {
		return err
	}
	config := filepath.Join(l.Dir, "sshd_config")
	if err := os.WriteFile(config, []byte(l.sshdConfig(hostKey, authorized, opt)), 0o644); err != nil {
		return err
	}
	// sshd insists on its privilege-separation directory; Debian creates it
	// only when its own sshd service starts. A system directory: left in place.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(l.Dir, "sshd.log"))
	if err != nil {
		return err
	}
	defer logFile.Close() // sshd has its own descriptor once started
	argv := []string{"ip", "netns", "exec", l.Namespace}
	hide, err := l.hideArgv(opt)
	if err != nil {
		return err
	}
	argv = append(argv, hide...)
	argv = append(argv, sshdPath, "-D", "-e", "-f", config)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	p, err := l.start("sshd", cmd)
	if err != nil {
		return err
	}
	l.sshd = p
	// `ip netns exec` (and unshare and sh, when hiding tcpdump) exec sshd
	// in place, so the pid is sshd's. Readiness is read from its socket
	// table rather than by connecting, which would leave a short-lived
	// preauth sshd among the VM's processes.
	return waitListening(p, l.VMAddr, l.SSHPort, l.SSHDLog)
}

// makeSSHKeys makes, in dir, an sshd host key (ssh_host_ed25519_key) and a
// client key (id_ed25519) whose public half is the only line of
// authorized_keys; it returns the host key's and authorized_keys' paths.
func makeSSHKeys(dir, comment string) (hostKey, authorized string, err error) {
	hostKey = filepath.Join(dir, "ssh_host_ed25519_key")
	client := filepath.Join(dir, "id_ed25519")
	keys := []string{hostKey, client}
	if err := parallel(len(keys), func(i int) error {
		_, err := run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", keys[i])
		return err
	}); err != nil {
		return "", "", err
	}
	clientPub, err := os.ReadFile(client + ".pub")
	if err != nil {
		return "", "", err
	}
	authorized = filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, clientPub, 0o644); err != nil {
		return "", "", err
	}
	return hostKey, authorized, nil
}

func (l *Lab) sshdConfig(hostKey, authorized string, opt Options) string {
	yesNo := map[bool]string{true: "yes", false: "no"}
	lines := []string{
		"# vmdump lab " + l.Namespace,
		fmt.Sprintf("ListenAddress %s:%d", l.VMAddr, l.SSHPort),
		"HostKey " + hostKey,
		"PidFile none",
		"UsePAM no",
		"PermitRootLogin no",
		"AllowUsers " + l.User,
		"PubkeyAuthentication yes",
		"AuthorizedKeysFile " + authorized,
		"PasswordAuthentication " + yesNo[opt.Password != ""],
		"KbdInteractiveAuthentication no",
		"StrictModes no",
		"UseDNS no",
		"PrintMotd no",
		"PrintLastLog no",
		"Subsystem sftp internal-sftp",
	}
	lines = append(lines, opt.SSHDConfig...)
	return strings.Join(lines, "\n") + "\n"
}

// readPublicKey returns "type base64" from an OpenSSH .pub file, without
// the comment.
func readPublicKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return "", fmt.Errorf("%s is not an OpenSSH public key", path)
	}
	return f[0] + " " + f[1], nil
}

// HostKeyLine is the known_hosts line for the VM's sshd at VMAddr:22.
func (l *Lab) HostKeyLine() string {
	return l.KnownHostsLine(l.VMAddr, l.SSHPort)
}

// KnownHostsLine is the known_hosts line for the VM's host key reached at
// host:port, e.g. KnownHostsLine("127.0.0.1", l.ForwardPort).
func (l *Lab) KnownHostsLine(host string, port int) string {
	if port != 22 {
		host = fmt.Sprintf("[%s]:%d", host, port)
	}
	return host + " " + l.hostKeyPub
}

// KillSSHSessions SIGKILLs the per-connection sshd processes (every sshd
// below the listener), as if they crashed; the listener keeps accepting.
// What the sessions ran (shell, sudo, tcpdump) is left alone: whether it
// survives is what the tests want to see. It returns how many processes it
// killed.
func (l *Lab) KillSSHSessions() (int, error) {
	if l.sshd == nil || l.sshd.exited() {
		return 0, errors.New("lab: sshd is not running")
	}
	parent, comm := processTable()
	var errs []error
	killed := 0
	for _, pid := range descendants(l.sshd.cmd.Process.Pid, parent) {
		if comm[pid] != "sshd" {
			continue
		}
		if err := killPid(pid); err == nil {
			killed++
		} else if !errors.Is(err, syscall.ESRCH) { // ESRCH: it ended on its own meanwhile
			errs = append(errs, fmt.Errorf("kill sshd session %d: %w", pid, err))
		}
	}
	return killed, errors.Join(errs...)
}

// waitListening waits until p has a TCP socket listening on addr:port, or
// fails when p exits first (with the last line of its log).
func waitListening(p *proc, addr string, port int, log func() string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p.exited() {
			return errors.New(describeExit(p, log()))
		}
		if ok, err := socketListening(p.cmd.Process.Pid, addr, port); err != nil {
			return err
		} else if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not listen on %s:%d after 10s: %s", p.name, addr, port, oneLine(log()))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// socketListening reads /proc/<pid>/net/tcp — the TCP table of pid's
// network namespace — for a listening socket on addr:port. The kernel prints
// an address as its four bytes read as one native-endian number, in hex.
func socketListening(pid int, addr string, port int) (bool, error) {
	ip := net.ParseIP(addr).To4()
	if ip == nil {
		return false, fmt.Errorf("%q is not an IPv4 address", addr)
	}
	want := fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(ip), port)
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "net", "tcp"))
	if err != nil {
		return false, nil // not started yet, or gone: the caller looks again
	}
	defer f.Close()
	return tcpTableHasListener(bufio.NewScanner(f), want), nil
}

// tcpTableHasListener scans /proc/net/tcp lines
// ("sl local_address rem_address st ...") for local == want in state 0A
// (LISTEN).
func tcpTableHasListener(sc *bufio.Scanner, want string) bool {
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && f[1] == want && f[3] == "0A" {
			return true
		}
	}
	return false
}

// hideArgv is the command prefix that starts sshd in a private mount
// namespace where this machine's container engine commands (docker,
// podman, nerdctl) are covered by an empty, non-executable file (a real VM
// does not see its host's engine; without this a lab VM's inventory would
// list the containers other tests run on this machine, their interface
// indexes even pairing with the lab's by chance), docker by
// Options.FakeDocker when set, and every tcpdump binary too with
// Options.HideTcpdump. unshare and sh exec in place, so the process stays
// sshd's; the mounts vanish with the namespace.
func (l *Lab) hideArgv(opt Options) ([]string, error) {
	empty := filepath.Join(l.Dir, "hidden")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return nil, err
	}
	var script strings.Builder
	cover := func(prog, with string) int {
		seen := map[string]bool{}
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"} {
			real, err := filepath.EvalSymlinks(filepath.Join(dir, prog))
			if err != nil || seen[real] {
				continue
			}
			seen[real] = true
			fmt.Fprintf(&script, "mount --bind %s %s && ", shellQuote(with), shellQuote(real))
		}
		return len(seen)
	}
	if opt.HideTcpdump && cover("tcpdump", empty) == 0 {
		return nil, errors.New("HideTcpdump: no tcpdump found on this machine to hide")
	}
	docker := empty
	if opt.FakeDocker != "" {
		fake, err := filepath.Abs(opt.FakeDocker)
		if err != nil {
			return nil, err
		}
		if fi, err := os.Stat(fake); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o005 != 0o005 {
			return nil, fmt.Errorf("FakeDocker: %s is not a regular file anyone may read and execute (%v)", fake, err)
		}
		docker = fake
	}
	if cover("docker", docker) == 0 && opt.FakeDocker != "" {
		return nil, errors.New("FakeDocker: no docker found on this machine to cover")
	}
	cover("podman", empty)
	cover("nerdctl", empty)
	if script.Len() == 0 {
		return nil, nil
	}
	script.WriteString(`exec "$@"`)
	return []string{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script.String(), "sh"}, nil
}

// shellQuote quotes s as one sh word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
