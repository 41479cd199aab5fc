package discover

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl/hostenv"

	"github.com/BurntSushi/toml"
)

// Config is vmdump's own configuration, <ConfigDir>/config.toml:
//
//	ssh_config_hosts = true        # list the Host aliases of ~/.ssh/config
//	accept_new_host_keys = false   # trust-on-first-use for known_hosts hosts
//
//	[[vm]]
//	name = "build-box"
//	host = "10.0.0.5"
//	user = "ubuntu"
//	key = "~/.ssh/id_ed25519"
//	interface = "eth0"
//
//	[[vm]]                         # reached by a local command, not SSH
//	name = "ubuntu"
//	transport = "multipass"        # a preset: multipass exec ubuntu --
//	                               # (instance = "..." if not the name)
//
//	[[vm]]
//	name = "netns"
//	exec = ["ip", "netns", "exec", "vm1"]  # any argv; vmdump appends sh -c <cmd>
//
//	[[vm_transport]]               # a discovered VM, through a local command
//	manager = "lima"
//	name = "default"
//	transport = "lima"             # limactl shell default
type Config struct {
	SSHConfigHosts    bool `toml:"ssh_config_hosts"`
	AcceptNewHostKeys bool `toml:"accept_new_host_keys"`
	// ListInterfaces is what Wireshark's interface list shows besides the
	// VMs: "all" (the default: NICs and containers), "containers" (NICs
	// only in each VM's options dialog) or "vms" (both only there).
	// Wireshark runs vmdump once more per listed interface at every start
	// (BENCHMARKS.md, P7): a short list starts Wireshark faster.
	ListInterfaces string     `toml:"list_interfaces"`
	VMs            []ConfigVM `toml:"vm"`
	// Transports switch VMs that other managers' files describe to the exec
	// transport (Lima, Podman: SSH stays their default).
	Transports []ConfigTransport `toml:"vm_transport"`

	// Warnings are the file's problems that do not stop it from being
	// used, one line each: unknown keys ("intreface" under [[vm]] would
	// otherwise quietly capture the default NIC). `vmdump list` and
	// `vmdump doctor` show them; see ConfigWarnings.
	Warnings []string `toml:"-"`
}

// The values of list_interfaces.
const (
	ListAll        = "all"
	ListContainers = "containers"
	ListVMs        = "vms"
)

// Lists says which interfaces Wireshark's list shows besides the VMs.
func (c Config) Lists() (nics, containers bool) {
	switch c.ListInterfaces {
	case ListVMs:
		return false, false
	case ListContainers:
		return false, true
	}
	return true, true
}

// ConfigExec is how a VM is reached when not over SSH: either Exec, the
// argv prefix of a local command ("sh", "-c", <command> is appended), or
// Transport, a preset (transport_presets.go) for the manager's CLI, with
// Instance (the manager's name for the VM; default: the VM's name) and
// Image (docker-desktop's container image).
type ConfigExec struct {
	Exec      []string `toml:"exec"`
	ExecQuote bool     `toml:"exec_quote"` // the program joins its args into one shell line
	Transport string   `toml:"transport"`
	Instance  string   `toml:"instance"`
	Image     string   `toml:"image"`
}

// ConfigTransport is one [[vm_transport]] table: the VM that Manager's
// files call Name is reached through ConfigExec instead of SSH.
type ConfigTransport struct {
	Manager string `toml:"manager"`
	Name    string `toml:"name"`
	ConfigExec
}

// ConfigVM is one [[vm]] table. The values are as written: Discover (through
// the "config" provider) validates them and skips a VM with hostile values,
// so use Discover's VMs, not these, to connect.
type ConfigVM struct {
	Name      string `toml:"name"`
	Host      string `toml:"host"`
	Port      int    `toml:"port"`
	User      string `toml:"user"`
	Key       string `toml:"key"`
	Interface string `toml:"interface"`
	ProxyJump string `toml:"proxy_jump"`
	// HostKey is how the host key is checked: "known_hosts" (the default
	// for non-loopback hosts) or "pin" (remember it per VM, the default for
	// loopback hosts, whose ports are reused by other VMs over time).
	HostKey string `toml:"host_key"`
	// ConfigExec, when set, replaces the SSH fields (host must be empty).
	ConfigExec
}

