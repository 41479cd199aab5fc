package vmctl

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vmdump/vmdump/internal/oneline"
)

// The values discovery hands on end up as ssh arguments, in remote shell
// commands and in Wireshark's extcap output lines. Files a VM manager wrote
// are not trusted for that: every VM passes discCheckVM, and a value that
// could be read as an option (leading '-'), a second command (';', '$(',
// '`', newline) or an extcap field ('{', '}') makes the VM skipped with a
// reason instead of being passed on.

// discCheckVM validates a VM a provider returned. On a problem it keeps the
// VM (so `vmdump list` shows why) but marks it skipped and drops the
// endpoint fields, so that nothing hostile reaches the dialer.
func CheckVM(vm VM) VM {
	if p := NameProblem(vm.Name); p != "" {
		vm.Name = SafeName(vm.Name)
		return Reject(vm, "name "+p)
	}
	if vm.Host != "" {
		if p := HostProblem(vm.Host); p != "" {
			return Reject(vm, "host "+p)
		}
	}
	if vm.User != "" {
		if p := UserProblem(vm.User); p != "" {
			return Reject(vm, "user "+p)
		}
	}
	if vm.Port < 0 || vm.Port > 65535 {
		return Reject(vm, "port "+strconv.Itoa(vm.Port)+" is not a TCP port")
	}
	if vm.ProxyJump != "" {
		if p := ProxyJumpProblem(vm.ProxyJump); p != "" {
			return Reject(vm, "proxy_jump "+p)
		}
	}
	if vm.Interface != "" {
		if p := IfaceProblem(vm.Interface); p != "" {
			return Reject(vm, "interface "+p)
		}
	}
	for _, k := range vm.KeyFiles {
		if p := PathProblem(k); p != "" {
			return Reject(vm, "key path "+p)
		}
	}
	if p := PathProblem(vm.Source); p != "" {
		vm.Source = ""
	}
	vm.Note = oneline.Untrusted(vm.Note)
	vm.Skip = oneline.Untrusted(vm.Skip)
	vm.OS = oneline.Untrusted(vm.OS)
	return vm
}

func Reject(vm VM, reason string) VM {
	if vm.Skip == "" {
		vm.Skip = reason
	}
	vm.Skip = oneline.Untrusted(vm.Skip)
	vm.Host, vm.Port, vm.User, vm.KeyFiles, vm.ProxyJump, vm.SSHAlias = "", 0, "", nil, "", false
	vm.Exec, vm.ExecQuote = nil, false
	vm.Interface = ""
	vm.Note = oneline.Untrusted(vm.Note)
	vm.OS = oneline.Untrusted(vm.OS)
	return vm
}

// discQuote shows a rejected value safely (Go-quoted, capped).
func QuoteForMessage(s string) string {
	if len(s) > 60 {
		s = s[:60]
	}
	return strconv.Quote(s)
}

// discHostProblem: a host name, an IPv4 address or a bare IPv6 address.
func HostProblem(host string) string {
	if host == "" {
		return "is empty"
	}
	if len(host) > 253 {
		return "is longer than 253 characters"
	}
	if host[0] == '-' {
		return QuoteForMessage(host) + " starts with '-' (would be read as an ssh option)"
	}
	for _, r := range host {
		if !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".-_:%", r))) {
			return QuoteForMessage(host) + " contains " + QuoteForMessage(string(r)) + ", not allowed in a host name"
		}
	}
	if strings.Contains(host, ":") {
		addr, _, _ := strings.Cut(host, "%")
		if ip := net.ParseIP(addr); ip == nil || ip.To4() != nil {
			return QuoteForMessage(host) + " contains ':' but is not an IPv6 address (give the port separately)"
		}
	}
	return ""
}

// discUserProblem: a login name; '@' is allowed because OrbStack selects
// the machine with user@machine.
func UserProblem(user string) string {
	if len(user) > 128 {
		return "is longer than 128 characters"
	}
	if user[0] == '-' {
		return QuoteForMessage(user) + " starts with '-' (would be read as an ssh option)"
	}
	for _, r := range user {
		if !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@", r))) {
			return QuoteForMessage(user) + " contains " + QuoteForMessage(string(r)) + ", not allowed in a user name"
		}
	}
	return ""
}

// discNameChars are refused in VM names: shell metacharacters, quotes and
// the braces that delimit extcap fields.
const NameChars = ";$`|&<>\"'\\{}*?!#"

