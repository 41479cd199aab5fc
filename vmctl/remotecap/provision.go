package remotecap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// ProvisionTimeout bounds an install when the caller's ctx has no
// deadline: a package manager that waits on a lock or a dead mirror must
// not hold a capture or `vmdump provision` forever.
const ProvisionTimeout = 3 * time.Minute

// ProvisionResult says what `vmdump provision` did on one VM.
type ProvisionResult struct {
	VM       string        // "VM default"
	Ran      []string      // the commands that ran, as typed: "sudo apt-get install -y tcpdump"
	Exit     int           // the last command's exit status; -1 when unknown
	Output   string        // the last command's output tail (stdout, then stderr)
	Duration time.Duration // from the first command's start to the check after
	// Already: the probe found tcpdump, nothing ran.
	Already bool
	// Probe is the VM after the install (a fresh probe), or the one given
	// when nothing ran.
	Probe probe.Probe
}

// String is the one line for a person: what ran, how long it took, where
// tcpdump is now.
func (r ProvisionResult) String() string {
	if r.Already {
		return fmt.Sprintf("tcpdump is already installed on %s: %s", r.VM, r.Probe.Tcpdump)
	}
	return fmt.Sprintf("installed tcpdump on %s with `%s` (%.1f s): %s", r.VM, strings.Join(r.Ran, "; "), r.Duration.Seconds(), r.Probe.Tcpdump)
}

// ProvisionPlan is the command `vmdump provision` would run on the VM the
// probe describes, for --dry-run; an error when it would not run one.
func ProvisionPlan(p probe.Probe, priv Priv) (string, error) {
	plan, err := planInstall(p, priv)
	if err != nil {
		return "", err
	}
	return plan.install.display(), nil
}

// Provision installs tcpdump on c's VM with the package manager the
// probe p points to (see chooseInstaller), under `sudo -n` unless the
// login user is root or priv says otherwise, then probes again to confirm
// tcpdump is there. Nothing can prompt: stdin is closed, the package
// manager gets its non-interactive flags, sudo gets -n. Without a deadline
// in ctx it allows ProvisionTimeout. Errors are one line naming the
// command, its exit status and last message, and what to do.
func Provision(ctx context.Context, c *sshconn.Conn, p probe.Probe, priv Priv) (ProvisionResult, error) {
	if p.Label == "" {
		p.Label, p.VMID = c.Label(), c.VM().ID
	}
	res := ProvisionResult{VM: p.VMLabel(), Exit: -1, Probe: p}
	if p.Tcpdump != "" {
		res.Already = true
		return res, nil
	}
	plan, err := planInstall(p, priv)
	if err != nil {
		return res, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ProvisionTimeout)
		defer cancel()
	}
	start := time.Now()
	run, err := plan.run(func(s installStep) (installRun, error) {
		res.Ran = append(res.Ran, s.display())
		c.Log().Info("installing tcpdump", "vm", c.VM().ID, "command", s.display())
		run, err := runInstallStep(ctx, c, s)
		c.Log().Info("install step ended", "vm", c.VM().ID, "exit", run.exit, "err", err, "output", oneline.LastLines(run.output(), 3))
		return run, err
	})
	res.Exit, res.Output = run.exit, run.output()
	res.Duration = time.Since(start)
	if err != nil {
		return res, provisionFailed(plan, res, err)
	}
	if run.exit != 0 {
		return res, provisionFailed(plan, res, nil)
	}
	np, err := probe.Run(ctx, c)
	res.Duration = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("`%s` ended well on %s, but probing it again failed: %s", lastRan(res), plan.vm, oneline.Err(err))
	}
	res.Probe = np
	if np.Tcpdump == "" {
		return res, fmt.Errorf("`%s` ended well on %s, but tcpdump is still not on PATH there (%s): install it by hand", lastRan(res), plan.vm, cmp.Or(oneline.LastLines(res.Output, 1), "no output"))
	}
	return res, nil
}

// run runs the plan's steps with step: the install; when it failed for
// lack of package lists, the refresh once and, if that went well, the
// install again. It returns the last step's run.
func (plan installPlan) run(step func(installStep) (installRun, error)) (installRun, error) {
	run, err := step(plan.install)
	if err == nil && run.exit != 0 && plan.refresh != nil && run.mentions(plan.noIndex) {
		if run, err = step(*plan.refresh); err == nil && run.exit == 0 {
			run, err = step(plan.install)
		}
	}
	return run, err
}

// provisionFailed is the one line for an install that failed: the
// command, its exit status and last message, and what to do. runErr is a
// session that could not run or a ctx that ended first.
func provisionFailed(plan installPlan, res ProvisionResult, runErr error) error {
	cmd := lastRan(res)
	switch {
	case errors.Is(runErr, context.DeadlineExceeded):
		return fmt.Errorf("installing tcpdump on %s with `%s` did not finish in time; vmdump stopped waiting (it may still run there): run it on the VM yourself to see why", plan.vm, cmd)
	case runErr != nil:
		return fmt.Errorf("installing tcpdump on %s with `%s` failed: %s", plan.vm, cmd, oneline.Err(runErr))
	}
	why := cmp.Or(oneline.LastLines(res.Output, 1), "no message")
	low := strings.ToLower(res.Output)
	todo := "run it on the VM yourself to see why"
	switch {
	case strings.Contains(low, "a password is required"), strings.Contains(low, "a terminal is required"), strings.Contains(low, "no tty present"):
		todo = "allow passwordless sudo there, or log in as root"
	case res.Exit == 127:
		todo = "the package manager is not on PATH there; install tcpdump by hand"
	}
	return fmt.Errorf("installing tcpdump on %s with `%s` failed (exit %d): %s; %s", plan.vm, cmd, res.Exit, why, todo)
}

func lastRan(res ProvisionResult) string {
	if len(res.Ran) == 0 {
		return ""
	}
	return res.Ran[len(res.Ran)-1]
}

// installRun is what one install step left behind.
type installRun struct {
	exit           int // -1 when unknown
	stdout, stderr string
}

// output is stdout's tail then stderr's, where package managers put the
// reason they failed.
func (r installRun) output() string {
	return strings.TrimSpace(strings.TrimSpace(r.stdout) + "\n" + strings.TrimSpace(r.stderr))
}

// mentions reports whether the output holds any of the lower-case words.
func (r installRun) mentions(words []string) bool {
	low := strings.ToLower(r.output())
	for _, w := range words {
		if strings.Contains(low, w) {
			return true
		}
	}
	return false
}

// runInstallStep runs one step in its own session, keeping the tail of
// its output. The error is for a session that could not start or a ctx
// that ended first (the session is then closed; the command may go on
// running on the VM).
func runInstallStep(ctx context.Context, c *sshconn.Conn, s installStep) (installRun, error) {
	run := installRun{exit: -1}
	sess, err := c.NewSession()
	if err != nil {
		return run, err
	}
	defer sess.Close()
	stdout := &sshconn.TailBuffer{Max: 4 << 10}
	stderr := &sshconn.TailBuffer{Max: 4 << 10}
	sess.SetStdout(stdout)
	sess.SetStderr(stderr)
	done := make(chan error, 1)
	go func() { done <- sshconn.RunSession(sess, s.command()) }()
	select {
	case werr := <-done:
		if run.exit = sshconn.ExitStatus(werr); run.exit < 0 {
			err = werr // no exit status: the session broke
		}
	case <-ctx.Done():
		sess.Terminate()
		_ = sess.Close()
		err = ctx.Err()
	}
	run.stdout, run.stderr = stdout.String(), stderr.String()
	return run, err
}
