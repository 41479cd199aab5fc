package manager

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findSSHConfigHosts lists every concrete Host alias of ~/.ssh/config and
// the files it Includes (OpenSSH format, ssh_config(5)); Discover asks it
// only when config.toml sets ssh_config_hosts = true. Each VM's Host is the alias itself, with
// SSHAlias set: the dialer resolves it through ~/.ssh/config at dial time,
// exactly as `ssh <alias>` would. Host keys are checked against known_hosts.
//
// The file is read with sshcfgSkim (sshconfig_skim.go says why not with
// the library the dialer uses); Include and Match are handled here
// (sshcfgSplit): Includes resolve against the Env's home, and `Match exec`
// could not be evaluated without running a command.
func FindSSHConfigHosts(env hostenv.Env) []vmctl.VM {
	var vms []vmctl.VM
	seen := map[string]bool{}
	for _, f := range sshcfgLoadUser(env) {
		for _, alias := range sshcfgAliases(f.hosts) {
			if seen[alias] {
				continue
			}
			seen[alias] = true
			vms = append(vms, vmctl.VM{
				Manager:  "ssh",
				Name:     alias,
				Host:     alias,
				SSHAlias: true,
				State:    vmctl.Unknown,
				Source:   f.path,
			})
		}
	}
	return vms
}

// discSSHTarget is where an alias leads, as far as the files tell without
// evaluating Match blocks. Discover uses it only to recognise one VM reached
// both as a manager's VM and as an alias.
type DiscSSHTarget struct {
	HostName string
	Port     int
	User     string
}

// sshcfgAliasTargets resolves every concrete alias of the user's ssh
// config: first value wins, in file order with Includes expanded in place.
func SshcfgAliasTargets(env hostenv.Env) map[string]DiscSSHTarget {
	files := sshcfgLoadUser(env)
	get := func(alias, key string) string {
		for _, f := range files {
			for _, h := range f.hosts {
				if v := h.first(key); v != "" && h.matches(alias) {
					return v
				}
			}
		}
		return ""
	}
	out := map[string]DiscSSHTarget{}
	for _, f := range files {
		for _, alias := range sshcfgAliases(f.hosts) {
			if _, ok := out[alias]; ok {
				continue
			}
			t := DiscSSHTarget{HostName: alias, Port: 22, User: get(alias, "user")}
			if h := get(alias, "hostname"); h != "" {
				t.HostName = strings.ReplaceAll(h, "%h", alias)
			}
			if p, err := strconv.Atoi(get(alias, "port")); err == nil && p > 0 && p < 65536 {
				t.Port = p
			}
			out[alias] = t
		}
	}
	return out
}

// sshcfgAliases returns the concrete aliases of a parsed file: Host patterns
// without wildcards or negation, in order.
func sshcfgAliases(hosts []sshcfgHost) []string {
	var out []string
	for _, h := range hosts {
		out = append(out, h.aliases()...)
	}
	return out
}

// sshcfgFile is one parsed piece of an ssh config, in file order.
type sshcfgFile struct {
	path  string
	hosts []sshcfgHost
}

// sshcfgMaxFiles and sshcfgMaxDepth bound Include expansion (loops, globs
// matching thousands of files).
const (
	sshcfgMaxFiles = 64
	sshcfgMaxDepth = 8
)

// sshcfgLoadUser parses ~/.ssh/config and its Includes.
func sshcfgLoadUser(env hostenv.Env) []sshcfgFile {
	main := env.HomePath(".ssh", "config")
	if main == "" {
		return nil
	}
	var out []sshcfgFile
	budget := sshcfgMaxFiles
	sshcfgLoadFile(env, main, 0, &budget, &out)
	return out
}

func sshcfgLoadFile(env hostenv.Env, path string, depth int, budget *int, out *[]sshcfgFile) {
	if depth > sshcfgMaxDepth || *budget <= 0 {
		env.Logger().Warn("ssh config Include nesting too deep or too many files; rest ignored", "file", path)
		return
	}
	*budget--
	data, err := env.ReadFile(path, hostenv.MaxSmall)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			env.Logger().Warn("ssh config not readable; its hosts are not listed", "file", path, "err", err)
		}
		return
	}
	for _, part := range sshcfgSplit(data) {
		if part.includes == nil {
			hosts, err := sshcfgSkim(part.text)
			if err != nil {
				env.Logger().Warn("ssh config not understood; its hosts are not listed", "file", path, "err", oneline.Untrusted(err.Error()))
				continue
			}
			*out = append(*out, sshcfgFile{path: path, hosts: hosts})
			continue
		}
		for _, pattern := range part.includes {
			for _, inc := range sshcfgIncludeMatches(env, pattern) {
				sshcfgLoadFile(env, inc, depth+1, budget, out)
			}
		}
	}
}

// sshcfgIncludeMatches resolves an Include argument as ssh_config(5) says:
// "~/" is the home directory, a relative path is under ~/.ssh, and globs
// expand in lexical order.
func sshcfgIncludeMatches(env hostenv.Env, pattern string) []string {
	p := env.ExpandHome(pattern)
	if p == "" {
		return nil
	}
	if !hostenv.IsAbs(p) {
		p = env.HomePath(".ssh", p)
		if p == "" {
			return nil
		}
	}
	env.NoteGlob(p)
	matches, err := filepath.Glob(p)
	if err != nil {
		env.Logger().Debug("bad Include pattern in ssh config", "pattern", pattern, "err", err)
		return nil
	}
	return matches
}

// sshcfgPart is either config text or the arguments of one Include line.
type sshcfgPart struct {
	text     []byte
	includes []string
}

// sshcfgSplit cuts an ssh config at its Include lines, so that each included
// file can be parsed in place without the library touching the file system,
// and rewrites Match lines to a Host block that matches nothing. The text
// after an Include continues the Host block it was in, so that block's
// header is repeated at the start of the next piece.
func sshcfgSplit(data []byte) []sshcfgPart {
	var parts []sshcfgPart
	var cur bytes.Buffer
	lastHost := ""
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			parts = append(parts, sshcfgPart{text: bytes.Clone(cur.Bytes())})
		}
		cur.Reset()
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, rest := sshcfgKeyword(line)
		switch key {
		case "include":
			flush()
			args := sshcfgArgs(rest)
			if args == nil {
				args = []string{}
			}
			parts = append(parts, sshcfgPart{includes: args})
			if lastHost != "" {
				cur.WriteString(lastHost + "\n")
			}
			continue
		case "match":
			line = "Host !*"
			lastHost = line
		case "host":
			lastHost = line
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return parts
}

// sshcfgKeyword splits "  Key value" or "Key=value" into the lowercased
// keyword and the rest.
func sshcfgKeyword(line string) (key, rest string) {
	s := strings.TrimLeft(line, " \t")
	if s == "" || s[0] == '#' {
		return "", ""
	}
	end := strings.IndexAny(s, " \t=")
	if end < 0 {
		return strings.ToLower(s), ""
	}
	rest = strings.TrimLeft(s[end:], " \t")
	rest = strings.TrimPrefix(rest, "=")
	return strings.ToLower(s[:end]), strings.TrimSpace(rest)
}

// sshcfgArgs splits an argument list, honouring double quotes and stopping
// at a comment.
func sshcfgArgs(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case !inQuote && (r == ' ' || r == '\t'):
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		case !inQuote && r == '#' && !have:
			return out
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}
