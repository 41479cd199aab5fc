package lab

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// The lab user. Each index N has its own user, vmdlab<N>, so that two labs
// running at once never share a login shell, password or sudoers file; the
// lab that holds index N owns vmdlab<N> until it closes.
//
// Users are created once and never deleted: deleting a user while a
// reparented process of a killed session may still run is racy, and a
// handful of locked accounts (password '*', no home, at most as many as labs
// ever ran at once) harm nothing. What a lab changes it undoes: the sudoers
// file goes, a password it set is locked again ('*'), a shell it set is
// /bin/sh again.
//
// The home directory is "/": sshd must be able to chdir there (otherwise
// every session prints a complaint on stderr), and usermod refuses to move
// a home while the user has processes, so a fixed one is simplest.

// sudoersHeader opens a lab sudoers file; the VM namespace name follows, so
// the reaper knows which process owned it.
const sudoersHeader = "# vmdump lab "

// setUpUser makes (or resets) the user for a lab. Callers hold labLock.
func setUpUser(name, shell, password, ownerNS string, nopasswd bool) error {
	if _, err := user.Lookup(name); err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return fmt.Errorf("look up user %s: %w", name, err)
		}
		if _, err := run("useradd", "-M", "-d", "/", "-p", "*", "-s", shell, name); err != nil {
			return err
		}
	} else if _, err := run("usermod", "-p", "*", "-s", shell, name); err != nil {
		return err
	}
	if password != "" {
		if _, err := runInput([]byte(name+":"+password+"\n"), "chpasswd"); err != nil {
			// chpasswd echoes nothing of the password; keep it out of the
			// error anyway.
			return fmt.Errorf("set the lab user's password with chpasswd: %w", err)
		}
	}
	return writeSudoers(name, ownerNS, nopasswd)
}

// writeSudoers grants passwordless sudo, as Docker VMs give their user
// (nopasswd), or sudo that wants a password (Options.SudoNeedsPassword).
// Written under a name with a dot first (sudo skips those) and renamed, so
// sudo never reads half a file.
func writeSudoers(name, ownerNS string, nopasswd bool) error {
	tag := "NOPASSWD: "
	if !nopasswd {
		tag = ""
	}
	body := fmt.Sprintf("%s%s\n%s ALL=(ALL) %sALL\n", sudoersHeader, ownerNS, name, tag)
	final := filepath.Join(sudoersDir, name)
	tmp := final + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o440); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o440); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, final)
}

// resetUser puts back the '*' password (no password login possible) and
// /bin/sh (a lab's busybox link goes with its directory).
func resetUser(name string) error {
	_, err := run("usermod", "-p", "*", "-s", "/bin/sh", name)
	return err
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
