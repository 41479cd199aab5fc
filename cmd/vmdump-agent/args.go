package main

import (
	"errors"
	"os"
	"strconv"
)

// options are the agent's command line.
type options struct {
	iface    string
	snaplen  int
	program  string // -ddd text; "" captures everything
	stdinEOF bool   // -e: end at stdin EOF
	version  bool
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
		case "-i", "-s", "-f", "-F":
			if v, err = value(); err != nil {
				return o, err
			}
		default:
			return o, errors.New("unknown argument " + strconv.Quote(a) + " (usage: vmdump-agent -i IFACE [-s SNAPLEN] [-f PROGRAM | -F FILE] [-e])")
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
	return o, nil
}
