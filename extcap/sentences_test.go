package extcap

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vmdump/vmdump/internal/pcaptest"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"Probe interface {with braces} x", "Probe interface (with braces) x"},
		{"}{", ")("},
		{"two\nlines\r\n", "two lines "},
		{"nul\x00byte", "nulbyte"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"tab\tok, ümlaut ok", "tab\tok, ümlaut ok"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// wiresharkSentence parses one output line the way Wireshark's
// extcap_parser.c does (reference §2.1): the keyword regex
// ^[\t| ]*(arg|value|...)(?=[\t| ]+\{) and then, repeatedly, the parameter
// regex \{([a-zA-Z_-]*?)\=(.*?)\}(?=\{|$|\s). Go's regexp has no
// lookahead, so both are spelled out. A repeated key: the last one wins.
func wiresharkSentence(line string) (keyword string, params map[string]string, ok bool) {
	if !utf8.ValidString(line) {
		return "", nil, false
	}
	rest := strings.TrimLeft(line, "\t| ")
	for _, k := range []string{"arg", "value", "interface", "extcap", "dlt", "control"} {
		if len(rest) > len(k) && strings.EqualFold(rest[:len(k)], k) {
			after := strings.TrimLeft(rest[len(k):], "\t| ")
			if len(after) < len(rest[len(k):]) && strings.HasPrefix(after, "{") {
				keyword = strings.ToLower(k)
				break
			}
		}
	}
	if keyword == "" {
		return "", nil, false
	}
	params = map[string]string{}
	isSpace := func(c byte) bool { return strings.IndexByte(" \t\n\r\f\v", c) >= 0 }
	i := 0
	for i < len(line) {
		open := strings.IndexByte(line[i:], '{')
		if open < 0 {
			break
		}
		start := i + open
		j := start + 1
		for j < len(line) && (line[j] == '_' || line[j] == '-' || 'a' <= line[j]|32 && line[j]|32 <= 'z') {
			j++
		}
		if j >= len(line) || line[j] != '=' {
			i = start + 1
			continue
		}
		key := strings.ToLower(line[start+1 : j])
		end := -1
		for k := j + 1; k < len(line); k++ {
			if line[k] == '}' && (k+1 == len(line) || line[k+1] == '{' || isSpace(line[k+1])) {
				end = k
				break
			}
		}
		if end < 0 {
			i = start + 1
			continue
		}
		params[key] = line[j+1 : end]
		i = end + 1
	}
	return keyword, params, true
}

func TestWiresharkSentenceEmulation(t *testing.T) {
	// The real 4.0 result from reference §2.1.
	_, p, ok := wiresharkSentence("interface {value=probe0}{display=Probe interface {with braces} x}")
	if !ok || p["value"] != "probe0" || p["display"] != "Probe interface {with braces" {
		t.Errorf("emulation disagrees with Wireshark: %q", p)
	}
}

// FuzzSentences: whatever text goes in, Wireshark reads back exactly the
// sanitised text, on exactly one line per sentence.
func FuzzSentences(f *testing.F) {
	f.Add("vmdump-default", "Docker VM {default} eth1", "tip}{x", "1")
	f.Add("a}b", "x} y", "\n", "\xff")
	f.Add("", "}", "{=}", "}{display=evil}")
	f.Fuzz(func(t *testing.T, value, display, tooltip, def string) {
		var b bytes.Buffer
		err := WriteInterfaces(&b, def, tooltip, "", []Interface{{Value: value, Display: display}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = WriteConfig(&b, []Arg{{Number: 7, Call: "--" + value, Display: display, Type: "selector", Tooltip: tooltip, Default: def, Group: display,
			Values: []Value{{Value: value + "v", Display: display, Parent: tooltip, Default: true}}}})
		if sanitize(display) == "" {
			if err == nil {
				t.Fatal("WriteConfig accepted an arg without display")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			keyword string
			params  map[string]string
		}{
			{"extcap", map[string]string{"version": sanitize(def), "help": sanitize(tooltip)}},
			{"interface", map[string]string{"value": sanitize(value), "display": sanitize(display)}},
			{"arg", map[string]string{"number": "7", "call": sanitize("--" + value), "display": sanitize(display), "type": "selector",
				"tooltip": sanitize(tooltip), "default": sanitize(def), "required": "false", "group": sanitize(display)}},
			{"value", map[string]string{"arg": "7", "value": sanitize(value + "v"), "display": sanitize(display), "parent": sanitize(tooltip), "default": "true"}},
		}
		if sanitize(display) == "" {
			want[3].params["display"] = sanitize(value + "v")
		}
		for _, w := range want {
			for k, v := range w.params {
				if v == "" && k != "value" && k != "display" && k != "call" {
					delete(w.params, k) // optional empty values are left out
				}
			}
		}
		if def == "" && tooltip == "" {
			want = want[1:]
		}
		lines := pcaptest.SplitLines(b.String())
		if len(lines) != len(want) {
			t.Fatalf("%d lines, want %d: %q", len(lines), len(want), b.String())
		}
		for i, line := range lines {
			kw, params, ok := wiresharkSentence(line)
			if !ok || kw != want[i].keyword {
				t.Fatalf("line %q: keyword %q ok %v, want %q", line, kw, ok, want[i].keyword)
			}
			for k, v := range want[i].params {
				if params[k] != v {
					t.Errorf("line %q: %s = %q, want %q", line, k, params[k], v)
				}
			}
		}
	})
}
