package agentbin

import (
	"bytes"
	"debug/elf"
	"testing"

	"github.com/vmdump/vmdump/vmctl/agentbin/internal/srcsum"
)

// TestEmbeddedAgentIsFresh fails when cmd/vmdump-agent changed since the
// embedded binaries were built: they would not be what the source says.
func TestEmbeddedAgentIsFresh(t *testing.T) {
	got, err := srcsum.Sum("../../cmd/vmdump-agent")
	if err != nil {
		t.Fatalf("agent source not found: %v", err)
	}
	if got != SourceSum() {
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
