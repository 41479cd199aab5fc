package hostenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/vmdump/vmdump/internal/oneline"
)

// Size caps for the files discovery reads. Every real file is far smaller;
// the caps only keep a corrupt or hostile file from eating memory while
// Wireshark waits for the interface list.
const (
	MaxSmall = 1 << 20  // config files, ssh configs, JSON machine files
	MaxIndex = 16 << 20 // Vagrant's global index, VirtualBox XML
	MaxPID   = 64       // a pid file holds one number
)

// discReadFile reads a regular file of at most max bytes. It refuses
// directories, FIFOs and devices before opening them: opening a FIFO would
// block the listing forever.
func (e Env) ReadFile(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	e.noteStat(path, fi, err)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, errors.New("is a directory, not a file")
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("is not a regular file")
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("is %d bytes, larger than the %d expected", fi.Size(), max)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("is larger than the %d bytes expected", max)
	}
	return b, nil
}

// discExists reports whether path exists (following symlinks).
func (e Env) Exists(path string) bool {
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	e.noteStat(path, fi, err)
	return err == nil
}

// discIsDir reports whether path is a directory (following symlinks).
func (e Env) IsDir(path string) bool {
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	e.noteStat(path, fi, err)
	return err == nil && fi.IsDir()
}

// discIsFile reports whether path is a regular file (following symlinks).
func (e Env) IsFile(path string) bool {
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	e.noteStat(path, fi, err)
	return err == nil && fi.Mode().IsRegular()
}

// discSubdirs lists the names of dir's subdirectories, sorted, following
// symlinks (Lima users symlink instance dirs). A missing or unreadable dir
// has none; the error is logged by the caller if it matters.
func (e Env) Subdirs(dir string) ([]string, error) {
	entries, err := e.discReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range entries {
		if d.IsDir() {
			names = append(names, d.Name())
			continue
		}
		if d.Type()&fs.ModeSymlink != 0 && e.IsDir(filepath.Join(dir, d.Name())) {
			names = append(names, d.Name())
		}
	}
	return names, nil
}

// discFiles lists the names of the regular files in dir ending in suffix,
// sorted. Directories named like files are included too, so that the caller
// reports them as broken instead of silently ignoring them.
func (e Env) Files(dir, suffix string) ([]string, error) {
	entries, err := e.discReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), suffix) && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// discReadDir reads dir for discovery, noting it as an input of the
// listing; no dir and a missing dir both have no entries.
func (e Env) discReadDir(dir string) ([]os.DirEntry, error) {
	if dir == "" {
		return nil, nil
	}
	e.noteDir(dir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}

// discPID reads a pid file. A missing file is (0, false, nil): managers
// delete pid files when their process stops.
func (e Env) discPID(path string) (pid int, present bool, err error) {
	b, err := e.ReadFile(path, MaxPID)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, true, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 0, true, fmt.Errorf("%s does not hold a process id", filepath.Base(path))
	}
	return n, true, nil
}

// discPIDAlive is a pid file whose process is alive.
func (e Env) PIDFileAlive(path string) (alive, present bool) {
	pid, present, err := e.discPID(path)
	if err != nil {
		e.Logger().Debug("unreadable pid file", "file", path, "err", err)
		return false, present
	}
	return e.alive(pid), present
}

// discFileProblem turns a read error into a one-line skip reason naming the
// file by its base name (the full path is in VM.Source).
func FileProblem(path string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return filepath.Base(path) + " is missing"
	case errors.Is(err, fs.ErrPermission):
		return filepath.Base(path) + " is not readable (permission denied)"
	}
	return oneline.Untrusted(filepath.Base(path) + " " + err.Error())
}

// discJSONProblem describes why a JSON file did not decode, in one line.
func JSONProblem(path string, data []byte, err error) string {
	name := filepath.Base(path)
	if len(strings.TrimSpace(string(data))) == 0 {
		return name + " is empty"
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return oneline.Untrusted(fmt.Sprintf("%s is not valid JSON (byte %d: %s)", name, se.Offset, se.Error()))
	case errors.As(err, &te):
		return oneline.Untrusted(fmt.Sprintf("%s: field %s holds a %s, expected %s", name, te.Field, te.Value, te.Type))
	}
	return oneline.Untrusted(fmt.Sprintf("%s is not valid JSON (%v)", name, err))
}

// cfgTOMLProblemIn keeps the useful first line of a TOML error from
// parsing data. The line of a syntax error is counted from its byte
// offset: the toml package counts the newline that ends the bad line when
// it finds the error on that newline ("[vm" then a newline is reported on
// line 2), while Position.Start is right.
func TOMLProblem(data []byte, err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %s", cfgErrorLine(data, pe.Position), pe.Message)
	}
	return cfgTOMLProblem(err)
}

// cfgTOMLProblem is cfgTOMLProblemIn without the parsed text, so with the
// toml package's line number, which can be one too many.
func cfgTOMLProblem(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)
	}
	msg := err.Error()
	msg, _, _ = strings.Cut(msg, "\n")
	return strings.TrimPrefix(msg, "toml: ")
}

// cfgErrorLine is the 1-based line of the byte at pos.Start.
func cfgErrorLine(data []byte, pos toml.Position) int {
	// toml.Decode skips a byte order mark before counting offsets.
	s := string(data)
	for _, bom := range []string{"\xff\xfe", "\xfe\xff", "\xef\xbb\xbf"} {
		if strings.HasPrefix(s, bom) {
			s = s[len(bom):]
			break
		}
	}
	if pos.Start < 0 || pos.Start > len(s) {
		return pos.Line
	}
	return 1 + strings.Count(s[:pos.Start], "\n")
}
