// Package ctrlab runs real containers on this machine's Docker engine (and
// a rootless Podman one) for the end-to-end tests of container capture
// (issue 14), and makes the machine itself the "Docker VM" that vmdump
// reaches over SSH: a lab.Host, an sshd on 127.0.0.1:<port> as the lab user
// vmdlab with passwordless sudo.
//
// The images need no registry: internal/ctrapp, compiled static, is put in
// a tar and imported (docker import / podman import) with it as the
// entrypoint. A rig starts, each named <Prefix><role>, Prefix being
// vmdc<pid>x<seq>- (so a later rig can reap a dead process's leftovers):
//
//	br     default bridge: messages every 100 ms to the bridge's gateway
//	       (the root namespace, so the host container's echo server); echo
//	       server on :EchoPort, HTTP :80
//	host   --network host: echo server on 0.0.0.0:EchoPort, and messages
//	       every 100 ms to 127.0.0.1:EchoPort (loopback) and to br's
//	       address (over docker0)
//	un     a user-defined network <Prefix>net: messages to its gateway
//	nv     --network none plus a veth pair the rig adds (root end
//	       VethHost VethHostAddr/30, container end eth1 VethCtrAddr/30):
//	       messages every 100 ms to VethHostAddr:EchoPort
//	web    compose project "shop", service "web", on <Prefix>shop: HTTP :80
//	db     compose project "shop", service "db", on <Prefix>shop: GET
//	       http://<web's address>/orders/N every 200 ms
//	pod    (Options.Rootless) rootless Podman as vmdlab with slirp4netns
//	       (allow_host_loopback): messages every 100 ms to
//	       10.0.2.2:EchoPort, slirp's gateway, which is the root
//	       namespace's 127.0.0.1 there, so the host container's echo server
//
// A message is one UDP datagram and one data segment of a kept TCP
// connection (so that a capture keeping only TCP payload has it too), both
// reading "vmdump-ctrapp <tag> <seq>\n" with the tag of the sender (its
// name, Prefix + role), echoed back; `frame contains "vmdump-ctrapp
// vmdc4711x1-br "` finds br's.
//
// Close removes what the rig made, by the names and ids it created:
// containers, networks, images, the veth, Podman's storage and processes,
// and puts /dev/net/tun's mode back. The subuid/subgid lines it adds for
// vmdlab stay, like the user.
package ctrlab

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// Options choose what a rig runs beyond the Docker containers.
type Options struct {
	// Rootless adds the rootless Podman container "pod".
	Rootless bool
}

// Container is one container the rig started.
type Container struct {
	Engine string // "docker" or "podman"
	Role   string // br, un, host, nv, web, db, pod
	Name   string // Prefix + Role
	ID     string // full id
	Image  string // the image it runs
	Addr   string // its IPv4 address on its network ("" for host; nv: VethCtrAddr; pod: 10.0.2.100)
	Pid    int    // its first process, in the host's pid namespace
	args   []string
	rig    *Rig
}

// Rig is a running set of containers on the local engine, reachable as a
// VM through Host. Its fields are read-only facts.
type Rig struct {
	Host   *lab.Host
	Prefix string // vmdc<pid>x<seq>-
	Image  string // docker image, <Prefix>img:latest

	Bridge, UserNet, HostNet, None, Web, DB *Container
	Rootless                                *Container // nil without Options.Rootless

	UserNetwork string // <Prefix>net
	ShopNetwork string // <Prefix>shop
	BridgeGW    string // the default bridge's gateway (the root namespace)
	UserNetGW   string // UserNetwork's gateway
	EchoPort    int    // the host container's UDP echo port

	VethHost     string // root end of the nv container's veth
	VethHostAddr string // 10.232.K.1
	VethCtrAddr  string // 10.232.K.2, on the container's eth1

	// Podman (Options.Rootless): the environment of vmdlab's podman, the
	// same in the rig's own podman calls and, through Host, in SSH sessions.
	PodmanEnv []string
	Dir       string

	// BuildTime is how long New took.
	BuildTime time.Duration

	seq        int64
	tar        string
	networks   []string
	images     []string
	containers []*Container
	podDir     string
	tunMarked  bool
	mu         sync.Mutex
	closed     bool
}

var rigSeq atomic.Int64

// Start builds a rig for a test and closes it when the test ends. Without
// root, docker, or the programs the rig runs, it skips the test, except
// under CI (CI set), where it fails.
func Start(t testing.TB, opt Options) *Rig {
	t.Helper()
	r, err := New(opt)
	if err != nil {
		var pe *PrereqError
		var lpe *lab.PrereqError
		if (errors.As(err, &pe) || errors.As(err, &lpe)) && os.Getenv("CI") == "" {
			t.Skipf("%v", err)
		}
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("container rig teardown: %v", err)
		}
	})
	return r
}

