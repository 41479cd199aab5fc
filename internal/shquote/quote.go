package shquote

import (
	"fmt"
	"strings"
)

// Quote returns s as one POSIX shell word: single-quoted, with each ' as
// '\”. Inside single quotes a POSIX shell expands nothing ($, `, \, ;, |, &
// and newlines are literal), so a quoted word can never run anything.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if IsSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isShellSafe reports whether s means the same to every shell without quotes.
// The set is deliberately small: letters, digits and a few punctuation marks
// that no shell (sh, bash, ash, csh, fish) treats specially inside a word.
func IsSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '/' || c == ':' || c == '+' || c == ',' || c == '@':
		default:
			return false
		}
	}
	return true
}

// checkInterfaceName rejects interface names that cannot be a Linux interface
// or that tcpdump would read as something else: empty, control characters
// (NUL cannot travel in argv at all; a newline would split the remote
// command), and a leading '-' (it would be taken as an option).
func CheckInterfaceName(name string) error {
	if name == "" {
		return fmt.Errorf("no capture interface given: set the remote interface in the options dialog")
	}
	if strings.HasPrefix(name, "-") {
		return fmt.Errorf("interface name %q starts with '-': not a network interface", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("interface name %q contains a control character: not a network interface", name)
		}
	}
	return nil
}

// shellOneLine joins a shell script written one command per line into a single
// line, so that it survives being a single-quoted word for any login shell
// (csh rejects newlines inside quotes). A line ending in a keyword or operator
// that continues the command (do, then, else, {, &&, ||, |, &) is joined with a
// space, every other line with "; ". Lines are trimmed; blank lines and lines
// starting with # are dropped.
func OneLine(script string) string {
	var b strings.Builder
	sep := ""
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b.WriteString(sep)
		b.WriteString(line)
		sep = "; "
		for _, cont := range []string{" do", " then", " else", "{", "&&", "||", "|", "&", ";"} {
			if line == strings.TrimSpace(cont) || strings.HasSuffix(line, cont) {
				sep = " "
				break
			}
		}
	}
	return b.String()
}
