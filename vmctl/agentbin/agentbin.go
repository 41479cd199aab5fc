// Package agentbin holds the prebuilt capture agent (cmd/vmdump-agent) for
// the VMs vmdump uploads it to: static linux/amd64 and linux/arm64 builds,
// gzipped. They live in the repository so that `go build` of vmdump works
// without a generate step; `go generate ./vmctl/agentbin` rebuilds them,
// and TestEmbeddedAgentIsFresh fails when the agent's source changed since.
package agentbin

//go:generate go run gen.go

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strings"
)

var (
	//go:embed vmdump-agent-linux-amd64.gz
	amd64 []byte
	//go:embed vmdump-agent-linux-arm64.gz
	arm64 []byte
	//go:embed source.sha256
	sourceSum string
)

// Binary returns the agent for goarch ("amd64" or "arm64"), uncompressed.
func Binary(goarch string) ([]byte, error) {
	var gz []byte
	switch goarch {
	case "amd64":
		gz = amd64
	case "arm64":
		gz = arm64
	default:
		return nil, fmt.Errorf("vmdump has no capture agent for linux/%s", goarch)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("the embedded capture agent for %s is damaged: %v", goarch, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("the embedded capture agent for %s is damaged: %v", goarch, err)
	}
	return b, nil
}

// SourceSum is the SHA-256 of the agent's source the binaries were built
// from, as gen.go computes it (see SourceSumOf in the test).
func SourceSum() string { return strings.TrimSpace(sourceSum) }
