// Package lazyre compiles a package-level regular expression on first use
// instead of at program start. vmdump is started by Wireshark for every
// interface listing, where most of its expressions are never needed, and
// each one compiled at start adds to the time Wireshark waits
// (BENCHMARKS.md, P1).
package lazyre

import (
	"regexp"
	"sync"
)

// New returns a function that compiles expr once, at its first call, and
// then returns the same *regexp.Regexp. Like regexp.MustCompile it panics
// on a bad expression, at the first call; a test that calls it catches that.
func New(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