// LoadConfig reads <ConfigDir>/config.toml. A missing file is an empty
// config, not an error. Unknown keys do not fail the file (an older or newer
// vmdump may know them) but are not silent either: each is logged and
// described in Config.Warnings.
func LoadConfig(env hostenv.Env) (Config, error) {
	path := env.ConfigFile()
	if path == "" {
		return Config{}, nil
	}
	data, err := env.ReadFile(path, hostenv.MaxSmall)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("cannot read %s: %s; fix or remove the file", path, hostenv.FileProblem(path, err))
	}
	if r, ok := lastConfig.get(path, data); ok {
		return r.cfg, r.err
	}
	cfg, err := parseConfig(env, path, data)
	lastConfig.put(path, data, cfg, err)
	return cfg, err
}

// ConfigWarnings are the warnings of config.toml (Config.Warnings) for the
// commands that show them to a person; nil when the file is missing or
// broken (a broken file is listed by Discover as a skipped entry).
func ConfigWarnings(env hostenv.Env) []string {
	cfg, err := LoadConfig(env)
	if err != nil {
		return nil
	}
	return cfg.Warnings
}

func parseConfig(env hostenv.Env, path string, data []byte) (Config, error) {
	var cfg Config
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %s; fix the file", path, oneline.Untrusted(hostenv.TOMLProblem(data, err)))
	}
	switch cfg.ListInterfaces {
	case "", ListAll, ListContainers, ListVMs:
	default:
		w := oneline.Untrusted(fmt.Sprintf("%s: list_interfaces = %q is not one of \"all\", \"containers\", \"vms\"; listing all", path, cfg.ListInterfaces))
		env.Logger().Warn("config.toml: bad value ignored", "warning", w)
		cfg.Warnings = append(cfg.Warnings, w)
		cfg.ListInterfaces = ""
	}
	for _, w := range cfgUnknownKeys(md, cfg) {
		w = oneline.Untrusted(path + ": " + w)
		env.Logger().Warn("config.toml: unknown key ignored", "warning", w)
		cfg.Warnings = append(cfg.Warnings, w)
	}
	return cfg, nil
}

// lastConfig keeps the last parse: one discovery reads config.toml in
// several providers, and TOML decoding is among the costlier parts of a
// listing Wireshark waits for. The file is still read each time; only
// identical bytes reuse the result. Callers must not modify the slices of
// the Config they get.
var lastConfig configMemo

type configMemo struct {
	mu   sync.Mutex
	path string
	data string
	last configParse
	set  bool
}

// configParse is one parse's result.
type configParse struct {
	cfg Config
	err error
}

func (m *configMemo) get(path string, data []byte) (configParse, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.set || m.path != path || m.data != string(data) {
		return configParse{}, false
	}
	return m.last, true
}

func (m *configMemo) put(path string, data []byte, cfg Config, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.path, m.data, m.last, m.set = path, string(data), configParse{cfg, err}, true
}

// The keys each table of config.toml knows, from the toml tags of the
// structs that decode it.
var (
	cfgTopKeys       = cfgTOMLKeys(reflect.TypeFor[Config]())
	cfgVMKeys        = cfgTOMLKeys(reflect.TypeFor[ConfigVM]())
	cfgTransportKeys = cfgTOMLKeys(reflect.TypeFor[ConfigTransport]())
)

func cfgTOMLKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			keys = append(keys, cfgTOMLKeys(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// cfgTable is one kind of table of config.toml.
type cfgTable struct {
	key  string // "" for the top level, else "vm" or "vm_transport"
	keys []string
}

var cfgTables = []cfgTable{{"", cfgTopKeys}, {"vm", cfgVMKeys}, {"vm_transport", cfgTransportKeys}}

func (t cfgTable) title() string {
	if t.key == "" {
		return "the top level"
	}
	return "[[" + t.key + "]]"
}

// cfgUnknownKeys describes, one line each in the order of the file, the
// keys the decoding left unused. Each names the key, the table it is in
// ("[[vm]] #2 "buildbox"") and what was probably meant.
func cfgUnknownKeys(md toml.MetaData, cfg Config) []string {
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	if len(undecoded) == 0 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	index := map[string]int{} // [[vm]] tables started so far
	for _, k := range md.Keys() {
		if len(k) == 1 && md.Type(k...) == "ArrayHash" {
			index[k[0]]++
		}
		if !undecoded[k.String()] {
			continue
		}
		table, rel := cfgTables[0], []string(k)
		if len(k) > 1 {
			for _, t := range cfgTables[1:] {
				if k[0] == t.key {
					table, rel = t, k[1:]
				}
			}
		}
		i := 0
		if table.key != "" && md.Type(table.key) == "ArrayHash" {
			i = index[table.key] // 0 for an inline array: no table to count
		}
		// One warning per unknown key, not one more per key inside it
		// (the keys of [vm.extra] under an unknown "extra").
		id := table.key + "\x00" + strconv.Itoa(i) + "\x00" + rel[0]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, cfgUnknownKey(table, i, cfgTableName(cfg, table.key, i), rel))
	}
	return out
}

// cfgTableName is how a user recognises [[vm]] number i (from 1): its
// name, or what stands for it in the listing; "" when unknown.
func cfgTableName(cfg Config, table string, i int) string {
	switch {
	case i < 1:
		return ""
	case table == "vm" && i <= len(cfg.VMs):
		c := cfg.VMs[i-1]
		return cmp.Or(strings.TrimSpace(c.Name), c.Host, c.Instance)
	case table == "vm_transport" && i <= len(cfg.Transports):
		t := cfg.Transports[i-1]
		if t.Manager != "" || t.Name != "" {
			return t.Manager + "/" + t.Name
		}
	}
	return ""
}

// cfgUnknownKey is the warning for the unknown key rel (a path inside the
// table: "intreface", or "extra.x" for a dotted key) of table number i.
func cfgUnknownKey(table cfgTable, i int, name string, rel []string) string {
	key := rel[0]
	w := "unknown key " + strconv.Quote(strings.Join(rel, "."))
	switch {
	case table.key == "":
		w += " at the top level"
	default:
		w += " in " + table.title()
		if i > 0 {
			w += " #" + strconv.Itoa(i)
		}
		if name != "" {
			w += " " + strconv.Quote(name)
		}
	}
	if slices.Contains(table.keys, key) {
		return w // a known key with an unknown key inside
	}
	// A key of another table: a [[vm]] key above the first [[vm]], or a
	// top-level setting written after one, where it belongs to that table.
	var homes []string
	for _, t := range cfgTables {
		if t.key != table.key && slices.Contains(t.keys, key) && !(t.key == "" && (key == "vm" || key == "vm_transport")) {
			homes = append(homes, t.title())
		}
	}
	switch {
	case len(homes) > 0 && homes[0] == "the top level":
		return w + "; it is a top-level setting: move it above the first [[...]] table"
	case len(homes) > 0:
		return w + "; it belongs in a " + strings.Join(homes, " or a ") + " table"
	}
	if near := cfgNearestKey(key, table.keys); near != "" {
		return w + "; did you mean " + strconv.Quote(near) + "?"
	}
	return w + "; the keys of " + table.title() + " are " + strings.Join(table.keys, ", ")
}

// cfgNearestKey is the known key closest to key by edit distance (a
// transposition counts as one edit, case and '-' for '_' as none), else a
// known key that key starts with or ends in ("hostname", "ssh_port"), or
// "" when none is close enough to be what was meant.
func cfgNearestKey(key string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	best, bestD := "", -1
	for _, k := range known {
		if d := cfgEditDistance(norm(key), norm(k)); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	limit := 1
	if n := utf8.RuneCountInString(key); n >= 5 {
		limit = 2
	}
	if n := utf8.RuneCountInString(key); n >= 10 {
		limit = 3
	}
	if bestD >= 0 && bestD <= limit {
		return best
	}
	// ssh_config's words: "hostname" for host, "username", "ssh_port".
	for _, k := range known {
		nk, nkey := norm(k), norm(key)
		if len(nk) >= 3 && (strings.HasPrefix(nkey, nk) || strings.HasSuffix(nkey, "_"+nk)) {
			return k
		}
	}
	return ""
}

// cfgEditDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of two neighbours.
func cfgEditDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	// d[i][j] is the distance of x[:i] and y[:j].
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
