// Command replayextcap is P7's floor (BENCHMARKS.md): an extcap that answers
// --extcap-interfaces and --extcap-config with what another extcap answered
// (recorded with -record), and does nothing else. Installed in Wireshark's
// extcap folder instead of vmdump, `tshark -D` then costs what Wireshark's
// own handling of that many interfaces and that much output costs, plus the
// smallest cost of a Go process per run: the rest of vmdump's figure is
// vmdump's own work.
//
//	replayextcap -record DIR -extcap PATH [-keep N]   run PATH once per answer, keep the answers in DIR
//	replayextcap --extcap-interfaces                  (as Wireshark runs it) answer from $HOME/.cache/replayextcap
//
// With -keep N only the first N interfaces are recorded: what Wireshark
// would pay if the extcap listed only those. With -empty-config every
// --extcap-config answer is empty (no options at all): what Wireshark pays
// for the number of interfaces alone.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "--extcap-") {
		os.Exit(replay(os.Args[1:]))
	}
	dir := flag.String("record", "", "directory to record the answers into (required)")
	ext := flag.String("extcap", "", "the extcap to record (required)")
	keep := flag.Int("keep", 0, "record only the first N interfaces (0: all)")
	empty := flag.Bool("empty-config", false, "record every --extcap-config answer as empty")
	flag.Parse()
	if *dir == "" || *ext == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := record(*dir, *ext, *keep, *empty); err != nil {
		fmt.Fprintln(os.Stderr, "replayextcap:", err)
		os.Exit(1)
	}
}

// Dir is where the answers are replayed from, under the HOME Wireshark
// passes on.
func Dir() string {
	return filepath.Join(os.Getenv("HOME"), ".cache", "replayextcap")
}

func record(dir, ext string, keep int, empty bool) error {
	out, err := exec.Command(ext, "--extcap-interfaces").Output()
	if err != nil {
		return fmt.Errorf("%s --extcap-interfaces: %v", ext, err)
	}
	var kept bytes.Buffer
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "interface {value="); ok {
			if keep > 0 && len(ids) == keep {
				continue
			}
			id, _, _ := strings.Cut(v, "}")
			ids = append(ids, id)
		}
		kept.WriteString(line + "\n")
	}
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "interfaces"), kept.Bytes(), 0o644); err != nil {
		return err
	}
	for _, id := range ids {
		if strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
			return fmt.Errorf("interface id %q cannot name a file", id)
		}
		var cfg []byte
		if !empty {
			if cfg, err = exec.Command(ext, "--extcap-config", "--extcap-interface", id).Output(); err != nil {
				return fmt.Errorf("%s --extcap-config --extcap-interface %s: %v", ext, id, err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "config", id), cfg, 0o644); err != nil {
			return err
		}
	}
	fmt.Println(len(ids))
	return nil
}

func replay(args []string) int {
	var what, iface string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--extcap-interfaces", "--extcap-config":
			what = a
		case "--extcap-interface":
			if i+1 < len(args) {
				i++
				iface = args[i]
			}
		}
	}
	var path string
	switch {
	case what == "--extcap-interfaces":
		path = filepath.Join(Dir(), "interfaces")
	case what == "--extcap-config" && iface != "" && !strings.ContainsAny(iface, `/\`) && !strings.HasPrefix(iface, "."):
		path = filepath.Join(Dir(), "config", iface)
	default:
		return 0 // --extcap-dlts, --extcap-version...: nothing to say
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "replayextcap:", err)
		return 1
	}
	os.Stdout.Write(data)
	return 0
}
