package sshconn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"

	"github.com/vmdump/vmdump/internal/lazyre"
)

// sshTarget is one SSH endpoint after ~/.ssh/config has been applied: what
// OpenSSH would use for `ssh <Alias>`, limited to the keywords vmdump honours.
type sshTarget struct {
	Alias          string // the name looked up in ~/.ssh/config (vm.Host, or a jump host)
	HostName       string // what is dialled
	Port           int
	User           string
	IdentityFiles  []string // expanded, in config order
	IdentitiesOnly bool
	ProxyJump      string // raw, comma-separated; "" or "none" for none
	ProxyCommand   string // not run; only mentioned when the direct dial fails
	// KnownHostsFiles is UserKnownHostsFile, expanded ("" entries dropped).
	KnownHostsFiles []string
	// StrictHostKeyChecking is lowercased: "", "yes", "no", "accept-new", "ask", "off".
	StrictHostKeyChecking string
}

func (t sshTarget) Addr() string { return net.JoinHostPort(t.HostName, strconv.Itoa(t.Port)) }

// loadUserSSHConfig parses the user's ssh config file. A missing file is no
// config; an unreadable or unparsable one is logged and ignored, because a
// VM from a manager must stay reachable even when ~/.ssh/config holds
// something this parser rejects (e.g. `Match exec`). Unsupported Match blocks
// are first neutralised and the parse retried, so the rest of the file still
// applies.
func loadUserSSHConfig(path string, log *slog.Logger) *ssh_config.Config {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			log.Warn("ssh config not readable, ignored", "file", path, "err", err)
		}
		return nil
	}
	cfg, err := ssh_config.DecodeBytes(data)
	if err == nil {
		return cfg
	}
	cfg, err2 := ssh_config.DecodeBytes(neutraliseMatch(data))
	if err2 == nil {
		log.Warn("ssh config: Match blocks other than 'Match host'/'Match all' are ignored", "file", path, "err", err)
		return cfg
	}
	log.Warn("ssh config not understood, ignored", "file", path, "err", err)
	return nil
}

var matchLine = lazyre.New(`(?im)^([ \t]*)match([ \t=]+)(.*)$`)

// neutraliseMatch turns every Match line the parser cannot handle into
// `Host !*`, a block that matches no host, so its settings apply nowhere
// (never to the wrong host).
func neutraliseMatch(data []byte) []byte {
	return matchLine().ReplaceAllFunc(data, func(line []byte) []byte {
		m := matchLine().FindSubmatch(line)
		crit := strings.ToLower(strings.Fields(string(m[3]) + " x")[0])
		if crit == "host" || crit == "all" {
			return line
		}
		return append(append([]byte{}, m[1]...), []byte("Host !*")...)
	})
}

// sshTokens holds the values of the %-tokens OpenSSH expands in HostName,
// IdentityFile and UserKnownHostsFile.
type sshTokens struct {
	home, localUser, alias, host, user string
	port                               int
}

// expand replaces ~/ and %% %d %h %n %p %r %u. Unknown tokens are left as
// they are (OpenSSH would refuse them; leaving them makes the path simply not
// exist, which the caller reports).
func (tk sshTokens) expand(s string) string {
	if tk.home != "" && (s == "~" || strings.HasPrefix(s, "~/") || strings.HasPrefix(s, `~\`)) {
		s = filepath.Join(tk.home, s[1:])
	}
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'd':
			b.WriteString(tk.home)
		case 'h':
			b.WriteString(tk.host)
		case 'n':
			b.WriteString(tk.alias)
		case 'p':
			b.WriteString(strconv.Itoa(tk.port))
		case 'r':
			b.WriteString(tk.user)
		case 'u':
			b.WriteString(tk.localUser)
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// resolveSSHConfig applies cfg (nil: none) to alias the way OpenSSH does:
// the first value of a keyword wins, defaults are port 22 and the local user.
// Callers then let the VM's fields and the user's options override it.
func resolveSSHConfig(cfg *ssh_config.Config, alias, home, localUser string) sshTarget {
	get := func(key string) string {
		if cfg == nil {
			return ""
		}
		v, _ := cfg.Get(alias, key)
		return strings.TrimSpace(v)
	}
	getAll := func(key string) []string {
		if cfg == nil {
			return nil
		}
		v, _ := cfg.GetAll(alias, key)
		return v
	}
	t := sshTarget{Alias: alias, HostName: alias, Port: 22, User: localUser}
	if p, err := strconv.Atoi(get("Port")); err == nil && p > 0 && p < 65536 {
		t.Port = p
	}
	if u := get("User"); u != "" {
		t.User = u
	}
	tk := sshTokens{home: home, localUser: localUser, alias: alias, host: alias, user: t.User, port: t.Port}
	if h := get("HostName"); h != "" {
		t.HostName = tk.expand(h)
		tk.host = t.HostName
	}
	for _, f := range getAll("IdentityFile") {
		if f = strings.TrimSpace(f); f != "" && !strings.EqualFold(f, "none") {
			t.IdentityFiles = append(t.IdentityFiles, tk.expand(unquoteSSH(f)))
		}
	}
	t.IdentitiesOnly = strings.EqualFold(get("IdentitiesOnly"), "yes")
	t.ProxyJump = get("ProxyJump")
	t.ProxyCommand = get("ProxyCommand")
	for _, f := range strings.Fields(get("UserKnownHostsFile")) {
		t.KnownHostsFiles = append(t.KnownHostsFiles, tk.expand(unquoteSSH(f)))
	}
	t.StrictHostKeyChecking = strings.ToLower(get("StrictHostKeyChecking"))
	return t
}

func unquoteSSH(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// jumpHop is one entry of a ProxyJump list: [user@]host[:port].
type jumpHop struct {
	User string
	Host string
	Port int // 0: from config or 22
}

// parseProxyJump splits a ProxyJump value into hops. "none" and "" mean no
// jump. The ssh:// URI form is accepted too.
func parseProxyJump(v string) ([]jumpHop, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "none") {
		return nil, nil
	}
	var hops []jumpHop
	for _, spec := range strings.Split(v, ",") {
		spec = strings.TrimPrefix(strings.TrimSpace(spec), "ssh://")
		var h jumpHop
		if at := strings.LastIndex(spec, "@"); at >= 0 {
			h.User, spec = spec[:at], spec[at+1:]
		}
		h.Host = spec
		if host, port, err := net.SplitHostPort(spec); err == nil {
			p, perr := strconv.Atoi(port)
			if perr != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("ProxyJump %q: bad port %q", v, port)
			}
			h.Host, h.Port = host, p
		} else if strings.HasPrefix(spec, "[") && strings.HasSuffix(spec, "]") {
			h.Host = spec[1 : len(spec)-1]
		}
		if h.Host == "" || strings.ContainsAny(h.Host, " \t/") {
			return nil, fmt.Errorf("ProxyJump %q: bad host %q", v, spec)
		}
		hops = append(hops, h)
	}
	return hops, nil
}
