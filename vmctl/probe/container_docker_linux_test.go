package probe

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// The Docker engine of this machine plays the VM's: the tests import an
// image holding one static program (busybox-static's busybox, else a Go
// program built here), run named containers on the default bridge, on the
// host network, on none and with compose and pod labels, and read them with
// the inventory and FindContainer over the exec transport (env sh -c ...:
// this machine as the VM, no SSH).

// requireDockerEngine skips without a working Docker engine, except under
// CI, which has one.
func requireDockerEngine(t *testing.T) {
	t.Helper()
	why := ""
	if _, err := exec.LookPath("docker"); err != nil {
		why = "the docker command is not installed"
	} else if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		why = "no Docker engine answers: " + strings.TrimSpace(string(out))
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("Docker engine test cannot run: %s (CI must provide a Docker engine)", why)
	}
	t.Skipf("Docker engine test skipped: %s", why)
}

func dockerRun(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// sleeperImage imports an image holding one program that sleeps (busybox's
// applet, or a Go loop) and returns its id and the command to run; the
// image is removed when the test ends.
func sleeperImage(t *testing.T, tag string) (id string, cmd []string) {
	t.Helper()
	// busybox picks its applet by its own name: it keeps it.
	bin, inImage, cmd := "/bin/busybox", "bin/busybox", []string{"/bin/busybox", "sleep", "3600"}
	if !isStatic(bin) {
		if _, err := exec.LookPath("go"); err != nil {
			t.Fatal("neither a static busybox (apt busybox-static) nor the go command to build a static program")
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module sleeper\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"time\"\n\nfunc main() {\n\tfor {\n\t\ttime.Sleep(time.Hour)\n\t}\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		build := exec.Command("go", "build", "-o", "sleeper", ".")
		build.Dir = dir
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building the sleeper: %v\n%s", err, out)
		}
		bin, inImage, cmd = filepath.Join(dir, "sleeper"), "bin/sleeper", []string{"/bin/sleeper"}
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: inImage, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(prog))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write(prog); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	id = dockerRun(t, "import", file, tag)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", id).Run() })
	return id, cmd
}

// isStatic: an ELF executable without an interpreter.
func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return f.Type == elf.ET_EXEC || f.Type == elf.ET_DYN
}

