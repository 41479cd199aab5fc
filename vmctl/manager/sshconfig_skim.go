package manager

import (
	"fmt"
	"strings"

	"github.com/vmdump/vmdump/internal/oneline"
)

// Discovery reads ssh configs (Lima's generated ssh.config, ~/.ssh/config
// for the aliases that lead to a manager's VM) with this small reader
// instead of github.com/kevinburke/ssh_config, which the dialer still uses
// to resolve a host the way ssh does. The library lexes each file in a
// goroutine that hands over every token through a channel: for the 12-VM
// benchmark home that was about 70% of discovery's allocations and a good
// part of the time Wireshark waits for the interface list (BENCHMARKS.md,
// P1). Discovery needs far less: Host blocks, their patterns, and the
// first values of a few keywords. Include and Match lines are handled
// before this, by sshcfgSplit.

// sshcfgHost is one Host block.
type sshcfgHost struct {
	patterns []string
	kv       []sshcfgKV // in file order
}

// sshcfgKV is one "Keyword value" line; key is lower-case, value has its
// quotes removed and its arguments joined by a space.
type sshcfgKV struct{ key, value string }

// sshcfgSkim reads the Host blocks of config text. Lines before the first
// Host belong to an implicit "Host *" block, as in ssh_config(5). A line
// whose keyword is not a word is an error: such a file is not an OpenSSH
// config (ssh itself refuses it).
func sshcfgSkim(text []byte) ([]sshcfgHost, error) {
	hosts := []sshcfgHost{{patterns: []string{"*"}}}
	for n, line := range strings.Split(string(text), "\n") {
		key, rest := sshcfgKeyword(strings.TrimRight(line, "\r"))
		if key == "" {
			continue
		}
		if !sshcfgIsWord(key) {
			return nil, fmt.Errorf("line %d: %q is not a keyword", n+1, oneline.Untrusted(key))
		}
		args := sshcfgArgs(rest)
		if key == "host" {
			hosts = append(hosts, sshcfgHost{patterns: args})
			continue
		}
		cur := &hosts[len(hosts)-1]
		cur.kv = append(cur.kv, sshcfgKV{key: key, value: strings.Join(args, " ")})
	}
	return hosts, nil
}

func sshcfgIsWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return s != ""
}

// aliases are the block's concrete patterns: no wildcard, no negation.
func (h sshcfgHost) aliases() []string {
	var out []string
	for _, p := range h.patterns {
		if p != "" && !strings.ContainsAny(p, "*?!") {
			out = append(out, p)
		}
	}
	return out
}

// first is the block's first value for key (lower-case), or "".
func (h sshcfgHost) first(key string) string {
	for _, kv := range h.kv {
		if kv.key == key {
			return kv.value
		}
	}
	return ""
}

// matches applies ssh_config(5) pattern rules to a host name: some
// pattern matches and no negated one does.
func (h sshcfgHost) matches(host string) bool {
	ok := false
	for _, p := range h.patterns {
		if neg, found := strings.CutPrefix(p, "!"); found {
			if sshcfgWildcard(neg, host) {
				return false
			}
			continue
		}
		if sshcfgWildcard(p, host) {
			ok = true
		}
	}
	return ok
}

// sshcfgWildcard matches s against a pattern of '*' (any run) and '?'
// (one character), case-insensitively as ssh does for host names.
func sshcfgWildcard(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case starP >= 0:
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