// PrereqError says the machine cannot run a rig (no root, no docker engine,
// a program missing).
type PrereqError struct{ Reason string }

func (e *PrereqError) Error() string { return "container rig: " + e.Reason }

func checkPrereqs(opt Options) error {
	if runtime.GOOS != "linux" {
		return &PrereqError{"needs Linux (network namespaces, a local Docker engine); this is " + runtime.GOOS}
	}
	if os.Geteuid() != 0 {
		return &PrereqError{"needs root"}
	}
	progs := []string{"docker", "go", "ip", "ssh"}
	if opt.Rootless {
		progs = append(progs, "podman", "slirp4netns", "newuidmap", "newgidmap", "runc", "runuser")
	}
	var missing []string
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return &PrereqError{"missing " + strings.Join(missing, ", ")}
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return &PrereqError{fmt.Sprintf("no docker engine answers (docker info: %v: %s)", err, oneLine(string(out)))}
	}
	return nil
}

// New builds a rig. On failure it has removed what it made. The caller
// must Close it.
func New(opt Options) (*Rig, error) {
	if err := checkPrereqs(opt); err != nil {
		return nil, err
	}
	begin := time.Now()
	reapStale()
	seq := rigSeq.Add(1)
	r := &Rig{Prefix: fmt.Sprintf("vmdc%dx%d-", os.Getpid(), seq), seq: seq}
	if err := r.build(opt); err != nil {
		if cerr := r.Close(); cerr != nil {
			err = fmt.Errorf("%w; teardown after the failure: %v", err, cerr)
		}
		return nil, fmt.Errorf("build container rig: %w", err)
	}
	r.BuildTime = time.Since(begin)
	return r, nil
}

func (r *Rig) build(opt Options) error {
	dir, err := os.MkdirTemp("", fmt.Sprintf("vmd%d-ctrlab-", os.Getpid()))
	if err != nil {
		return err
	}
	r.Dir = dir
	if err := os.Chmod(dir, 0o755); err != nil { // vmdlab's podman reads the tar
		return err
	}
	if err := r.buildImageTar(); err != nil {
		return err
	}
	var hostOpt lab.HostOptions
	if opt.Rootless {
		if err := r.preparePodman(); err != nil {
			return err
		}
		hostOpt.Env = r.PodmanEnv[:2] // HOME, XDG_RUNTIME_DIR
	}
	h, err := lab.NewHost(hostOpt)
	if err != nil {
		return err
	}
	r.Host = h

	r.Image = r.Prefix + "img:latest"
	if _, err := docker("import", "--change", `ENTRYPOINT ["/ctrapp"]`, r.tar, r.Image); err != nil {
		return err
	}
	r.images = append(r.images, r.Image)
	r.UserNetwork, r.ShopNetwork = r.Prefix+"net", r.Prefix+"shop"
	for _, n := range []string{r.UserNetwork, r.ShopNetwork} {
		if _, err := docker("network", "create", "--label", "vmdump-ctrlab="+r.Prefix, n); err != nil {
			return err
		}
		r.networks = append(r.networks, n)
	}
	if r.BridgeGW, err = gateway("bridge"); err != nil {
		return err
	}
	if r.UserNetGW, err = gateway(r.UserNetwork); err != nil {
		return err
	}
	if r.EchoPort, err = freeUDPPort(); err != nil {
		return err
	}
	echo := strconv.Itoa(r.EchoPort)

	if r.Bridge, err = r.run("br", nil, "-to", r.BridgeGW+":"+echo, "-echo", ":"+echo, "-http", ":80"); err != nil {
		return err
	}
	if r.HostNet, err = r.run("host", []string{"--network", "host"},
		"-echo", "0.0.0.0:"+echo, "-to", "127.0.0.1:"+echo+","+r.Bridge.Addr+":"+echo); err != nil {
		return err
	}
	if r.UserNet, err = r.run("un", []string{"--network", r.UserNetwork}, "-to", r.UserNetGW+":"+echo); err != nil {
		return err
	}
	if err := r.startNone(echo); err != nil {
		return err
	}
	compose := func(svc string) []string {
		return []string{"--network", r.ShopNetwork,
			"--label", "com.docker.compose.project=shop",
			"--label", "com.docker.compose.service=" + svc,
			"--label", "com.docker.compose.container-number=1",
			"--label", "com.docker.compose.oneoff=False"}
	}
	if r.Web, err = r.run("web", compose("web"), "-http", ":80"); err != nil {
		return err
	}
	if r.DB, err = r.run("db", compose("db"), "-get", "http://"+r.Web.Addr+":80/orders/", "-every", "200ms"); err != nil {
		return err
	}
	if opt.Rootless {
		if err := r.startPodman(); err != nil {
			return err
		}
	}
	return nil
}

