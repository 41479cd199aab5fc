// Package srcsum fingerprints the capture agent's source, for the
// generator that records it beside the embedded binaries and for the test
// that compares it with the source of the day.
package srcsum

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Sum hashes dir's non-test Go files: name, NUL, content, NUL, in name
// order. A directory without any is an error.
func Sum(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write([]byte(filepath.Base(f)))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
		n++
	}
	if n == 0 {
		return "", errors.New("no Go source in " + dir)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
