//go:build linux

package main

import (
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// init keeps main on the process's main thread: -netns moves that thread
// into the container's namespace, so that /proc/PID/ns/net (the main
// thread's) shows where the agent captures, as for tcpdump under nsenter.
func init() { runtime.LockOSThread() }

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	o, err := parseArgs(args)
	if err != nil {
		return fail(err)
	}
	if o.version {
		os.Stdout.WriteString("vmdump-agent linux/" + runtime.GOARCH + "\n")
		return 0
	}
	// Die with the wrapper: if it is killed outright, nothing else would
	// end a capture whose filter matches nothing (it never writes, so
	// never meets a broken pipe).
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	if os.Getppid() == 1 {
		return fail(errString("parent exited before the capture started"))
	}
	var prog []insn
	if o.program != "" {
		if prog, err = parseProgram(o.program); err != nil {
			return fail(err)
		}
	}
	var stop atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() { <-sigs; stop.Store(true) }()
	if o.stdinEOF {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop.Store(true) }()
	}

	if o.netns != "" {
		if err := joinNetns(o.netns, o.netnsLink); err != nil {
			if _, gone := err.(netnsGone); gone {
				fail(err)
				return netnsGoneStatus
			}
			return fail(err)
		}
	}
	c, err := openCapture(o.iface, prog)
	if err != nil {
		return fail(err)
	}
	defer c.close()
	os.Stderr.WriteString("listening on " + o.iface + ", link-type EN10MB (Ethernet), snapshot length " + strconv.Itoa(o.snaplen) + " bytes\n")
	// os.Stdout: a write to a reader that is gone (EPIPE on fd 1) kills
	// the process with SIGPIPE, as it does tcpdump.
	if _, err := os.Stdout.Write(pcapHeader(o.snaplen)); err != nil {
		return fail(err)
	}
	captured, err := c.loop(o.snaplen, &stop, os.Stdout)
	st := c.stats()
	os.Stderr.WriteString(strconv.FormatUint(captured, 10) + " packets captured\n" +
		strconv.FormatUint(uint64(st.Packets), 10) + " packets received by filter\n" +
		strconv.FormatUint(uint64(st.Drops), 10) + " packets dropped by kernel\n")
	if err != nil {
		return fail(err)
	}
	return 0
}

type errString string

func (e errString) Error() string { return string(e) }

func fail(err error) int {
	os.Stderr.WriteString("vmdump-agent: " + err.Error() + "\n")
	return 1
}
