package ctrlab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Rootless Podman, as vmdlab. Measured on Debian 12 (podman 4.3, runc,
// slirp4netns, cgroup v1): it works once vmdlab has sub-ids and
// /dev/net/tun is usable by it; storage is vfs there (no setup needed).
// vmdlab's home is "/", so the rig gives its podman a HOME and an
// XDG_RUNTIME_DIR of the rig's own (a login through a session manager
// would have /run/user/<uid>), and Host sets the same two in every SSH
// session (sshd's SetEnv): `ssh vmdlab@127.0.0.1 podman ps` then sees the
// rig's containers.

const (
	subIDCount = 65536
	podUser    = "vmdlab"
	// tunState keeps /dev/net/tun's mode from before the first rig that
	// changed it, and one file per live process using it.
	tunState = "/run/vmdump-ctrlab-tun"
)

func (r *Rig) preparePodman() error {
	u, err := user.Lookup(podUser)
	if err != nil {
		return fmt.Errorf("rootless podman: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		if err := ensureSubIDs(f, podUser); err != nil {
			return err
		}
	}
	if err := r.markTun(); err != nil {
		return err
	}
	r.podDir = filepath.Join(r.Dir, "podman")
	home, rundir := filepath.Join(r.podDir, "home"), filepath.Join(r.podDir, "run")
	if err := os.Mkdir(r.podDir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{home, rundir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return err
		}
	}
	r.PodmanEnv = []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + rundir,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	return nil
}

// Podman runs podman as vmdlab in the rig's Podman environment and returns
// its stdout.
func (r *Rig) Podman(args ...string) ([]byte, error) {
	if r.podDir == "" {
		return nil, errors.New("ctrlab: the rig has no rootless podman (Options.Rootless)")
	}
	argv := append([]string{"-u", podUser, "--", "env", "-i"}, r.PodmanEnv...)
	argv = append(argv, append([]string{"podman"}, args...)...)
	return run("runuser", argv...)
}

func (r *Rig) startPodman() error {
	img := "localhost/" + r.Prefix + "img:latest"
	if _, err := r.Podman("import", "--change", `ENTRYPOINT ["/ctrapp"]`, r.tar, img); err != nil {
		return err
	}
	c := &Container{rig: r, Engine: "podman", Role: "pod", Name: r.Prefix + "pod", Image: img, Addr: "10.0.2.100"}
	r.containers = append(r.containers, c)
	// runc, not crun: crun fails on a hybrid cgroup v1 machine ("cgroups
	// in hybrid mode not supported") and podman prefers it when installed.
	out, err := r.Podman("--runtime", "runc", "run", "-d", "--name", c.Name,
		"--network", "slirp4netns:allow_host_loopback=true", img,
		"-tag", c.Name, "-to", "10.0.2.2:"+strconv.Itoa(r.EchoPort), "-every", "100ms")
	if err != nil {
		return err
	}
	c.ID = strings.TrimSpace(string(out))
	if err := c.inspect(); err != nil {
		return err
	}
	r.Rootless = c
	return nil
}

// closePodman removes the rootless container and image, ends the podman
// processes of the rig's environment (the pause process, and conmon and
// slirp4netns should they linger) by pid, removes the storage, and puts
// /dev/net/tun back.
func (r *Rig) closePodman() error {
	var errs []error
	for _, c := range r.containers {
		if c.Engine == "podman" && c.ID != "" {
			if _, err := r.Podman("rm", "-f", "-t", "0", c.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if r.PodmanEnv != nil {
		r.Podman("rmi", "-a", "-f") // the rig's own storage holds only its image
	}
	rundir := filepath.Join(r.podDir, "run")
	if b, err := os.ReadFile(filepath.Join(rundir, "libpod", "tmp", "pause.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 && usesDir(pid, r.podDir) {
			killPid(pid)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := processesUsing(r.podDir)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, pid := range left {
				killPid(pid)
			}
			if time.Now().After(deadline.Add(2 * time.Second)) {
				errs = append(errs, fmt.Errorf("podman processes %v of %s still alive", left, r.podDir))
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.RemoveAll(r.podDir); err != nil {
		errs = append(errs, err)
	}
	if r.tunMarked {
		errs = append(errs, r.unmarkTun())
	}
	return errors.Join(errs...)
}

func killPid(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

// usesDir: pid runs as vmdlab with dir in its command line or environment.
func usesDir(pid int, dir string) bool {
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err == nil && strings.Contains(string(b), dir) {
			return true
		}
	}
	return false
}

// processesUsing lists the processes that name dir in their command line or
// environment: podman's pause process, conmon, slirp4netns (not the
// container's own processes, which podman rm ended).
func processesUsing(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if usesDir(pid, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ensureSubIDs gives name a range of subordinate ids in file (/etc/subuid
// or /etc/subgid) if it has none, after every range already there.
func ensureSubIDs(file, name string) error {
	b, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	next := 100000
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) != 3 {
			continue
		}
		if f[0] == name {
			return nil
		}
		start, err1 := strconv.Atoi(f[1])
		n, err2 := strconv.Atoi(f[2])
		if err1 == nil && err2 == nil && start+n > next {
			next = start + n
		}
	}
	line := fmt.Sprintf("%s:%d:%d\n", name, next, subIDCount)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		line = "\n" + line
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// markTun makes /dev/net/tun usable by vmdlab's slirp4netns (mode 0666) for
// as long as some process's rig needs it; unmarkTun puts the mode from
// before the first one back when the last one is done.
func (r *Rig) markTun() error {
	release, err := lock("@vmdump-ctrlab-tun")
	if err != nil {
		return err
	}
	defer release()
	if err := os.MkdirAll(tunState, 0o755); err != nil {
		return err
	}
	users := liveTunUsers()
	orig := filepath.Join(tunState, "mode")
	st, err := os.Stat("/dev/net/tun")
	if err != nil {
		return fmt.Errorf("rootless podman needs /dev/net/tun: %w", err)
	}
	// With no live user, the mode now is the machine's own, unless a dead
	// rig's recorded mode is still there (it never restored it): keep that.
	if _, err := os.Stat(orig); len(users) == 0 && err != nil {
		if err := os.WriteFile(orig, []byte(fmt.Sprintf("%o\n", st.Mode().Perm())), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tunState, tunMark(r.Prefix)), nil, 0o644); err != nil {
		return err
	}
	r.tunMarked = true
	return os.Chmod("/dev/net/tun", 0o666)
}

func (r *Rig) unmarkTun() error {
	release, err := lock("@vmdump-ctrlab-tun")
	if err != nil {
		return err
	}
	defer release()
	os.Remove(filepath.Join(tunState, tunMark(r.Prefix)))
	if len(liveTunUsers()) > 0 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(tunState, "mode"))
	if err != nil {
		return nil // nothing recorded: nothing of ours to undo
	}
	mode, err := strconv.ParseUint(strings.TrimSpace(string(b)), 8, 32)
	if err != nil {
		return err
	}
	if err := os.Chmod("/dev/net/tun", os.FileMode(mode)); err != nil {
		return err
	}
	return os.RemoveAll(tunState)
}

func tunMark(prefix string) string { return strconv.Itoa(os.Getpid()) + "-" + prefix }

// liveTunUsers lists the marks of live processes, removing those of dead
// ones. Callers hold the tun lock.
func liveTunUsers() []string {
	entries, _ := os.ReadDir(tunState)
	var live []string
	for _, e := range entries {
		pid, _, ok := strings.Cut(e.Name(), "-")
		if !ok {
			continue
		}
		p, err := strconv.Atoi(pid)
		if err != nil {
			continue
		}
		if !alive(p) {
			os.Remove(filepath.Join(tunState, e.Name()))
			continue
		}
		live = append(live, e.Name())
	}
	return live
}
