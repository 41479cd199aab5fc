package main

import (
	"errors"
	"os"
	"strconv"
	"strings"
)

// options are the agent's command line.
type options struct {
	iface    string
	snaplen  int
	program  string // -ddd text; "" captures everything
	stdinEOF bool   // -e: end at stdin EOF
	version  bool
	// netns (-netns /proc/PID/ns/net) is a network namespace to capture
	// in; netnsLink (-netns-link net:[N]), when set, is what it must be.
	netns, netnsLink string
}

const defaultSnaplen = 262144

// parseArgs takes tcpdump-like short options, each value a separate word.
func parseArgs(args []string) (options, error) {
	o := options{snaplen: defaultSnaplen}
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", errors.New("option " + a + " needs a value")
			}
			i++
			return args[i], nil
		}
		var v string
		var err error
		switch a {
		case "-version", "--version":
			o.version = true
			continue
		case "-e":
			o.stdinEOF = true
			continue
		case "-i", "-s", "-f", "-F", "-netns", "-netns-link":
			if v, err = value(); err != nil {
				return o, err
			}
		default:
			return o, errors.New("unknown argument " + strconv.Quote(a) + " (usage: vmdump-agent [-netns /proc/PID/ns/net [-netns-link net:[N]]] -i IFACE [-s SNAPLEN] [-f PROGRAM | -F FILE] [-e])")
		}
		switch a {
		case "-i":
			o.iface = v
		case "-s":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > defaultSnaplen {
				return o, errors.New("bad snapshot length " + strconv.Quote(v) + " (0-262144)")
			}
			if n == 0 {
				n = defaultSnaplen
			}
			o.snaplen = n
		case "-f":
			o.program = v
		case "-netns":
			o.netns = v
		case "-netns-link":
			if _, ok := netnsInode(v); !ok {
				return o, errors.New("bad -netns-link " + strconv.Quote(v) + " (want net:[N])")
			}
			o.netnsLink = v
		case "-F":
			b, err := os.ReadFile(v)
			if err != nil {
				return o, err
			}
			o.program = string(b)
		}
	}
	if o.iface == "" && !o.version {
		return o, errors.New("no interface: use -i IFACE")
	}
	if o.netnsLink != "" && o.netns == "" {
		return o, errors.New("-netns-link needs -netns")
	}
	return o, nil
}

// netnsInode reads N out of a namespace link "net:[N]".
func netnsInode(link string) (uint64, bool) {
	rest, ok := strings.CutPrefix(link, "net:[")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, "]")
	if !ok || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}
