package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl/discover"
)

func TestSuggestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"list", "list", 0},
		{"", "demo", 4},
		{"demo", "", 4},
		{"demoo", "demo", 1}, // an insertion
		{"lst", "list", 1},   // a deletion
		{"lisk", "list", 1},  // a substitution
		{"lsit", "list", 1},  // a swap of neighbours (Levenshtein: 2)
		{"ca", "abc", 3},     // optimal string alignment, not full Damerau (2)
		{"foo", "demo", 3},   // f→d, o→e, +m
		{"kitten", "sitting", 3},
		{"häuser", "hauser", 1}, // runes, not bytes
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := editDistance(c.b, c.a); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (symmetric)", c.b, c.a, got, c.want)
		}
	}
}

func TestSuggestCommands(t *testing.T) {
	for typed, want := range map[string][]string{
		"demoo":                      {"demo"},
		"lsit":                       {"list"},
		"lis":                        {"list"},
		"LIST":                       {"list"},
		"instal":                     {"install"},
		"xinstall":                   {"install"}, // uninstall is 2 away, install 1
		"unistall":                   {"uninstall"},
		"prov":                       {"provision"}, // a prefix
		"forget":                     {"forget-host-key"},
		"doctr":                      {"doctor"},
		"verison":                    {"version"},
		"hlep":                       {"help"},
		"foo":                        nil,
		"frobnicate":                 nil,
		"ls":                         nil, // 2 edits of a 4-letter word is too many
		"de":                         nil, // a prefix too short to tell
		"x":                          nil,
		"":                           nil,
		strings.Repeat("list", 1000): nil,
	} {
		if got := suggest(typed, commands); !slices.Equal(got, want) {
			t.Errorf("suggest(%.20q) = %q, want %q", typed, got, want)
		}
	}
	// Ties are all named, in the candidates' order.
	if got := suggest("dem", []string{"demo", "dam", "dex"}); !slices.Equal(got, []string{"demo", "dam", "dex"}) {
		t.Errorf("suggest(dem) = %q, want all three", got)
	}
	if got := didYouMean([]string{"a", "b", "c"}); got != ` (did you mean "a", "b" or "c"?)` {
		t.Errorf("didYouMean = %q", got)
	}
	if got := didYouMean(nil); got != "" {
		t.Errorf("didYouMean(nil) = %q, want empty", got)
	}
}

// TestCommandsInUsage: `vmdump help` names every command, and every command
// there runs (none is an unknown command).
func TestCommandsInUsage(t *testing.T) {
	for _, c := range commands {
		if !strings.Contains(usage, "vmdump "+c+" ") && !strings.Contains(usage, "vmdump "+c+"\n") {
			t.Errorf("usage does not name `vmdump %s`", c)
		}
	}
	for _, line := range strings.Split(usage, "\n") {
		_, after, ok := strings.Cut(line, "  vmdump ")
		if !ok {
			after, ok = strings.CutPrefix(line, "  sudo vmdump ")
		}
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(after, " ")
		if !slices.Contains(commands, name) {
			t.Errorf("usage names `vmdump %s`, which is not in commands", name)
		}
	}
	var out, errb bytes.Buffer
	if code := runCommand([]string{"lsit"}, &out, &errb); code != 2 || out.Len() != 0 ||
		errb.String() != "vmdump: unknown command \"lsit\" (did you mean \"list\"?); run \"vmdump help\" for the commands\n" {
		t.Errorf("vmdump lsit: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// TestCommandListNamesEveryProvider: the line of an empty `vmdump list`
// names every provider the way people write it.
func TestCommandListNamesEveryProvider(t *testing.T) {
	for _, p := range discover.Providers {
		if _, ok := managerNames[p.Manager]; !ok && p.Manager != "config" {
			t.Errorf("provider %q has no name in managerNames", p.Manager)
		}
	}
}
