//go:build ignore

// gen.go rebuilds the embedded capture agents: `go generate ./vmctl/agentbin`.
// Static (CGO_ENABLED=0), stripped, -trimpath and no build id, so that a
// rebuild with the same Go release gives the same bytes; gzipped without a
// name or time for the same reason. source.sha256 records the agent's
// source, for the staleness test.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

const src = "../../cmd/vmdump-agent"

func main() {
	for _, arch := range []string{"amd64", "arm64"} {
		tmp, err := os.MkdirTemp("", "vmdump-agent-build")
		check(err)
		out := filepath.Join(tmp, "vmdump-agent")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, src)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		check(cmd.Run())
		bin, err := os.ReadFile(out)
		check(err)
		os.RemoveAll(tmp)
		var gz bytes.Buffer
		w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		check(err)
		_, err = w.Write(bin)
		check(err)
		check(w.Close())
		check(os.WriteFile("vmdump-agent-linux-"+arch+".gz", gz.Bytes(), 0o644))
		fmt.Printf("linux/%s: %d bytes, %d gzipped\n", arch, len(bin), gz.Len())
	}
	sum, err := sourceSum(src)
	check(err)
	check(os.WriteFile("source.sha256", []byte(sum+"\n"), 0o644))
}

// sourceSum hashes the agent package's non-test Go files: name, NUL,
// content, NUL, in name order.
func sourceSum(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
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
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
