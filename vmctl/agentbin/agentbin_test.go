package agentbin

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestEmbeddedAgentIsFresh fails when cmd/vmdump-agent changed since the
// embedded binaries were built: they would not be what the source says.
func TestEmbeddedAgentIsFresh(t *testing.T) {
	files, err := filepath.Glob("../../cmd/vmdump-agent/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("agent source not found: %v", err)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(filepath.Base(f)))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != SourceSum() {
		t.Fatalf("the embedded capture agent is stale (source %s, built from %s): run go generate ./vmctl/agentbin", got[:12], SourceSum())
	}
}

// Each binary is a static Linux ELF executable of its architecture.
func TestEmbeddedAgentBinaries(t *testing.T) {
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		b, err := Binary(arch)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if f.Machine != machine || f.Type != elf.ET_EXEC {
			t.Errorf("%s: machine %v type %v", arch, f.Machine, f.Type)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked (has an interpreter)", arch)
			}
		}
		t.Logf("%s: %d bytes", arch, len(b))
	}
	if _, err := Binary("riscv64"); err == nil {
		t.Error("riscv64 accepted")
	}
}
