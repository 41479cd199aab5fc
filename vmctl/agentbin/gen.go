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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/vmdump/vmdump/vmctl/agentbin/internal/srcsum"
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
	sum, err := srcsum.Sum(src)
	check(err)
	check(os.WriteFile("source.sha256", []byte(sum+"\n"), 0o644))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