// localConn is this machine as a VM over the exec transport: every session
// is `env [vars] sh -c <command>` here.
func localConn(t *testing.T, env ...string) *sshconn.Conn {
	t.Helper()
	c, err := sshconn.Dial(context.Background(), vmctl.VM{Name: "local", Exec: append([]string{"env"}, env...)}, sshconn.DialOptions{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testContainer is one container the test started and what Docker says.
type testContainer struct {
	name, id    string
	pid         int
	netns       string // readlink /proc/<pid>/ns/net here; "" without the rights
	network     string // HostConfig.NetworkMode
	addrs       []string
	compose     string
	pod         string
	hostNetwork bool
}

func TestInventoryAndFindContainerDocker(t *testing.T) {
	requireDockerEngine(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	prefix := "vmdprobe-" + hex.EncodeToString(rnd[:])
	image := prefix + ":test"
	_, cmd := sleeperImage(t, image)
	hostNS, _ := os.Readlink("/proc/self/ns/net")

	project := `it's "q" $(id) ;|`
	specs := []struct {
		suffix string
		args   []string
		tc     testContainer
	}{
		{"bridge", nil, testContainer{}},
		{"host", []string{"--network", "host"}, testContainer{hostNetwork: true}},
		{"none", []string{"--network", "none"}, testContainer{}},
		{"compose", []string{"--label", "com.docker.compose.project=" + project, "--label", "com.docker.compose.service=web",
			"--label", "io.kubernetes.pod.namespace=ns1", "--label", "io.kubernetes.pod.name=pod1"},
			testContainer{compose: project + "/web", pod: "ns1/pod1"}},
	}
	var ctrs []testContainer
	for _, s := range specs {
		tc := s.tc
		tc.name = prefix + "-" + s.suffix
		args := append(append([]string{"run", "-d", "--name", tc.name}, s.args...), append([]string{image}, cmd...)...)
		tc.id = dockerRun(t, args...)
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", tc.id).Run() })
		f := strings.Fields(dockerRun(t, "inspect", "-f", "{{.State.Pid}} {{.HostConfig.NetworkMode}}{{range .NetworkSettings.Networks}} {{.IPAddress}}/{{.IPPrefixLen}}{{end}}", tc.id))
		tc.pid, _ = strconv.Atoi(f[0])
		tc.network = f[1]
		for _, a := range f[2:] {
			if p, ok := parseIfAddr(a); ok {
				tc.addrs = append(tc.addrs, p.String())
			}
		}
		tc.netns, _ = os.Readlink("/proc/" + f[0] + "/ns/net")
		if tc.pid <= 0 {
			t.Fatalf("%s does not run: %v", tc.name, f)
		}
		ctrs = append(ctrs, tc)
	}
	if len(ctrs[0].addrs) == 0 || len(ctrs[3].addrs) == 0 {
		t.Fatalf("bridge containers without addresses: %+v", ctrs)
	}

	c := localConn(t)
	_, inv, err := RunInventory(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Partial {
		t.Fatalf("partial inventory: %+v", inv)
	}
	for _, tc := range ctrs {
		got := containerNamed(inv.Containers, tc.name)
		checkTestContainer(t, "inventory", inv, got, tc, image, hostNS)
		found, running, err := FindContainer(context.Background(), c, ContainerRef{Engine: "docker", Name: tc.name})
		if err != nil || !running {
			t.Fatalf("FindContainer(%s): running %v, %v", tc.name, running, err)
		}
		if inv.Privileged && !reflect.DeepEqual(found, got) {
			t.Errorf("FindContainer(%s) and the inventory disagree:\n find %+v\n  inv %+v", tc.name, found, got)
		}
	}

	// dash, bash and busybox ash (with its own applets) agree.
	for _, sh := range vmtest.AvailableShells(t) {
		shell := "exec " + strings.Join(sh, " ") + " -c "
		run, err := c.RunCommand(context.Background(), strings.Replace(inventoryCommand(), "exec sh -c ", shell, 1), inventoryOutputMax)
		if err != nil {
			t.Fatal(err)
		}
		other, err := ParseInventory(run.Stdout)
		if err != nil {
			t.Fatalf("%v: %v", sh, err)
		}
		for _, tc := range ctrs {
			want := containerNamed(inv.Containers, tc.name)
			if got := containerNamed(other.Containers, tc.name); !reflect.DeepEqual(got, want) {
				t.Errorf("under %v: %s is\n %+v\nnot\n %+v", sh, tc.name, got, want)
			}
			ref := ContainerRef{Engine: "docker", Name: tc.name}
			run, err = c.RunCommand(context.Background(), strings.Replace(findCommand(ref), "exec sh -c ", shell, 1), findOutputMax)
			if err != nil {
				t.Fatal(err)
			}
			if got, running, err := parseFind(run.Stdout, ref); err != nil || !running || !reflect.DeepEqual(got, want) {
				t.Errorf("under %v: FindContainer(%s) is %+v, running %v, %v", sh, tc.name, got, running, err)
			}
		}
	}

	// Not a container, an id prefix of one, a name that would run
	// something if a shell parsed it: not running, no error.
	marker := filepath.Join(t.TempDir(), "ran")
	for _, name := range []string{prefix + "-nosuch", ctrs[0].id[:12], "x'\"$(touch${IFS}" + marker + ")`touch${IFS}" + marker + "`"} {
		got, running, err := FindContainer(context.Background(), c, ContainerRef{Engine: "docker", Name: name})
		if err != nil || running || got.ID != "" {
			t.Errorf("FindContainer(%q): %+v running %v, %v", name, got, running, err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a container name ran as shell code")
	}

	// Stopped: known by its id, not running.
	dockerRun(t, "kill", ctrs[2].id)
	got, running, err := FindContainer(context.Background(), c, ContainerRef{Engine: "docker", Name: ctrs[2].name})
	if err != nil || running || got.ID != ctrs[2].id || got.PID != 0 || len(got.NICs) != 0 {
		t.Errorf("stopped container: %+v running %v, %v", got, running, err)
	}
}

func containerNamed(list []Container, name string) Container {
	for _, c := range list {
		if c.Name == name {
			return c
		}
	}
	return Container{}
}

// checkTestContainer compares a container of the inventory (or
// FindContainer) with what Docker and /proc say.
func checkTestContainer(t *testing.T, from string, inv Inventory, got Container, tc testContainer, image, hostNS string) {
	t.Helper()
	if got.Name == "" {
		t.Errorf("%s: no container %s in %+v", from, tc.name, inv.Containers)
		return
	}
	if got.Engine != "docker" || got.ID != tc.id || got.Image != image || got.Rootless ||
		got.Compose != tc.compose || got.Pod != tc.pod || got.Network != tc.network {
		t.Errorf("%s: %s is %+v, want %+v", from, tc.name, got, tc)
	}
	if !inv.Privileged {
		t.Logf("%s: no root and no passwordless sudo here: the namespace of %s is not checked", from, tc.name)
		return
	}
	if got.PID != tc.pid || got.NetNS != tc.netns || got.NetNS == "" || got.HostNetwork != tc.hostNetwork || got.HostNetwork != (tc.netns == hostNS) {
		t.Errorf("%s: %s: pid %d netns %q host %v, want %d %q %v (VM %q)", from, tc.name, got.PID, got.NetNS, got.HostNetwork, tc.pid, tc.netns, tc.hostNetwork, hostNS)
	}
	switch {
	case tc.hostNetwork || tc.network == "none":
		if len(got.NICs) != 0 {
			t.Errorf("%s: %s has NICs %+v", from, tc.name, got.NICs)
		}
	default:
		if len(got.NICs) != 1 || got.NICs[0].Name != "eth0" || got.NICs[0].Index <= 0 {
			t.Fatalf("%s: %s has NICs %+v", from, tc.name, got.NICs)
		}
		n := got.NICs[0]
		for _, a := range tc.addrs {
			if !slices.Contains(n.Addrs, a) {
				t.Errorf("%s: %s: eth0 addrs %q lack %s", from, tc.name, n.Addrs, a)
			}
		}
		peer, ok := inv.NIC(n.VMPeer)
		if !ok || peer.Kind != "veth" || peer.PeerIndex != n.Index ||
			!slices.ContainsFunc(peer.Containers, func(c Container) bool {
				return reflect.DeepEqual(c, Container{Engine: "docker", Name: tc.name, ID: tc.id, Image: got.Image})
			}) {
			t.Errorf("%s: %s: VM peer %q is %+v", from, tc.name, n.VMPeer, peer)
		}
	}
}

// TestFindContainerNameIsOneArgument: whatever the name holds, the engine
// gets it as one argument after "--", and the shell runs none of it. A
// fake docker first on PATH records its arguments.
func TestFindContainerNameIsOneArgument(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	marker := filepath.Join(dir, "ran")
	fake := "#!/bin/sh\nfor a do printf '%s\\n' \"$a\"; done > " + args + "\necho 'Error: No such container: x' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	c := localConn(t, "PATH="+dir+":"+os.Getenv("PATH"))
	name := `x'"$(touch${IFS}` + marker + `)` + "`touch${IFS}" + marker + "`;|&*?"
	got, running, err := FindContainer(context.Background(), c, ContainerRef{Engine: "docker", Name: name})
	if err != nil || running || got.ID != "" {
		t.Fatalf("%+v running %v, %v", got, running, err)
	}
	b, err := os.ReadFile(args)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 3 || lines[0] != "container" || lines[1] != "inspect" || lines[len(lines)-2] != "--" || lines[len(lines)-1] != name {
		t.Errorf("docker got %q", lines)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the name ran as shell code")
	}
	// An engine that fails otherwise is an error.
	fake = "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := FindContainer(context.Background(), c, ContainerRef{Engine: "docker", Name: "web"}); err == nil || !strings.Contains(err.Error(), "Cannot connect") {
		t.Errorf("err %v", err)
	}
}

// TestInventoryFakePodman runs the inventory under each shell with a fake
// podman first on PATH: the template reaches it intact (the shell's double
// quotes undone), every id of its ps goes to the one inspect, and the pods
// its ps names land on their containers.
func TestInventoryFakePodman(t *testing.T) {
	if os.Getuid() != 0 {
		// As a user it would be asked as root too, by sudo, whose
		// secure_path finds the real one (or none).
		t.Skip("the fake podman stands in for the root engine only when the test runs as root")
	}
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	fake := `#!/bin/sh
case "$1" in
ps) printf '%s\n' '0123456789ab my-pod' '0123456789ac ' ;;
inspect) for a do printf '%s\n' "$a"; done > ` + args + `
for a do case "$a" in
0123456789ab) printf '%s\n' '0 "web" "0123456789ab0000" "docker.io/library/nginx:latest" "" "" "" "" "bridge" 10.88.0.2/16' ;;
0123456789ac) printf '%s\n' '0 "db" "0123456789ac0000" "docker.io/library/postgres:16" "shop" "db" "" "" "slirp4netns"' ;;
esac; done ;;
*) exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "podman"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sh := range vmtest.AvailableShells(t) {
		t.Run(strings.Join(sh, "-"), func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", strings.Replace(inventoryCommand(), "exec sh -c ", "exec "+strings.Join(sh, " ")+" -c ", 1))
			cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			inv, err := ParseInventory(out)
			if err != nil {
				t.Fatal(err)
			}
			var got []Container
			for _, c := range inv.Containers {
				if c.Engine == "podman" {
					got = append(got, c)
				}
			}
			want := []Container{
				{Engine: "podman", Name: "web", ID: "0123456789ab0000", Image: "docker.io/library/nginx:latest", Pod: "my-pod", Network: "bridge", EngineAddrs: []string{"10.88.0.2/16"}},
				{Engine: "podman", Name: "db", ID: "0123456789ac0000", Image: "docker.io/library/postgres:16", Compose: "shop/db", Network: "slirp4netns"},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("podman containers\n got %+v\nwant %+v\n%s", got, want, out)
			}
			b, err := os.ReadFile(args)
			if err != nil {
				t.Fatal(err)
			}
			if want := "inspect\n-f\n" + tmplPodman + "\n0123456789ab\n0123456789ac\n"; string(b) != want {
				t.Errorf("podman got\n%s\nwant\n%s", b, want)
			}
		})
	}
}