// discNameAllowed ends the messages refusing a VM name: what it may hold.
const DiscNameAllowed = "VM names may hold letters of any script, digits, spaces and punctuation " +
	"except ; $ ` | & < > \" ' \\ { } * ? ! #"

// discNameProblem: names are shown to people and turned into interface IDs,
// so most characters are fine, except controls and shell/extcap syntax.
// The message shows the name as written and names the refused character.
func NameProblem(name string) string {
	if strings.TrimSpace(name) == "" {
		return "is empty"
	}
	if len(name) > 128 {
		return "is longer than 128 bytes (" + strconv.Itoa(len(name)) + ")"
	}
	if name[0] == '-' {
		return discQuoteName(name) + " starts with '-'"
	}
	n := 0
	for i, r := range name {
		n++
		what := ""
		switch _, size := utf8.DecodeRuneInString(name[i:]); {
		case r == utf8.RuneError && size == 1:
			what = "the byte 0x" + strconv.FormatUint(uint64(name[i]), 16) + ", which is not UTF-8 text"
		case r == '\n' || r == '\r':
			what = "a line break"
		case r == '\t':
			what = "a tab"
		case r == unicode.ReplacementChar:
			what = "U+FFFD, the mark of text that was not UTF-8"
		case unicode.IsControl(r):
			what = fmt.Sprintf("the control character U+%04X", r)
		case r == '\'':
			what = `"'"`
		case strings.ContainsRune(NameChars, r):
			what = "'" + string(r) + "'"
		default:
			continue
		}
		at := ""
		if len(name) > discNameShown { // the name is shown clipped
			at = " (character " + strconv.Itoa(n) + ")"
		}
		return discQuoteName(name) + " contains " + what + at + "; " + DiscNameAllowed
	}
	return ""
}

// discNameShown is how many bytes of a refused name its message shows.
const discNameShown = 60

// discQuoteName shows a refused name as written, as far as it can be:
// clipped at a character, in backquotes when Go quoting would escape
// its quotes or backslashes ("my\"vm" is `my"vm`).
func discQuoteName(name string) string {
	s := oneline.Clip(name, discNameShown)
	if strings.ContainsAny(s, "\"\\") && strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// discSafeName replaces what discNameProblem refuses, for the listing of a
// rejected VM.
func SafeName(name string) string {
	if len(name) > 128 {
		name = name[:128]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || strings.ContainsRune(NameChars, r) {
			return '_'
		}
		return r
	}, strings.ToValidUTF8(name, "_"))
	name = strings.TrimLeft(name, "-")
	if strings.TrimSpace(name) == "" {
		return "unnamed"
	}
	return name
}

// discIfaceProblem: a Linux interface name as tcpdump -i takes it.
func IfaceProblem(ifc string) string {
	if len(ifc) > 64 {
		return "is longer than 64 characters"
	}
	if ifc[0] == '-' {
		return QuoteForMessage(ifc) + " starts with '-'"
	}
	for _, r := range ifc {
		if !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._:-", r))) {
			return QuoteForMessage(ifc) + " contains " + QuoteForMessage(string(r)) + ", not allowed in an interface name"
		}
	}
	return ""
}

// discProxyJumpProblem: a comma-separated list of [user@]host[:port] or
// ssh://[user@]host[:port] hops.
func ProxyJumpProblem(pj string) string {
	for _, hop := range strings.Split(pj, ",") {
		h := strings.TrimPrefix(hop, "ssh://")
		if h == "" {
			return QuoteForMessage(pj) + " has an empty hop"
		}
		if h[0] == '-' {
			return QuoteForMessage(pj) + " has a hop starting with '-'"
		}
		for _, r := range h {
			if !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._:@%[]-", r))) {
				return QuoteForMessage(pj) + " contains " + QuoteForMessage(string(r))
			}
		}
	}
	return ""
}

// discPathProblem: file paths may hold anything a file system allows except
// NUL and line breaks, which no real key path has and which would break the
// one-line listing.
func PathProblem(p string) string {
	if strings.ContainsAny(p, "\x00\n\r") {
		return QuoteForMessage(p) + " contains a NUL or line break"
	}
	return ""
}

// discIsLoopbackHost: "localhost", 127.0.0.0/8 or ::1.
func IsLoopbackHost(host string) bool {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
