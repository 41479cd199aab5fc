// Command labctl builds one lab VM (internal/lab) for bench/run.sh, prints
// its facts as shell assignments, then obeys one command per line on stdin
// until "quit", stdin EOF, SIGINT or SIGTERM, and tears the lab down.
//
// Commands (each answered by one line, "ok ..." or "error ..."):
//
//	traffic RATE   start steady TCP echo traffic in the VM, RATE messages/s
//	               (0: as fast as echoes come back); stops any earlier traffic
//	stop           stop the traffic; answers with the client's summary
//	quit           close the lab and exit
//
// Linux and root only, like the lab itself.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

func main() {
	l, err := lab.New(lab.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "labctl:", err)
		os.Exit(1)
	}
	code := serve(l)
	if err := l.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "labctl: lab teardown:", err)
		code = 1
	}
	os.Exit(code)
}

// serve prints the facts and runs commands until told to stop.
func serve(l *lab.Lab) int {
	facts := []struct{ k, v string }{
		{"LAB_NS", l.Namespace},
		{"LAB_VM", l.VMAddr},
		{"LAB_PORT", strconv.Itoa(l.SSHPort)},
		{"LAB_USER", l.User},
		{"LAB_KEY", l.KeyFile},
		{"LAB_KNOWN_HOSTS_LINE", l.HostKeyLine()},
		{"LAB_VETH1", l.ContainerVeth(1)},
		{"LAB_C1", l.ContainerAddr(1)},
		{"LAB_C2", l.ContainerAddr(2)},
		{"LAB_ECHO_PORT", strconv.Itoa(lab.EchoPort)},
		{"LAB_DIR", l.Dir},
		{"LAB_BUILD_SECONDS", fmt.Sprintf("%.2f", l.BuildTime.Seconds())},
	}
	for _, f := range facts {
		fmt.Printf("%s=%s\n", f.k, shellQuote(f.v))
	}
	fmt.Println("READY")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	var stopTraffic func() (lab.Summary, error)
	stop := func() string {
		if stopTraffic == nil {
			return "ok no traffic"
		}
		sum, err := stopTraffic()
		stopTraffic = nil
		if err != nil {
			return "error " + oneLine(err)
		}
		return fmt.Sprintf("ok sent=%d echoed=%d", sum.Sent, sum.Echoed)
	}
	defer stop()
	for {
		select {
		case <-sig:
			return 0
		case line, ok := <-lines:
			if !ok {
				return 0
			}
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			switch f[0] {
			case "traffic":
				rate := 0.0
				if len(f) > 1 {
					if rate, ok = parseRate(f[1]); !ok {
						fmt.Println("error bad rate", strconv.Quote(f[1]))
						continue
					}
				}
				stop()
				tr := lab.Traffic{}
				if rate > 0 {
					tr.Interval = time.Duration(float64(time.Second) / rate)
				}
				var err error
				if stopTraffic, err = l.StartTraffic(tr); err != nil {
					fmt.Println("error", oneLine(err))
					continue
				}
				fmt.Println("ok traffic", rate)
			case "stop":
				fmt.Println(stop())
			case "quit":
				fmt.Println("ok bye")
				return 0
			default:
				fmt.Println("error unknown command", strconv.Quote(f[0]))
			}
		}
	}
}

func parseRate(s string) (float64, bool) {
	r, err := strconv.ParseFloat(s, 64)
	return r, err == nil && r >= 0
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// shellQuote quotes s for POSIX sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
