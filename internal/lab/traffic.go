package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EchoPort is where trafficgen's echo server listens (TCP and UDP) in
// container 2.
const EchoPort = 7007

// Traffic describes a run of trafficgen's client in container 1 against the
// echo server in container 2. Each message is one data segment to the
// server and one back (the client waits for each echo; TCP_NODELAY), and
// carries its send time and sequence number (internal/trafficgen/payload).
type Traffic struct {
	Count    int           // messages; 0 = until stopped (StartTraffic only)
	Interval time.Duration // between the starts of two messages; 0 = back to back
	Size     int           // bytes per message, at least 20; 0 = 64
	UDP      bool          // datagrams instead of one TCP connection
}

// Summary is what the client reports when it ends.
type Summary struct {
	Sent   int `json:"sent"`
	Echoed int `json:"echoed"`
}

// Send runs n TCP messages of 64 bytes from container 1 to container 2,
// interval apart, and returns when the client has finished (or fails the
// test after a timeout). On docker0 this gives exactly 2n data segments
// (payload length 64) besides the handshake, pure ACKs and FINs, which a
// capture sees only in promiscuous mode: tcpdump -p on docker0 sees none of
// the bridged traffic.
func (l *Lab) Send(t testing.TB, n int, interval time.Duration) Summary {
	t.Helper()
	sum, err := l.Run(Traffic{Count: n, Interval: interval})
	if err != nil {
		t.Fatalf("lab traffic: %v", err)
	}
	return sum
}

// StartSteady starts background TCP traffic at rate messages per second
// (rate <= 0: as fast as echoes come back) and returns the function that
// stops it, which returns the summary. The traffic also stops when the test
// ends.
func (l *Lab) StartSteady(t testing.TB, rate float64) (stop func() Summary) {
	t.Helper()
	tr := Traffic{}
	if rate > 0 {
		tr.Interval = time.Duration(float64(time.Second) / rate)
	}
	stopTraffic, err := l.StartTraffic(tr)
	if err != nil {
		t.Fatalf("lab traffic: %v", err)
	}
	var once sync.Once
	var sum Summary
	stop = func() Summary {
		once.Do(func() {
			var err error
			// After Close the client is gone (killed): nothing to report.
			if sum, err = stopTraffic(); err != nil && !l.isClosed() {
				t.Errorf("lab traffic: %v", err)
			}
		})
		return sum
	}
	t.Cleanup(func() { stop() })
	return stop
}

// Run runs tr (Count > 0) to the end and returns the client's summary. It
// gives up, killing the client, after Count×Interval plus 30 seconds.
func (l *Lab) Run(tr Traffic) (Summary, error) {
	if tr.Count <= 0 {
		return Summary{}, errors.New("lab: Run needs Traffic.Count > 0; use StartTraffic for open-ended traffic")
	}
	p, out, err := l.startClient(tr)
	if err != nil {
		return Summary{}, err
	}
	limit := time.Duration(tr.Count)*tr.Interval + 30*time.Second
	select {
	case <-p.done:
	case <-time.After(limit):
		p.cmd.Process.Kill()
		<-p.done
		return Summary{}, fmt.Errorf("traffic of %d messages did not finish within %v", tr.Count, limit)
	}
	return parseSummary(p, out)
}

// StartTraffic starts tr in the background; stop ends it (SIGTERM: the
// client finishes the message in flight and reports) and returns the
// summary. Close also ends it.
func (l *Lab) StartTraffic(tr Traffic) (stop func() (Summary, error), err error) {
	if tr.Count < 0 {
		return nil, fmt.Errorf("lab: Traffic.Count %d is negative", tr.Count)
	}
	p, out, err := l.startClient(tr)
	if err != nil {
		return nil, err
	}
	return func() (Summary, error) {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.waitExit(10 * time.Second); err != nil {
			p.cmd.Process.Kill()
			<-p.done
			return Summary{}, err
		}
		return parseSummary(p, out)
	}, nil
}

// clientOutput collects the client's stdout and stderr.
type clientOutput struct {
	stdout, stderr strings.Builder
}

func (l *Lab) startClient(tr Traffic) (*proc, *clientOutput, error) {
	if err := l.ensureEchoServer(); err != nil {
		return nil, nil, err
	}
	if tr.Size == 0 {
		tr.Size = 64
	}
	server := fmt.Sprintf("%s:%d", l.ContainerAddr(2), EchoPort)
	args := []string{"send",
		"-addr", server, "-n", strconv.Itoa(tr.Count), "-interval", tr.Interval.String(),
		"-size", strconv.Itoa(tr.Size)}
	if tr.UDP {
		args = append(args, "-udp")
	}
	out := &clientOutput{}
	cmd := l.generatorCommand(1, args...)
	cmd.Stdout, cmd.Stderr = &out.stdout, &out.stderr
	p, err := l.start("trafficgen send", cmd)
	return p, out, err
}

// generatorPath is the trafficgen binary built for this lab ("" when none
// was built, or Options.Trafficgen is used).
func (l *Lab) generatorPath() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.generator
}

