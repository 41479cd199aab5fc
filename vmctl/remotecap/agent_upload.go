package remotecap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/internal/shquote"

	"github.com/vmdump/vmdump/vmctl/agentbin"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// agentArch maps `uname -m` to the agent build that runs there.
func agentArch(machine string) (string, error) {
	switch m := strings.TrimSpace(machine); m {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64", "armv8l":
		return "arm64", nil
	case "":
		return "", fmt.Errorf("the VM did not say its architecture (uname -m)")
	default:
		return "", fmt.Errorf("vmdump's capture agent runs on x86_64 and aarch64 only, the VM is %s", sshconn.ClipValue(m))
	}
}

// AgentRuns says whether vmdump's capture agent runs on the probed VM (its
// architecture is one the agent is built for), so that a capture without
// tcpdump there still works with the default capture program.
func AgentRuns(p probe.Probe) bool {
	_, err := agentArch(p.Arch)
	return err == nil
}

// agentUploadScript receives the agent on stdin into a fresh private
// directory (umask 077, mktemp -d) and runs it once with -version: that
// proves the bytes arrived whole and that the directory allows executing
// (a /tmp mounted noexec does not; /var/tmp, /dev/shm and $HOME are tried
// next, with a copy). It prints key=value lines for vmdump to check.
// POSIX sh, free of single quotes (it travels as one quoted word).
const agentUploadScript = `
umask 077
f=
for b in "${TMPDIR:-/tmp}" /var/tmp /dev/shm "${HOME:-/nonexistent}"; do
if [ ! -d "$b" ] || [ ! -w "$b" ]; then continue; fi
d=$(mktemp -d "$b/vmdump-agent.XXXXXX" 2>/dev/null) || continue
if [ -z "$f" ]; then
cat >"$d/vmdump-agent" || { rm -rf "$d"; echo "vmdump: cannot write the capture agent to $b" >&2; exit 1; }
f="$d/vmdump-agent"
elif ! cp "$f" "$d/vmdump-agent" 2>/dev/null; then
rm -rf "$d"; continue
fi
chmod 700 "$d/vmdump-agent"
if v=$("$d/vmdump-agent" -version 2>&1); then
if [ "$f" != "$d/vmdump-agent" ]; then rm -rf "${f%/*}"; fi
echo "dir=$d"
echo "size=$(wc -c <"$d/vmdump-agent")"
if command -v sha256sum >/dev/null 2>&1; then echo "sha256=$(sha256sum <"$d/vmdump-agent")"; fi
echo "version=$v"
exit 0
fi
echo "failed=$b: $v" | head -n 1
if [ "$f" != "$d/vmdump-agent" ]; then rm -rf "$d"; fi
done
if [ -z "$f" ]; then cat >/dev/null; echo "vmdump: no writable temporary directory" >&2; exit 1; fi
rm -rf "${f%/*}"
exit 1
`

// agentUpload is what the upload script reported.
type agentUpload struct {
	dir, sha256, version string
	size                 int64
	failed               []string // directories where the agent did not run, and why
}

func parseAgentUpload(out string) agentUpload {
	var u agentUpload
	u.size = -1
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(l, "\r"), "=")
		if !ok {
			continue
		}
		switch k {
		case "dir":
			u.dir = v
		case "size":
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				u.size = n
			}
		case "sha256":
			if f := strings.Fields(v); len(f) > 0 {
				u.sha256 = f[0]
			}
		case "version":
			u.version = strings.TrimSpace(v)
		case "failed":
			u.failed = append(u.failed, v)
		}
	}
	return u
}

