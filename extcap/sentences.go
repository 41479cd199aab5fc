package extcap

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sanitize makes s safe as the value of a {key=value} parameter.
//
// Wireshark's sentence parser has no escaping at all (reference §2.1): a value
// ends at the first '}' followed by '{', whitespace or the end of the line,
// lines are split on '\n', and a line that is not valid UTF-8 is dropped
// whole. So braces become parentheses, line breaks and NULs disappear and
// invalid UTF-8 is replaced. A line feed becomes a space so that words do
// not run together.
func sanitize(s string) string {
	if isClean(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch r {
		case '{':
			return '('
		case '}':
			return ')'
		case '\n':
			return ' '
		case '\r', 0:
			return -1
		}
		return r
	}, s)
}

// isClean reports whether sanitize would return s unchanged; the common case
// then costs no allocation.
func isClean(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{', '}', '\r', '\n', 0:
			return false
		}
	}
	return utf8.ValidString(s)
}

// sentence builds one output line such as
// "arg {number=1}{call=--x}{display=X}". Values are sanitised as they are
// added; empty optional values are left out by the callers.
type sentence struct {
	b strings.Builder
}

func newSentence(keyword string) *sentence {
	s := &sentence{}
	s.b.WriteString(keyword)
	s.b.WriteByte(' ')
	return s
}

// text adds {key=value} with value sanitised.
func (s *sentence) text(key, value string) *sentence {
	return s.raw(key, sanitize(value))
}

// optText adds {key=value} only when value is not empty.
func (s *sentence) optText(key, value string) *sentence {
	if value == "" {
		return s
	}
	return s.text(key, value)
}

// number adds {key=n}.
func (s *sentence) number(key string, n int) *sentence {
	return s.raw(key, strconv.Itoa(n))
}

// boolean adds {key=true} or {key=false}: exactly these words, because
// Wireshark reads any value containing y, t or 1-9 as true (reference §2.1).
func (s *sentence) boolean(key string, v bool) *sentence {
	return s.raw(key, strconv.FormatBool(v))
}

// flag adds {key=true} only when v is set.
func (s *sentence) flag(key string, v bool) *sentence {
	if !v {
		return s
	}
	return s.boolean(key, true)
}

func (s *sentence) raw(key, value string) *sentence {
	s.b.WriteByte('{')
	s.b.WriteString(key)
	s.b.WriteByte('=')
	s.b.WriteString(value)
	s.b.WriteByte('}')
	return s
}

func (s *sentence) String() string { return s.b.String() }

// lines collects whole sentences and writes them with one Write, so a reader
// never sees half a reply.
type lines struct {
	buf bytes.Buffer
}

func (l *lines) add(s *sentence) {
	l.buf.WriteString(s.String())
	l.buf.WriteByte('\n')
}

func (l *lines) writeTo(w io.Writer) error {
	if _, err := w.Write(l.buf.Bytes()); err != nil {
		return fmt.Errorf("writing extcap reply: %w", err)
	}
	return nil
}

// regexSafe checks a validation regex, which cannot be sanitised without
// changing its meaning: it must not contain a line break, a NUL, or a '}'
// that Wireshark would take as the end of the value.
func regexSafe(re string) error {
	if !utf8.ValidString(re) || strings.ContainsAny(re, "\r\n\x00") {
		return fmt.Errorf("validation regex %q contains a line break, NUL or invalid UTF-8", re)
	}
	for i := 0; i+1 < len(re); i++ {
		if re[i] == '}' && strings.ContainsRune("{ \t\v\f", rune(re[i+1])) {
			return fmt.Errorf("validation regex %q contains %q, which ends the value early", re, re[i:i+2])
		}
	}
	return nil
}
