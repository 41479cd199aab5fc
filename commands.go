package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	flags "github.com/jessevdk/go-flags"

	"github.com/vmdump/vmdump/demo"
)

// devVersion is replaced at release time with -ldflags "-X main.devVersion=v1.2.3".
var devVersion = ""

// version is the release tag, or the module version `go install` recorded.
func version() string {
	if devVersion != "" {
		return devVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "0.1.0-dev"
}

const usage = `vmdump captures from the Docker VMs you already have, live in Wireshark.

Usage:
  vmdump install [--dry-run]     put vmdump into Wireshark's extcap folder(s)
  vmdump uninstall [--dry-run]   take it out again
  vmdump list [--json]           the VMs vmdump finds, and why any is skipped
  vmdump list --check            also connect to each and check the connection, sudo and tcpdump
  vmdump forget-host-key VM      forget the host key pinned for a VM (id or manager/name)
  vmdump provision VM            install tcpdump on a VM with its package manager (--dry-run: only say how)
  vmdump doctor                  which Wireshark sees vmdump, which VMs are usable, and why not
  sudo vmdump demo               no VM yet? run a stand-in Docker VM with live HTTP traffic (Linux)
  vmdump version                 print vmdump's version
  vmdump help                    this text

Wireshark itself runs vmdump with --extcap-* options; see the README.
`

// commands are the subcommands a person types, in the order of the usage
// text, which names each of them (TestCommandsInUsage). An unknown command is
// matched against them for a "did you mean". Not here: the alias h (of help)
// and demo-traffic, the demo's own traffic generator, which the usage hides.
var commands = []string{"install", "uninstall", "list", "forget-host-key", "provision", "doctor", "demo", "version", "help"}

type installCmd struct {
	DryRun bool `long:"dry-run" description:"show what would be done, do nothing"`
}
type listCmd struct {
	JSON  bool `long:"json" description:"print JSON"`
	Check bool `long:"check" description:"connect to each running VM and check the connection, sudo and tcpdump"`
}

// runCommand runs a subcommand typed by a person. A usage error (an unknown
// command or option, a missing or extra argument) is one line on stderr and
// exit status 2.
func runCommand(argv []string, stdout, stderr io.Writer) int {
	switch argv[0] {
	case "help", "h":
		fmt.Fprint(stdout, usage)
		return 0
	case "version":
		if code, done := noArguments(argv, stdout, stderr); done {
			return code
		}
		fmt.Fprintln(stdout, "vmdump", version())
		return 0
	case "doctor":
		if code, done := noArguments(argv, stdout, stderr); done {
			return code
		}
		return cmdDoctor(stdout)
	case "demo":
		return demo.Run(argv[1:], stdout, stderr, "demo-traffic")
	case "demo-traffic":
		return demo.Traffic("vmdump demo-traffic", argv[1:], stdout, stderr)
	case "install", "uninstall", "list", "forget-host-key", "provision":
		return runParsedCommand(argv, stdout, stderr)
	}
	return usageError(stderr, "unknown command %q%s; run \"vmdump help\" for the commands", argv[0], didYouMean(suggest(argv[0], commands)))
}

// runParsedCommand runs the subcommands whose options go-flags parses.
func runParsedCommand(argv []string, stdout, stderr io.Writer) int {
	var (
		inst   installCmd
		uninst installCmd
		list   listCmd
		forget struct{}
		prov   provisionCmd
	)
	p := flags.NewNamedParser("vmdump", flags.HelpFlag|flags.PassDoubleDash)
	p.AddCommand("install", "install into Wireshark", "", &inst)
	p.AddCommand("uninstall", "remove from Wireshark", "", &uninst)
	p.AddCommand("list", "list the VMs", "", &list)
	p.AddCommand("forget-host-key", "forget a pinned host key", "", &forget)
	p.AddCommand("provision", "install tcpdump on a VM", "", &prov)
	rest, err := p.ParseArgs(argv)
	if err != nil {
		var fe *flags.Error
		if errors.As(err, &fe) && fe.Type == flags.ErrHelp {
			fmt.Fprint(stdout, usage)
			return 0
		}
		return flagError(stderr, p.Find(argv[0]), argv, err)
	}
	switch p.Active.Name {
	case "install", "uninstall", "list":
		if len(rest) > 0 {
			return usageError(stderr, "%s takes no arguments, got %q; run \"vmdump help\" for the commands", p.Active.Name, rest[0])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	switch p.Active.Name {
	case "install":
		return cmdInstall(ctx, inst.DryRun, stdout, stderr)
	case "uninstall":
		return cmdUninstall(ctx, uninst.DryRun, stdout, stderr)
	case "list":
		return cmdList(ctx, list, stdout, stderr, log)
	case "forget-host-key":
		return cmdForget(rest, stdout, stderr, log)
	case "provision":
		return cmdProvision(rest, prov.DryRun, stdout, stderr, log)
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// noArguments is the check of a command that takes none: -h or --help
// prints the usage, anything else is a usage error. done is false when there
// are no arguments.
func noArguments(argv []string, stdout, stderr io.Writer) (code int, done bool) {
	if len(argv) == 1 {
		return 0, false
	}
	if argv[1] == "-h" || argv[1] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0, true
	}
	return usageError(stderr, "%s takes no arguments, got %q; run \"vmdump help\" for the commands", argv[0], argv[1]), true
}

// usageError prints "vmdump: " and the message on stderr and returns the
// exit status of every usage error, 2.
func usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "vmdump: "+format+"\n", args...)
	return 2
}

// flagError is the usage error for what go-flags refused in the options of
// cmd (argv[0]): an unknown option is named as typed, with a "did you mean"
// among cmd's options; go-flags' other messages are passed on, starting
// lowercase like every vmdump error.
func flagError(stderr io.Writer, cmd *flags.Command, argv []string, err error) int {
	var fe *flags.Error
	if errors.As(err, &fe) && fe.Type == flags.ErrUnknownFlag {
		// go-flags' message is "unknown flag `name'", without the dashes.
		name := strings.TrimSuffix(strings.TrimPrefix(fe.Message, "unknown flag `"), "'")
		typed := "-" + name
		var longs []string
		if cmd != nil {
			for _, o := range cmd.Options() {
				if o.LongName != "" {
					longs = append(longs, "--"+o.LongName)
				}
			}
		}
		for _, a := range argv[1:] {
			if a == "--" {
				break
			}
			if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
				typed = "--" + name
				break
			}
		}
		return usageError(stderr, "unknown option %q for %s%s; run \"vmdump help\" for the options", typed, argv[0], didYouMean(suggest(typed, longs)))
	}
	msg := strings.TrimSpace(err.Error())
	if msg != "" {
		msg = strings.ToLower(msg[:1]) + msg[1:]
	}
	return usageError(stderr, "%s; run \"vmdump help\" for the options", msg)
}

// didYouMean is the hint after an unknown name: "" for no suggestion,
// ` (did you mean "demo"?)`, ` (did you mean "install" or "uninstall"?)`.
func didYouMean(names []string) string {
	if len(names) == 0 {
		return ""
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	alts := quoted[len(quoted)-1]
	if len(quoted) > 1 {
		alts = strings.Join(quoted[:len(quoted)-1], ", ") + " or " + alts
	}
	return " (did you mean " + alts + "?)"
}

// suggest returns the candidates typed is most likely a typo of, in the
// candidates' order: those closest to it by edit distance (Damerau:
// insertions, deletions, substitutions and swaps of neighbours count one
// each), when that distance is at most 2 and at most a third of the
// candidate's length, so that "lsit" finds list and "demoo" demo but "foo"
// finds nothing. A typed prefix of 3 letters or more counts as a distance
// of 1 ("prov" finds provision). Case does not matter.
func suggest(typed string, candidates []string) []string {
	typed = strings.ToLower(typed)
	best, bestDist := []string(nil), 3
	for _, c := range candidates {
		d := 3
		if utf8.RuneCountInString(typed) >= 3 && strings.HasPrefix(c, typed) {
			d = 1
		}
		if n := utf8.RuneCountInString(c); abs(n-utf8.RuneCountInString(typed)) <= 2 {
			if e := editDistance(typed, c); e <= 2 && 3*e <= n {
				d = min(d, e)
			}
		}
		switch {
		case d < bestDist:
			best, bestDist = []string{c}, d
		case d == bestDist && d <= 2:
			best = append(best, c)
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// editDistance is the optimal string alignment distance between a and b
// (Damerau–Levenshtein without edits inside a swapped pair), in runes.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	// prev2, prev and cur are the rows i-2, i-1 and i of the table whose
	// cell j is the distance between s[:i] and t[:j].
	prev2 := make([]int, len(t)+1)
	prev := make([]int, len(t)+1)
	cur := make([]int, len(t)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(s); i++ {
		cur[0] = i
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(t)]
}
