package lab

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// PrereqError says the machine cannot host a lab at all (not Linux, not
// root, a program missing). Start skips the test on it, except under CI,
// where a lab that cannot be built must fail loudly.
type PrereqError struct {
	// OS is set (to runtime.GOOS) when the machine is not Linux: a lab is
	// made of Linux network namespaces, and nothing else is looked at.
	OS      string
	Missing []string
}

func (e *PrereqError) Error() string {
	if e.OS != "" {
		return "the lab needs Linux network namespaces; this is " + e.OS
	}
	return "lab needs root, ip, sshd, tcpdump: missing " + strings.Join(e.Missing, ", ")
}

// sshdPath is where Debian's openssh-server puts sshd; sshd re-executes
// itself for every connection, so it must be an absolute path.
const sshdPath = "/usr/sbin/sshd"

func checkPrereqs(opt Options) error {
	if runtime.GOOS != "linux" {
		return &PrereqError{OS: runtime.GOOS}
	}
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (run the tests as root)")
	}
	progs := []string{"ip", sshdPath, "ssh-keygen", "tcpdump", "sudo", "sysctl", "useradd", "usermod"}
	if opt.Forward {
		progs = append(progs, "socat")
	}
	if opt.HideTcpdump || opt.FakeDocker != "" {
		progs = append(progs, "unshare", "mount")
	}
	if opt.Password != "" || opt.LoginShell != "" {
		progs = append(progs, "userdel")
	}
	if opt.Password != "" {
		progs = append(progs, "chpasswd")
	}
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return &PrereqError{Missing: missing}
	}
	return nil
}