// check compares the report with what was sent.
func (u agentUpload) check(bin []byte, arch string) error {
	sum := sha256.Sum256(bin)
	switch {
	case u.dir == "" || !strings.HasPrefix(u.dir, "/"):
		if len(u.failed) > 0 {
			return fmt.Errorf("the capture agent does not run there (%s): install tcpdump in the VM", sshconn.ClipValue(u.failed[len(u.failed)-1]))
		}
		return fmt.Errorf("the upload reported no directory")
	case u.size != int64(len(bin)):
		return fmt.Errorf("the capture agent arrived with %d of %d bytes", u.size, len(bin))
	case u.sha256 != "" && u.sha256 != hex.EncodeToString(sum[:]):
		return fmt.Errorf("the capture agent arrived damaged (SHA-256 differs)")
	case u.version != "vmdump-agent linux/"+arch:
		return fmt.Errorf("the capture agent answered %q, want linux/%s", sshconn.ClipValue(u.version), arch)
	}
	return nil
}

// remoteAgent is the capture agent uploaded to the VM for this capture,
// shared by the interfaces' captures. Each capture's wrapper removes the
// directory when it exits (also when vmdump vanished: stdin EOF ends it);
// release, after the last capture, removes it from vmdump's side too, for
// a wrapper that was killed outright.
type remoteAgent struct {
	conn      *sshconn.Conn
	path, dir string
	users     atomic.Int32
	once      sync.Once
}

// agentFile is the agent's name on the VM, what the wrapper runs.
const agentFile = "vmdump-agent"

// uploadAgent sends the agent for the VM's architecture over a session of
// its own and checks it arrived whole and runs.
func uploadAgent(ctx context.Context, c *sshconn.Conn, p probe.Probe) (*remoteAgent, error) {
	arch, err := agentArch(p.Arch)
	if err != nil {
		return nil, fmt.Errorf("cannot use the capture agent on %s: %v: install tcpdump in the VM", p.VMLabel(), err)
	}
	bin, err := agentbin.Binary(arch)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, errOut, err := c.RunWithStdin(ctx, "exec sh -c "+shquote.Quote(shquote.OneLine(agentUploadScript)), bin)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("uploading the capture agent to %s: %v", p.VMLabel(), ctx.Err())
	}
	u := parseAgentUpload(out)
	if cerr := u.check(bin, arch); cerr != nil {
		if u.dir == "" && len(u.failed) == 0 {
			if why := oneline.LastLines(errOut, 1); why != "" {
				cerr = fmt.Errorf("%s", strings.TrimPrefix(why, "vmdump: "))
			} else if err != nil {
				cerr = fmt.Errorf("%s", oneline.Err(err))
			}
		}
		if strings.HasPrefix(u.dir, "/") {
			removeAgentDir(c, u.dir)
		}
		return nil, fmt.Errorf("cannot upload the capture agent to %s: %v", p.VMLabel(), cerr)
	}
	c.Log().Debug("capture agent uploaded", "vm", c.VM().ID, "dir", u.dir, "arch", arch, "bytes", len(bin))
	return &remoteAgent{conn: c, dir: u.dir, path: u.dir + "/" + agentFile}, nil
}

// acquire counts one more capture using the agent.
func (a *remoteAgent) acquire() { a.users.Add(1) }

// release is called when a capture using the agent has ended; after the
// last one the directory is removed (best effort: the wrappers have
// normally removed it already).
func (a *remoteAgent) release() {
	if a.users.Add(-1) <= 0 {
		a.once.Do(func() { removeAgentDir(a.conn, a.dir) })
	}
}

// removeAgentDir removes an agent directory, bounded in time: a dead link
// must not hold vmdump's exit.
func removeAgentDir(c *sshconn.Conn, dir string) {
	if !strings.Contains(dir, "/vmdump-agent.") {
		return // only ever what the upload script created
	}
	select {
	case <-c.Dead():
		return // no session can reach the VM
	case <-c.Closed():
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := c.RunCommand(ctx, "exec rm -rf -- "+shquote.Quote(dir), 1<<10); err != nil {
		c.Log().Debug("removing the capture agent", "vm", c.VM().ID, "dir", dir, "err", err)
	}
}
