package manager

import (
	"reflect"
	"testing"

	"github.com/kevinburke/ssh_config"
)

func TestSSHConfigSkim(t *testing.T) {
	hosts, err := sshcfgSkim([]byte("User top\n# c\nHost a b \"c d\"\n  Port=22\n  IdentityFile \"/x y/k\" # key\n\tHostName h\r\nhost *.x !n.x\n  User w\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []sshcfgHost{
		{patterns: []string{"*"}, kv: []sshcfgKV{{"user", "top"}}},
		{patterns: []string{"a", "b", "c d"}, kv: []sshcfgKV{{"port", "22"}, {"identityfile", "/x y/k"}, {"hostname", "h"}}},
		{patterns: []string{"*.x", "!n.x"}, kv: []sshcfgKV{{"user", "w"}}},
	}
	if !reflect.DeepEqual(hosts, want) {
		t.Fatalf("got %+v\nwant %+v", hosts, want)
	}
	if _, err := sshcfgSkim([]byte("Host a\n  {bad line\n")); err == nil {
		t.Fatal("a line without a keyword was accepted")
	}
}

// The skim must agree with the library the dialer uses on which Host
// blocks apply to a name (patterns, wildcards, negation).
func TestSSHConfigSkimMatchesLikeTheLibrary(t *testing.T) {
	text := "Host *.lima !bad.lima\n  User l\nHost colima orb?\n  User c\nHost *\n  User any\n"
	cfg, err := ssh_config.DecodeBytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := sshcfgSkim([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"x.lima", "bad.lima", "colima", "orb1", "orb12", "other", "lima", ".lima"} {
		want, _ := cfg.Get(name, "User")
		got := ""
		for _, h := range hosts {
			if v := h.first("user"); v != "" && h.matches(name) {
				got = v
				break
			}
		}
		if got != want {
			t.Errorf("User for %q: skim %q, library %q", name, got, want)
		}
	}
}

func TestSSHConfigWildcard(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "a", true}, {"a*", "a", true}, {"a*c", "abbbc", true}, {"a*c", "abbbd", false},
		{"?", "", false}, {"?", "x", true}, {"*.*", "a.b", true}, {"*.*", "ab", false}, {"**x", "yyx", true},
		{"a?c*", "abcdef", true}, {"lima-*", "lima-default", true}, {"Lima-*", "lima-x", true},
	} {
		if got := sshcfgWildcard(c.p, c.s); got != c.want {
			t.Errorf("sshcfgWildcard(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}
