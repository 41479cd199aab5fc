package lab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// crashedLab is what the helper process reports about the lab it built
// before it is killed.
type crashedLab struct {
	Namespaces []string
	HostVeth   string
	Fallback   string
	EtcDir     string
	User       string
	Dir        string
	Generator  string
	Started    []int // processes the lab started (die with the helper)
	InNS       []int // processes in the lab's namespaces
}

// TestCrashedLabHelper is not a test: TestReapsCrashedLab runs the test
// binary on it to get a process that builds a lab and then dies without
// closing it.
func TestCrashedLabHelper(t *testing.T) {
	if os.Getenv("VMDUMP_LAB_CRASH_HELPER") != "1" {
		t.Skip("helper process for TestReapsCrashedLab")
	}
	l, err := New(Options{Forward: true, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.StartTraffic(Traffic{Interval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// An ssh session whose command outlives everything (from this process,
	// so that no client survives it).
	client, err := ssh.Dial("tcp", net.JoinHostPort(l.VMAddr, "22"), &ssh.ClientConfig{
		User: l.User, Auth: []ssh.AuthMethod{ssh.Password("pw")},
		HostKeyCallback: fixedHostKey(t, l), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("sleep 300"); err != nil {
		t.Fatal(err)
	}
	for countCmdline(l, "sleep 300") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	facts := crashedLab{Namespaces: l.namespaces, HostVeth: l.HostVeth, Fallback: l.fallback,
		EtcDir: l.etcDir, User: l.User, Dir: l.Dir, Generator: l.generatorPath()}
	l.mu.Lock()
	for _, p := range l.procs {
		facts.Started = append(facts.Started, p.cmd.Process.Pid)
	}
	l.mu.Unlock()
	for _, ns := range l.namespaces {
		pids, _ := pidsInNamespace(ns)
		facts.InNS = append(facts.InNS, pids...)
	}
	line, _ := json.Marshal(facts)
	fmt.Printf("CRASHED-LAB %s\n", line)
	select {} // until killed
}

// A test binary killed before Close (go test -timeout, ^C twice, SIGKILL)
// leaves its lab; the lab's own processes die with it, and the next lab
// built on the machine reaps the rest.
func TestReapsCrashedLab(t *testing.T) {
	if err := checkPrereqs(Options{Forward: true, Password: "pw"}); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	helper := exec.Command(os.Args[0], "-test.run=^TestCrashedLabHelper$", "-test.v")
	helper.Env = append(os.Environ(), "VMDUMP_LAB_CRASH_HELPER=1")
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var facts crashedLab
	var said []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "CRASHED-LAB "); ok {
			if err := json.Unmarshal([]byte(rest), &facts); err != nil {
				t.Fatal(err)
			}
			break
		}
		said = append(said, sc.Text())
	}
	helper.Process.Kill()
	helper.Wait()
	if len(facts.Namespaces) == 0 {
		t.Fatalf("helper built no lab: %s", strings.Join(said, "\n"))
	}
	if len(facts.Started) < 4 || len(facts.InNS) < 5 {
		t.Fatalf("helper lab too small to prove anything: %+v", facts)
	}

	// Parent-death signal: sshd, socat and both trafficgens die at once.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		alive := livePids(facts.Started)
		if len(alive) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v outlived the process that started them", alive)
		}
	}
	if !exists(netnsDir + "/" + facts.Namespaces[0]) {
		t.Fatalf("namespace %s vanished on its own; the reaper test proves nothing", facts.Namespaces[0])
	}

	next := Start(t, Options{})
	dead := &Lab{namespaces: facts.Namespaces, HostVeth: facts.HostVeth, fallback: facts.Fallback,
		etcDir: facts.EtcDir, User: facts.User, ownUser: facts.User != labUser, Dir: facts.Dir}
	left := leftovers(dead, facts.InNS)
	if facts.Generator != "" && exists(facts.Generator) {
		left = append(left, "trafficgen "+facts.Generator)
	}
	if len(left) > 0 {
		t.Fatalf("after the next lab (%s) started: %s", next.Namespace, strings.Join(left, "; "))
	}
}

func livePids(pids []int) []int {
	var alive []int
	for _, pid := range pids {
		if _, ok := readProc(pid); ok && !isZombie(pid) {
			alive = append(alive, pid)
		}
	}
	return alive
}