// buildImageTar compiles internal/ctrapp static and puts it in a tar as
// /ctrapp.
func (r *Rig) buildImageTar() error {
	bin := filepath.Join(r.Dir, "ctrapp")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/vmdump/vmdump/internal/ctrapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build internal/ctrapp: %v: %s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "ctrapp", Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	r.tar = filepath.Join(r.Dir, "image.tar")
	return os.WriteFile(r.tar, buf.Bytes(), 0o644)
}

// run starts a docker container of the rig's image: role names it and is
// its ctrapp tag.
func (r *Rig) run(role string, dockerArgs []string, appArgs ...string) (*Container, error) {
	c := &Container{rig: r, Engine: "docker", Role: role, Name: r.Prefix + role, Image: r.Image,
		args: append(append([]string{}, dockerArgs...), append([]string{r.Image, "-tag", r.Prefix + role}, appArgs...)...)}
	r.containers = append(r.containers, c)
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Container) start() error {
	args := append([]string{"run", "-d", "--name", c.Name, "--label", "vmdump-ctrlab=1"}, c.args...)
	out, err := docker(args...)
	if err != nil {
		return err
	}
	c.ID = strings.TrimSpace(string(out))
	return c.inspect()
}

func (c *Container) inspect() error {
	out, err := c.engine("inspect", "-f", "{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", c.Name)
	if err != nil {
		return err
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return fmt.Errorf("%s inspect %s: no pid in %q", c.Engine, c.Name, out)
	}
	if c.Pid, err = strconv.Atoi(f[0]); err != nil || c.Pid == 0 {
		return fmt.Errorf("%s inspect %s: pid %q: the container is not running", c.Engine, c.Name, f[0])
	}
	if len(f) > 1 && c.Engine == "docker" {
		c.Addr = f[1]
	}
	return nil
}

// Restart is `docker restart`: same container, new processes (and pid).
func (r *Rig) Restart(c *Container) error {
	if _, err := c.engine("restart", "-t", "1", c.Name); err != nil {
		return err
	}
	return c.inspect()
}

// Recreate removes the container (`docker rm -f`) and runs a new one with
// the same name and arguments: a new id.
func (r *Rig) Recreate(c *Container) error {
	if c.Engine != "docker" {
		return errors.New("ctrlab: Recreate is for docker containers")
	}
	if _, err := docker("rm", "-f", c.ID); err != nil {
		return err
	}
	return c.start()
}

// Stop is `docker stop -t 1`: the container stays, not running, until
// Restart starts it again.
func (r *Rig) Stop(c *Container) error {
	_, err := c.engine("stop", "-t", "1", c.Name)
	return err
}

// Remove is `docker rm -f`: the container is gone until Rerun runs it
// again under its name (a new id). Close removes a container left removed
// by its name, ignoring that there is none.
func (r *Rig) Remove(c *Container) error {
	if c.Engine != "docker" {
		return errors.New("ctrlab: Remove is for docker containers")
	}
	if _, err := docker("rm", "-f", c.ID); err != nil {
		return err
	}
	c.ID, c.Pid = "", 0
	return nil
}

// Rerun runs a container that Remove removed again, with the same name and
// arguments.
func (r *Rig) Rerun(c *Container) error {
	if c.Engine != "docker" || c.ID != "" {
		return errors.New("ctrlab: Rerun is for a docker container that Remove removed")
	}
	return c.start()
}

// HostNetwork: the container shares the root network namespace.
func (c *Container) HostNetwork() bool { return c.Role == "host" }

// Containers lists the rig's containers, rootless last.
func (r *Rig) Containers() []*Container {
	return append([]*Container(nil), r.containers...)
}

