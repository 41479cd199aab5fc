package discover

import (
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// A refused name is shown as written and the message names the refused
// character and says what a name may hold.
func TestDiscoverNameProblemMessage(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{`my"vm`, "`my\"vm` contains '\"'"},
		{`a\b`, "`a\\b` contains '\\'"},
		{"it's", `"it's" contains "'"`},
		{"a;b", `"a;b" contains ';'`},
		{"Café!", `"Café!" contains '!'`},
		{"日本語#", `"日本語#" contains '#'`},
		{"`id`", "\"`id`\" contains '`'"},
		{"a\nb", `"a\nb" contains a line break`},
		{"a\tb", `"a\tb" contains a tab`},
		{"a\x01", `"a\x01" contains the control character U+0001`},
		{"caf\xe9", `"caf\xe9" contains the byte 0xe9, which is not UTF-8 text`},
		{"a\ufffd", `"a�" contains U+FFFD`},
		{strings.Repeat("é", 40) + "!", `"` + strings.Repeat("é", 30) + `…" contains '!' (character 41)`},
	} {
		got := vmctl.NameProblem(c.name)
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("discNameProblem(%q) = %s\nwant it to start with %s", c.name, got, c.want)
		}
		if !strings.HasSuffix(got, "; "+vmctl.DiscNameAllowed) {
			t.Errorf("discNameProblem(%q) = %s\ndoes not say what is allowed", c.name, got)
		}
		// The reason of a skipped [[vm]] stays whole on its one line.
		vm := cfgVM(hostenv.Env{GOOS: "linux"}, 11, ConfigVM{Name: c.name, Host: "h"})
		if !strings.HasSuffix(vm.Skip, vmctl.DiscNameAllowed) || strings.ContainsAny(vm.Skip, "\n\r") {
			t.Errorf("skip reason of %q: %q", c.name, vm.Skip)
		}
	}
	for _, ok := range []string{"Café", "my vm (1)", "web/default", "a.b_c-d", "日本語", "x=1,y:2@[z]"} {
		if p := vmctl.NameProblem(ok); p != "" {
			t.Errorf("discNameProblem(%q) = %s", ok, p)
		}
	}
	if got := vmctl.NameProblem("-oProxyCommand=x"); got != `"-oProxyCommand=x" starts with '-'` {
		t.Errorf("leading '-': %s", got)
	}
	if got := vmctl.NameProblem(strings.Repeat("x", 129)); got != "is longer than 128 bytes (129)" {
		t.Errorf("long: %s", got)
	}
}