// generatorCommand runs trafficgen with args in container i's namespace.
func (l *Lab) generatorCommand(i int, args ...string) *exec.Cmd {
	l.mu.Lock()
	gen := append([]string(nil), l.generatorCmd...)
	if len(gen) == 0 {
		gen = []string{l.generator}
	}
	l.mu.Unlock()
	argv := append([]string{"netns", "exec", l.ContainerNS(i)}, gen...)
	return exec.Command("ip", append(argv, args...)...)
}

// parseSummary reads the client's JSON line once it has exited.
func parseSummary(p *proc, out *clientOutput) (Summary, error) {
	var sum Summary
	jsonErr := json.Unmarshal([]byte(strings.TrimSpace(out.stdout.String())), &sum)
	if p.err != nil {
		return sum, fmt.Errorf("trafficgen send: %v: %s", p.err, oneLine(out.stderr.String()))
	}
	if jsonErr != nil {
		return sum, fmt.Errorf("trafficgen send printed %q: %v", out.stdout.String(), jsonErr)
	}
	return sum, nil
}

// ensureEchoServer starts the echo server in container 2 on first use
// (building trafficgen if this process has not yet).
func (l *Lab) ensureEchoServer() error {
	l.serverMu.Lock()
	defer l.serverMu.Unlock()
	l.mu.Lock()
	running := l.server != nil && !l.server.exited()
	l.mu.Unlock()
	if running {
		return nil
	}
	if err := l.ensureGenerator(); err != nil {
		return err
	}
	p, err := l.startServer("trafficgen serve", l.generatorCommand(2, "serve", "-addr", fmt.Sprintf(":%d", EchoPort)))
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.server = p
	l.mu.Unlock()
	return nil
}

// ensureGenerator makes sure there is a trafficgen to run: the one given in
// Options.Trafficgen, or one built for this process. Callers hold serverMu.
func (l *Lab) ensureGenerator() error {
	l.mu.Lock()
	closed, have := l.closed, l.generator != "" || len(l.generatorCmd) > 0
	l.mu.Unlock()
	if closed {
		return errors.New("lab is closed")
	}
	if have {
		return nil
	}
	path, err := acquireTrafficgen()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		releaseTrafficgen()
		return errors.New("lab is closed")
	}
	l.generator = path
	return nil
}

// startServer starts a server that prints "listening <addr>" once ready,
// and waits for that line.
func (l *Lab) startServer(name string, cmd *exec.Cmd) (*proc, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	p, err := l.start(name, cmd)
	if err != nil {
		return nil, err
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		// Keep draining: the server prints nothing more, but a full pipe
		// must never block it.
		var discard [512]byte
		for {
			if _, err := stdout.Read(discard[:]); err != nil {
				return
			}
		}
	}()
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "listening ") {
			p.cmd.Process.Kill()
			<-p.done
			return nil, fmt.Errorf("%s did not start: %v %s", name, p.err, oneLine(stderr.String()))
		}
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return nil, fmt.Errorf("%s did not report listening within 10s", name)
	}
	return p, nil
}

// The trafficgen binary is built once per test process and shared by its
// labs; it is deleted when the last lab using it closes (the next build is
// quick: Go's build cache keeps the compiled package), so nothing stays in
// $TMPDIR.
var trafficgen struct {
	mu    sync.Mutex
	dir   string
	path  string
	users int
}

func acquireTrafficgen() (string, error) {
	trafficgen.mu.Lock()
	defer trafficgen.mu.Unlock()
	if trafficgen.path == "" {
		dir, path, err := buildTrafficgen()
		if err != nil {
			return "", err
		}
		trafficgen.dir, trafficgen.path = dir, path
	}
	trafficgen.users++
	return trafficgen.path, nil
}

func releaseTrafficgen() {
	trafficgen.mu.Lock()
	defer trafficgen.mu.Unlock()
	trafficgen.users--
	if trafficgen.users == 0 {
		os.RemoveAll(trafficgen.dir)
		trafficgen.dir, trafficgen.path = "", ""
	}
}

// buildTrafficgen compiles internal/trafficgen from this source tree (found
// next to this file) with the go command running the tests.
func buildTrafficgen() (dir, path string, err error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", "", errors.New("cannot locate the lab's source to build trafficgen")
	}
	module := filepath.Join(filepath.Dir(self), "..", "..")
	source := filepath.Join(module, "internal", "trafficgen")
	if _, err := os.Stat(filepath.Join(source, "main.go")); err != nil {
		return "", "", fmt.Errorf("trafficgen source not found at %s: run from a vmdump checkout", source)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir, err = os.MkdirTemp("", fmt.Sprintf("vmd%d-trafficgen-", os.Getpid()))
	if err != nil {
		return "", "", err
	}
	// Everyone may run it: the lab runs it as root, but keep it usable from
	// a lab user's session too.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	path = filepath.Join(dir, "trafficgen")
	cmd := exec.Command(goCmd, "build", "-buildvcs=false", "-o", path, "./internal/trafficgen")
	cmd.Dir = module
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("build trafficgen: %v: %s", err, oneLine(string(out)))
	}
	return dir, path, nil
}
