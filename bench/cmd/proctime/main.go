// Command proctime times whole processes for P1 (BENCHMARKS.md): each
// -cmd is run -n times, the commands interleaved (A B A B ..., so that a
// noisy moment hurts both alike) after -warmup unmeasured rounds. Every
// run's wall time (fork+exec to exit) is printed as a result line
// "<metric>_ms<TAB><name><TAB><ms>" for bench/run.sh; a run that exits
// non-zero fails the whole measurement.
//
//	proctime -metric p1 -n 20 -cmd 'vmdump=/path/vmdump --extcap-interfaces' -cmd 'sshdump=/usr/lib/.../sshdump --extcap-interfaces'
//
// A command is split on spaces (no quoting); leading VAR=value words are
// added to that command's environment, as in sh. With -home DIR the commands
// run with HOME=DIR and the VM managers' variables removed (bench/fixture).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/vmdump/vmdump/bench/fixture"
)

type command struct {
	name string
	env  []string // VAR=value words before the program, added to its environment
	argv []string
}

type cmdFlags []command

func (c *cmdFlags) String() string { return fmt.Sprint(len(*c)) }

func (c *cmdFlags) Set(s string) error {
	name, line, ok := strings.Cut(s, "=")
	argv := strings.Fields(line)
	if !ok || name == "" || len(argv) == 0 {
		return fmt.Errorf("want NAME=COMMAND ARGS..., got %q", s)
	}
	var env []string
	for len(argv) > 1 && strings.Contains(argv[0], "=") && !strings.HasPrefix(argv[0], "/") {
		env, argv = append(env, argv[0]), argv[1:]
	}
	*c = append(*c, command{name, env, argv})
	return nil
}

func main() {
	var cmds cmdFlags
	n := flag.Int("n", 20, "measured runs per command")
	warmup := flag.Int("warmup", 3, "unmeasured runs per command first")
	metric := flag.String("metric", "p1", "metric name prefix")
	home := flag.String("home", "", "HOME for the commands (a fixture home); managers' variables are removed")
	flag.Var(&cmds, "cmd", "NAME=COMMAND ARGS... (repeat)")
	flag.Parse()
	if len(cmds) == 0 || *n <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	env := os.Environ()
	if *home != "" {
		env = fixture.Env(env, *home)
	}
	for round := -*warmup; round < *n; round++ {
		for i := range cmds {
			c := cmds[(i+max(round, 0))%len(cmds)] // rotate who goes first
			d, err := once(c.argv, append(env[:len(env):len(env)], c.env...))
			if err != nil {
				fmt.Fprintf(os.Stderr, "proctime: %s: %v\n", c.name, err)
				os.Exit(1)
			}
			if round >= 0 {
				fmt.Printf("%s_ms\t%s\t%.3f\n", *metric, c.name, float64(d)/float64(time.Millisecond))
			}
		}
	}
}

// once runs argv to its end; its output is read (as Wireshark reads it) and
// dropped.
func once(argv []string, env []string) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(errOut.String()))
	}
	return d, nil
}
