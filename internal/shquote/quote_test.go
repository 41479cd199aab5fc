package shquote_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/shquote"
	"github.com/vmdump/vmdump/internal/vmtest"
)

var quoteCases = []string{
	"", "eth0", "a b", "it's", "'", "''", "$(touch x)", "`id`", "a;b", "a\nb", "*", "~root",
	"-x", "a\\b", "\"dq\"", "&&", "|", "$HOME", "!bang", "tab\there", "ünï", "{a,b}", "#c",
}

func TestShellQuoteRoundTrip(t *testing.T) {
	for _, s := range quoteCases {
		q := shquote.Quote(s)
		got, ok := vmtest.UnquotePOSIX(q)
		if !ok || got != s {
			t.Errorf("shquote.Quote(%q) = %s, parses back to %q (ok=%v)", s, q, got, ok)
		}
	}
}

// TestShellQuoteRealShells checks that each shell prints the word back
// unchanged and runs nothing.
func TestShellQuoteRealShells(t *testing.T) {
	for _, sh := range vmtest.AvailableShells(t) {
		for _, s := range quoteCases {
			if strings.ContainsRune(s, 0) {
				continue
			}
			out, err := exec.Command(sh[0], append(sh[1:], "-c", "printf '%s' "+shquote.Quote(s))...).Output()
			if err != nil {
				t.Errorf("%v: printf %s: %v", sh, shquote.Quote(s), err)
				continue
			}
			if string(out) != s {
				t.Errorf("%v: %s printed %q, want %q", sh, shquote.Quote(s), out, s)
			}
		}
	}
}

func FuzzShellQuote(f *testing.F) {
	for _, s := range quoteCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := shquote.Quote(s)
		got, ok := vmtest.UnquotePOSIX(q)
		if !ok || got != s {
			t.Fatalf("shquote.Quote(%q) = %s parses back to %q (ok=%v)", s, q, got, ok)
		}
	})
}

func TestQuoteCheckInterfaceName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"eth0", true}, {"any", true}, {"br-1a2b3c", true}, {"veth1@if5", true}, {"lima0", true},
		{"", false}, {"-i", false}, {"--help", false}, {"eth0\n", false}, {"a\x00b", false}, {"x\ry", false}, {"tab\t", false},
	} {
		err := shquote.CheckInterfaceName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("checkInterfaceName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error for %q is not one line: %q", tc.name, err)
		}
	}
}

func TestQuoteShellOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\nb\n", "a; b"},
		{"\n  # comment\nif x; then\n  y\nfi\n", "if x; then y; fi"},
		{"while a; do\nb\ndone &\nc", "while a; do b; done & c"},
		{"x &&\ny ||\nz |\nw", "x && y || z | w"},
		{"f() {\ng\n}", "f() { g; }"},
	} {
		if got := shquote.OneLine(tc.in); got != tc.want {
			t.Errorf("shellOneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
