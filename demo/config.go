package demo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/vmdump/vmdump/internal/lazyre"
)

// `vmdump demo` registers its stand-in VM in the user's config.toml as one
// marked block, so that it can take exactly that block out again when it
// stops, and so that the next demo can recognise and remove a block whose
// demo was killed before it could:
//
//	# >>> vmdump demo (pid 4711): added by `vmdump demo`, removed when it stops
//	[[vm]]
//	...
//	# <<< vmdump demo
//
// The block is appended at the end of the file: a [[vm]] table there never
// changes the meaning of what the user wrote above it.

const (
	demoName     = "demo"
	demoBlockEnd = "# <<< vmdump demo"
)

// demoBlockStart matches a block's first line and captures the owner pid.
var demoBlockStart = lazyre.New(`^# >>> vmdump demo \(pid (\d+)\)`)

// demoVM is what the demo writes into its [[vm]] table.
type demoVM struct {
	Host, User, Key, Interface string
	Port                       int
}

// demoBlock is the marked [[vm]] block for the demo VM owned by pid.
func demoBlock(pid int, vm demoVM) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# >>> vmdump demo (pid %d): added by `vmdump demo`, removed when it stops\n", pid)
	fmt.Fprintf(&b, "[[vm]]\nname = %s\nhost = %s\nport = %d\nuser = %s\nkey = %s\ninterface = %s\nhost_key = \"pin\"\n",
		strconv.Quote(demoName), strconv.Quote(vm.Host), vm.Port, strconv.Quote(vm.User), strconv.Quote(vm.Key), strconv.Quote(vm.Interface))
	b.WriteString(demoBlockEnd + "\n")
	return b.String()
}

// withDemoBlock appends block to a config file's content.
func withDemoBlock(content []byte, block string) []byte {
	out := append([]byte(nil), content...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	if len(out) > 0 {
		out = append(out, '\n')
	}
	return append(out, block...)
}

// withoutDemoBlocks removes the demo blocks whose owner drop(pid) says to
// remove, with the blank line withDemoBlock put before each. A block
// without its end line is left alone: the user edited it, it is theirs now.
func withoutDemoBlocks(content []byte, drop func(pid int) bool) (out []byte, removed int) {
	lines := strings.SplitAfter(string(content), "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		m := demoBlockStart().FindStringSubmatch(strings.TrimRight(lines[i], "\r\n"))
		if m == nil {
			b.WriteString(lines[i])
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		end := -1
		for j := i + 1; j < len(lines); j++ {
			if strings.TrimRight(lines[j], "\r\n") == demoBlockEnd {
				end = j
				break
			}
			if demoBlockStart().MatchString(lines[j]) {
				break
			}
		}
		if end < 0 || !drop(pid) {
			b.WriteString(lines[i])
			continue
		}
		removed++
		// The blank line before the block was ours too.
		s := b.String()
		if strings.HasSuffix(s, "\n\n") {
			b.Reset()
			b.WriteString(s[:len(s)-1])
		}
		i = end
	}
	return []byte(b.String()), removed
}

// hasVMNamed reports whether a config file's content has a [[vm]] named
// name outside demo blocks (a cheap look before the demo adds its own; the
// real parse follows in Discover).
func hasVMNamed(content []byte, name string) bool {
	stripped, _ := withoutDemoBlocks(content, func(int) bool { return true })
	sc := bufio.NewScanner(bytes.NewReader(stripped))
	want := regexp.MustCompile(`^\s*name\s*=\s*["']` + regexp.QuoteMeta(name) + `["']\s*(#.*)?$`)
	for sc.Scan() {
		if want.MatchString(sc.Text()) {
			return true
		}
	}
	return false
}

// demoOwner is the account whose Wireshark should list the demo VM: the user
// who ran `sudo vmdump demo`, or root. Files the demo creates in that
// user's config folder belong to them.
type demoOwner struct {
	uid, gid int
	home     string
	name     string
	viaSudo  bool
}

// chown gives path to the owner when the demo runs for a sudo user.
func (o demoOwner) chown(path string) error {
	if !o.viaSudo {
		return nil
	}
	return os.Lchown(path, o.uid, o.gid)
}

// mkdirAll creates dir like os.MkdirAll, handing every folder it creates to
// the owner.
func (o demoOwner) mkdirAll(dir string, perm os.FileMode) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		return err
	}
	for _, d := range missing {
		if err := o.chown(d); err != nil {
			return err
		}
	}
	return nil
}

// writeFile replaces path's content through a temporary file and a rename
// (a capture reading config.toml meanwhile sees the old or the new file,
// never half of one), keeping the old file's mode, owned by the owner.
func (o demoOwner) writeFile(path string, data []byte, perm os.FileMode) error {
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	if err := o.mkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".vmdump-demo-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := o.chown(tmp.Name()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
