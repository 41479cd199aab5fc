package hostenv

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Inputs is everything one discovery looked at: each file and directory
// (what a stat of it showed), each process it tested for life, each
// environment variable it read. Wireshark asks for the interface list at
// every start and every refresh, and between two asks nothing has usually
// changed; a caller that kept the last answer with its Inputs can tell,
// with one stat per file instead of reading and parsing them all, whether
// that answer still holds (BENCHMARKS.md, P1).
type Inputs struct {
	mu     sync.Mutex
	facts  []inputFact
	index  map[string]int // kind+key → position in facts
	opaque bool           // something was read that cannot be checked again
}

// inputFact is one thing discovery saw.
type inputFact struct {
	kind byte   // 'f' a path's stat, 'p' a process, 'v' an environment variable
	key  string // the path, pid or variable name
	seen string // fileSig, "1"/"0" for alive/dead, the variable's value
}

// RecordInputs runs f with env, which records into the returned Inputs
// every fact f's discovery reads through it (Discover, LoadInventory, ...).
// The record travels with the Env f is given, not in a global: other
// discoveries, with other Envs, record nothing into it.
func RecordInputs(env Env, f func(Env)) *Inputs {
	in := &Inputs{index: map[string]int{}}
	env.rec = in
	f(env)
	return in
}

// Checkable reports whether the record can be checked later: false when
// discovery read something a stat cannot vouch for (a glob, an unreadable
// path) or saw a file change while it ran.
func (in *Inputs) Checkable() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return !in.opaque
}

func (in *Inputs) add(kind byte, key, seen string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	k := string(kind) + key
	if i, ok := in.index[k]; ok {
		if in.facts[i].seen != seen {
			in.opaque = true // it changed under us
		}
		return
	}
	in.index[k] = len(in.facts)
	in.facts = append(in.facts, inputFact{kind, key, seen})
}

// noteStat records what a stat of path showed.
func (e Env) noteStat(path string, fi fs.FileInfo, err error) {
	if in := e.rec; in != nil {
		sig, ok := statSig(fi, err)
		if !ok {
			e.noteOpaque()
			return
		}
		in.add('f', path, sig)
	}
}

// noteDir records a directory whose entries discovery listed: its
// modification time changes when an entry is added, removed or renamed.
func (e Env) noteDir(dir string) {
	if e.rec != nil {
		fi, err := os.Stat(dir)
		e.noteStat(dir, fi, err)
	}
}

func (e Env) noteProcess(pid int, alive bool) {
	if in := e.rec; in != nil {
		v := "0"
		if alive {
			v = "1"
		}
		in.add('p', strconv.Itoa(pid), v)
	}
}

func (e Env) noteEnv(name, value string) {
	if in := e.rec; in != nil {
		in.add('v', name, value)
	}
}

// noteOpaque marks the recording as not checkable.
func (e Env) noteOpaque() {
	if in := e.rec; in != nil {
		in.mu.Lock()
		in.opaque = true
		in.mu.Unlock()
	}
}

// noteGlob records the directory a glob listed; a pattern with wildcards
// above its last element cannot be checked by one stat.
func (e Env) NoteGlob(pattern string) {
	if e.rec == nil {
		return
	}
	dir := filepath.Dir(pattern)
	if hasGlobMeta(dir) {
		e.noteOpaque()
		return
	}
	e.noteDir(dir)
}

func hasGlobMeta(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			if s[i] == '\\' && filepath.Separator == '\\' {
				continue
			}
			return true
		}
	}
	return false
}

// statSig is what a stat showed, as text that changes whenever the file
// does: type and permissions, size, modification time and, where the OS
// has them, inode and change time (sysSig). A missing path is "-". Other
// errors cannot be vouched for.
func statSig(fi fs.FileInfo, err error) (string, bool) {
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "-", true
		}
		return "", false
	}
	b := make([]byte, 0, 64)
	b = strconv.AppendUint(b, uint64(fi.Mode()), 16)
	b = append(b, ' ')
	b = strconv.AppendInt(b, fi.Size(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 10)
	b = append(b, sysSig(fi)...)
	return string(b), true
}

// Unchanged reports whether every fact still holds for env: each path
// stats the same, each process is as alive as it was, each variable has
// its value.
func (in *Inputs) Unchanged(env Env) bool {
	if !in.Checkable() {
		return false
	}
	for _, f := range in.facts {
		switch f.kind {
		case 'f':
			fi, err := os.Stat(f.key)
			if sig, ok := statSig(fi, err); !ok || sig != f.seen {
				return false
			}
		case 'p':
			pid, err := strconv.Atoi(f.key)
			if err != nil || (f.seen == "1") != (env.ProcessAlive != nil && env.ProcessAlive(pid)) {
				return false
			}
		case 'v':
			if env.Getenv == nil || env.Getenv(f.key) != f.seen {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// appendTo appends the record in a compact form parseInputs reads:
// per fact its kind, then key and seen each as <length>:<bytes>.
func (in *Inputs) appendTo(b []byte) []byte {
	in.mu.Lock()
	defer in.mu.Unlock()
	b = strconv.AppendInt(b, int64(len(in.facts)), 10)
	b = append(b, '\n')
	for _, f := range in.facts {
		b = append(b, f.kind)
		b = appendField(b, f.key)
		b = appendField(b, f.seen)
	}
	return b
}

// appendField and cutField frame a byte string as <length>:<bytes>.
func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func cutField(b []byte) (field, rest []byte, ok bool) {
	i := bytes.IndexByte(b, ':')
	if i <= 0 || i > 12 {
		return nil, nil, false
	}
	n, err := strconv.Atoi(string(b[:i]))
	if err != nil || n < 0 || n > len(b)-i-1 {
		return nil, nil, false
	}
	return b[i+1 : i+1+n], b[i+1+n:], true
}

// parseInputs reads what appendTo wrote at the start of b and returns the
// rest of b. Anything malformed is an error: the caller then discovers
// afresh.
func parseInputs(b []byte) (*Inputs, []byte, error) {
	errBad := errors.New("malformed discovery record")
	nl := 0
	for nl < len(b) && b[nl] != '\n' {
		nl++
	}
	n, err := strconv.Atoi(string(b[:nl]))
	if err != nil || nl == len(b) || n < 0 || n > len(b) {
		return nil, nil, errBad
	}
	b = b[nl+1:]
	in := &Inputs{facts: make([]inputFact, 0, n)}
	field := func() (string, bool) {
		f, rest, ok := cutField(b)
		if ok {
			b = rest
		}
		return string(f), ok
	}
	for range n {
		if len(b) == 0 {
			return nil, nil, errBad
		}
		f := inputFact{kind: b[0]}
		b = b[1:]
		var ok1, ok2 bool
		f.key, ok1 = field()
		f.seen, ok2 = field()
		if !ok1 || !ok2 || (f.kind != 'f' && f.kind != 'p' && f.kind != 'v') {
			return nil, nil, errBad
		}
		in.facts = append(in.facts, f)
	}
	return in, b, nil
}