// startNone runs the nv container without a network and links it to the
// root namespace by a veth pair in 10.232.K.0/30.
func (r *Rig) startNone(echo string) error {
	release, err := lock("@vmdump-ctrlab-veth")
	if err != nil {
		return err
	}
	defer release()
	k, err := freeVethNet()
	if err != nil {
		return err
	}
	r.VethHostAddr, r.VethCtrAddr = fmt.Sprintf("10.232.%d.1", k), fmt.Sprintf("10.232.%d.2", k)
	if r.None, err = r.run("nv", []string{"--network", "none"}, "-to", r.VethHostAddr+":"+echo); err != nil {
		return err
	}
	r.None.Addr = r.VethCtrAddr
	veth := fmt.Sprintf("vmdv%dx%d", os.Getpid(), r.seq)
	if len(veth) > 15 {
		veth = veth[:15]
	}
	netns := fmt.Sprintf("/proc/%d/ns/net", r.None.Pid)
	if _, err := run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth1", "netns", netns); err != nil {
		return err
	}
	r.VethHost = veth
	if _, err := run("ip", "link", "set", veth, "alias", r.Prefix); err != nil {
		return err
	}
	if _, err := run("ip", "addr", "add", r.VethHostAddr+"/30", "dev", veth); err != nil {
		return err
	}
	if _, err := run("ip", "link", "set", veth, "up"); err != nil {
		return err
	}
	ns := strconv.Itoa(r.None.Pid)
	if _, err := run("nsenter", "-t", ns, "-n", "ip", "addr", "add", r.VethCtrAddr+"/30", "dev", "eth1"); err != nil {
		return err
	}
	_, err = run("nsenter", "-t", ns, "-n", "ip", "link", "set", "eth1", "up")
	return err
}

// freeVethNet picks K for 10.232.K.0/30 that no root-namespace address uses.
func freeVethNet() (int, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return 0, err
	}
	used := map[int]bool{}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip := ipn.IP.To4(); ip != nil && ip[0] == 10 && ip[1] == 232 {
				used[int(ip[2])] = true
			}
		}
	}
	for k := 1 + os.Getpid()%200; k <= 250; k++ {
		if !used[k] {
			return k, nil
		}
	}
	for k := 1; k <= 250; k++ {
		if !used[k] {
			return k, nil
		}
	}
	return 0, errors.New("no free 10.232.K.0/30 for the veth")
}

func gateway(network string) (string, error) {
	out, err := docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}} {{end}}", network)
	if err != nil {
		return "", err
	}
	for _, g := range strings.Fields(string(out)) {
		if ip := net.ParseIP(g); ip != nil && ip.To4() != nil {
			return g, nil
		}
	}
	// The default bridge's IPAM may name no gateway: its bridge
	// interface's address is the gateway then.
	out, err = docker("network", "inspect", "-f", `{{index .Options "com.docker.network.bridge.name"}}`, network)
	if err != nil {
		return "", err
	}
	if ifi, err := net.InterfaceByName(strings.TrimSpace(string(out))); err == nil {
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String(), nil
			}
		}
	}
	return "", fmt.Errorf("network %s has no IPv4 gateway (bridge %q)", network, strings.TrimSpace(string(out)))
}

func freeUDPPort() (int, error) {
	pc, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		return 0, err
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port, nil
}

// Close removes the containers, networks, images, veth and Podman state the
// rig made, and the host. Safe to call more than once.
func (r *Rig) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	var errs []error
	var ids []string
	for _, c := range r.containers {
		if c.Engine == "docker" && c.ID != "" {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) > 0 {
		if _, err := docker(append([]string{"rm", "-f"}, ids...)...); err != nil {
			errs = append(errs, err)
		}
	}
	// A failed start has no id yet; a container of that name may exist.
	for _, c := range r.containers {
		if c.Engine == "docker" && c.ID == "" {
			docker("rm", "-f", c.Name)
		}
	}
	if r.VethHost != "" {
		if _, err := os.Stat(filepath.Join("/sys/class/net", r.VethHost)); err == nil {
			if _, err := run("ip", "link", "del", r.VethHost); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, n := range r.networks {
		if _, err := docker("network", "rm", n); err != nil {
			errs = append(errs, err)
		}
	}
	for _, img := range r.images {
		if _, err := docker("rmi", img); err != nil {
			errs = append(errs, err)
		}
	}
	if r.podDir != "" {
		errs = append(errs, r.closePodman())
	}
	if r.Host != nil {
		errs = append(errs, r.Host.Close())
	}
	if r.Dir != "" {
		errs = append(errs, os.RemoveAll(r.Dir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rig %s: %w", r.Prefix, err)
	}
	return nil
}

func docker(args ...string) ([]byte, error) { return run("docker", args...) }

// engine runs a command of the container's engine: docker as root, podman
// as vmdlab in the rig's Podman environment.
func (c *Container) engine(args ...string) ([]byte, error) {
	if c.Engine == "podman" {
		return c.rig.Podman(args...)
	}
	return docker(args...)
}

func run(name string, args ...string) ([]byte, error) {
	return runEnv(nil, name, args...)
}

func runEnv(env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	if env != nil {
		cmd.Env = env
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, oneLine(stderr.String()))
	}
	return out, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// lock takes an abstract unix socket name as a machine-wide lock.
func lock(name string) (func(), error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ln, err := net.Listen("unix", name)
		if err == nil {
			return func() { ln.Close() }, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
