package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// The lab user. Labs log in as one shared system user, vmdlab: the first
// lab built on the machine creates it (under labLock, so parallel labs of
// one process or of several create it once), locked (password '*': no
// password login, yet key login works), home "/" (sshd must be able to
// chdir there), shell /bin/sh; it is kept, and no lab changes it.
//
// A lab's sudo rule is its own nonetheless: `ip netns exec` bind-mounts
// each entry of /etc/netns/<namespace>/ over /etc/<entry> for the command
// it runs (ip-netns(8)), and the lab's sshd, hence every SSH session, and
// any `ip netns exec <VM namespace> ...` (Lab.Exec, a test's runuser) run
// so. A lab's etc directory holds sudoers.d/<user>: passwordless sudo, or
// sudo wanting a password (Options.SudoNeedsPassword), in place of the
// machine's /etc/sudoers.d. Close removes the directory; the reaper
// removes those of dead labs (reap.go). /etc/netns itself, iproute2's
// folder, stays.
//
// A password (Options.Password) or a login shell (Options.LoginShell) is
// the user's entry in /etc/shadow and /etc/passwd, which labs open at once
// cannot share, and which cannot be bind-mounted per lab like sudoers.d: a
// mount on a file is dropped when the host replaces that file (useradd,
// usermod and chpasswd write a new /etc/passwd or /etc/shadow and rename
// it over the old one). Such a lab has a user of its own,
// vmdlab-<namespace>, created for it and deleted by Close, or by the
// reaper once its process is dead.
//
// Earlier versions had a user per lab index, vmdlab<N>; the reaper deletes
// those that nothing uses any more (reapLegacyUsers).

const (
	labUser  = "vmdlab"
	etcNetns = "/etc/netns"
)

// sudoersHeader opens a lab sudoers file; the VM namespace name follows.
// (Earlier versions' files in /etc/sudoers.d start so too; the reaper reads
// the owner from it.)
const sudoersHeader = "# vmdump lab "

// ownUserName is the user of its own of a lab with a password or a login
// shell; ownUserNS reads the VM namespace back from it.
func ownUserName(ns string) string { return labUser + "-" + ns }

func ownUserNS(name string) (string, bool) {
	ns, ok := strings.CutPrefix(name, labUser+"-")
	return ns, ok && nsNameRE().MatchString(ns)
}

// ensureUser creates the shared lab user if it does not exist yet, and
// puts back '*' and /bin/sh should anything have changed them. Callers
// hold labLock.
func ensureUser() error {
	f, ok, err := passwdEntry("/etc/passwd", labUser)
	if err != nil {
		return err
	}
	if !ok {
		return addUser(labUser, "/bin/sh")
	}
	if f[5] != "/" {
		return fmt.Errorf("user %s exists with home %s: it is not vmdump's lab user (remove or rename it)", labUser, f[5])
	}
	s, ok, err := passwdEntry("/etc/shadow", labUser)
	if err != nil {
		return err
	}
	if f[6] != "/bin/sh" || !ok || s[1] != "*" {
		_, err := run("usermod", "-p", "*", "-s", "/bin/sh", labUser)
		return err
	}
	return nil
}

// addUser creates a locked system user without a home folder.
func addUser(name, shell string) error {
	_, err := run("useradd", "--system", "-M", "-d", "/", "-p", "*", "-s", shell, "-c", "vmdump test lab", name)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 9) { // 9: the name is taken (a rerun)
		return err
	}
	return nil
}

// setUpOwnUser creates the user of its own of a lab with a password or a
// login shell. A user of that name can only be a dead process's (the
// namespace name has this process's pid and was just made): it is
// replaced. Callers hold labLock.
func setUpOwnUser(name, shell, password string) error {
	if _, ok, err := passwdEntry("/etc/passwd", name); err != nil {
		return err
	} else if ok {
		if _, err := run("userdel", "-f", name); err != nil {
			return err
		}
	}
	if err := addUser(name, shell); err != nil {
		return err
	}
	if password != "" {
		if _, err := runInput([]byte(name+":"+password+"\n"), "chpasswd"); err != nil {
			// chpasswd echoes nothing of the password; keep it out of the
			// error anyway.
			return fmt.Errorf("set the lab user's password with chpasswd: %w", err)
		}
	}
	return nil
}

// passwdEntry returns the colon-separated fields of name's line in an
// /etc/passwd-style file (passwd: 7 fields, shadow: 9).
func passwdEntry(file, name string) ([]string, bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if f[0] == name && len(f) >= 7 {
			return f, true, nil
		}
	}
	return nil, false, nil
}

// writeEtc makes the lab's etc directory, /etc/netns/<namespace>, with the
// sudo rule for l.User: passwordless (nopasswd) or not. The file is
// written under a name with a dot first and renamed (sudo skips such
// names), so that sudo never reads half a file.
func (l *Lab) writeEtc(nopasswd bool) error {
	if err := os.MkdirAll(etcNetns, 0o755); err != nil {
		return err
	}
	dir := filepath.Join(etcNetns, l.Namespace)
	// The name is this process's and its namespace was just made: a
	// directory of that name is what a dead process of the same pid left.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	l.etcDir = dir
	sudoers := filepath.Join(dir, "sudoers.d")
	if err := os.Mkdir(sudoers, 0o755); err != nil {
		return err
	}
	tag := "NOPASSWD: "
	if !nopasswd {
		tag = ""
	}
	body := fmt.Sprintf("%s%s\n%s ALL=(ALL) %sALL\n", sudoersHeader, l.Namespace, l.User, tag)
	final := filepath.Join(sudoers, l.User)
	tmp := filepath.Join(sudoers, "."+l.User+".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o440); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o440); err != nil { // past the umask
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, final)
}

// uidBusy reports whether a process runs with uid (real, effective, saved
// or filesystem): userdel refuses such a user, and so does the reaper.
func uidBusy(uid string) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if rest, ok := bytes.CutPrefix(line, []byte("Uid:")); ok {
				for _, f := range strings.Fields(string(rest)) {
					if f == uid {
						return true
					}
				}
				break
			}
		}
	}
	return false
}

// loginShell turns Options.LoginShell into a path for /etc/passwd: either a
// program ("/bin/sh") or a busybox-style "program applet" ("/bin/busybox
// ash"), which becomes a symlink named after the applet in dir, since a
// passwd shell is one path and busybox picks the applet from argv[0].
func loginShell(spec, dir string) (string, error) {
	fields := strings.Fields(spec)
	switch len(fields) {
	case 0:
		return "/bin/sh", nil
	case 1:
		if err := checkExecutable(fields[0]); err != nil {
			return "", err
		}
		return fields[0], nil
	case 2:
		prog, applet := fields[0], fields[1]
		if err := checkExecutable(prog); err != nil {
			return "", err
		}
		if strings.ContainsRune(applet, '/') {
			return "", fmt.Errorf("login shell %q: the applet name %q must not contain '/'", spec, applet)
		}
		link := filepath.Join(dir, applet)
		if err := os.Symlink(prog, link); err != nil {
			return "", err
		}
		return link, nil
	default:
		return "", fmt.Errorf("login shell %q: give a program, optionally followed by one busybox applet name", spec)
	}
}

func checkExecutable(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("login shell %q must be an absolute path", path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("login shell: %w", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("login shell %s is not an executable file", path)
	}
	return nil
}
