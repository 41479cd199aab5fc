// Package oneline turns an error or a remote program's text into the one
// line a user is shown. Wireshark shows an extcap's stderr as an error
// dialog and vmdump's CLI prints one line per problem, so every message
// that leaves vmdump passes through here: whitespace folded, control
// characters gone (a VM's output is untrusted), and a bounded length.
package oneline

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Err is err's text on one line, its runs of whitespace folded to one space.
func Err(err error) string { return Text(err.Error()) }

// Text is s on one line, its runs of whitespace folded to one space.
func Text(s string) string { return strings.Join(strings.Fields(s), " ") }

// Clip cuts s to at most max bytes at a rune boundary, marking the cut
// with "…".
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Untrusted is text read from a file or a VM made safe to show: control
// characters become spaces, invalid UTF-8 becomes "?", and it is clipped
// to 300 bytes.
func Untrusted(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(strings.ToValidUTF8(Clip(s, 300), "?"))
}

// LastLines is the last n non-blank lines of s, trimmed and joined with
// " / ": the end of a remote program's stderr is where it says why it
// stopped.
func LastLines(s string, n int) string {
	var ls []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " / ")
}
