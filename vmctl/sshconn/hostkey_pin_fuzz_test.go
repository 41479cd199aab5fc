package sshconn

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/safefile"
	"github.com/vmdump/vmdump/internal/vmtest"
	"golang.org/x/crypto/ssh"
)

// fuzzPinKey is a fixed key, so that fuzzing is deterministic.
var fuzzPinKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public())
	if err != nil {
		panic(err)
	}
	return k
}()

// FuzzPinnedKeysFile feeds damaged pinned-keys files (cut in half, binary
// garbage, endless lines, CRLF, duplicates) to the parser and the editor:
// no panic; a forgotten VM stays forgotten; other lines survive; a pin
// appended after any garbage is found again.
func FuzzPinnedKeysFile(f *testing.F) {
	good := pinFileHeader + pinLine("config/lab", fuzzPinKey) + pinLine("docker-machine/default", fuzzPinKey)
	f.Add([]byte(good))
	f.Add([]byte(good[:len(good)/2]))                       // cut in half
	f.Add([]byte(good[:len(good)-30]))                      // cut inside the last key
	f.Add([]byte("\x00\xff\xfe garbage\x00\n\x01\x02"))     // binary
	f.Add([]byte(strings.Repeat("x", 3<<20) + "\n" + good)) // a line longer than any scanner buffer
	f.Add([]byte(strings.ReplaceAll(good, "\n", "\r\n")))   // CRLF
	f.Add([]byte("config/lab ssh-ed25519\nconfig/lab \n  config/lab  x\n"))
	f.Add([]byte("config%2Flab ssh-ed25519 AAAA\nconfig/lab%20x y\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		id := pinIdentity("config", "lab")
		_, had := findPin(content, id)
		out, removed := withoutPin(content, id)
		if _, still := findPin(out, id); still {
			t.Fatalf("pin survives withoutPin:\n%q", out)
		}
		if had && !removed {
			t.Fatalf("a pin was found but withoutPin removed nothing")
		}
		for _, line := range strings.Split(string(content), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			if lid, _, _ := strings.Cut(strings.TrimSpace(line), " "); lid != id && !bytes.Contains(out, []byte(line)) {
				t.Fatalf("withoutPin lost another line %q", line)
			}
		}
		added := append([]byte{}, content...)
		if len(added) > 0 && added[len(added)-1] != '\n' {
			added = append(added, '\n')
		}
		added = append(added, pinLine(id, fuzzPinKey)...)
		if got, ok := findPin(added, id); !ok || !had && !keysEqual(got, fuzzPinKey) {
			t.Fatalf("an appended pin is not found (found %v)", ok)
		}
	})
}

// TestPinSurvivesHugeLine: a damaged file with an endless line before a VM's
// pin still refuses a changed key for that VM.
func TestPinSurvivesHugeLine(t *testing.T) {
	other := newEd25519Key(t)
	file := t.TempDir() + "/known_hosts"
	content := pinFileHeader + strings.Repeat("#", 3<<20) + "\n" + pinLine("config/lab", other)
	if err := safefile.WriteAtomic(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := pinnedHostKeyCheck(file, "config", "lab", vmtest.DiscardLog())
	if err != nil {
		t.Fatal(err)
	}
	err = c.callback("127.0.0.1:2222", nil, fuzzPinKey)
	if err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("a changed key was accepted past a 3 MB line: %v", err)
	}
}

// TestPinReplacesDamagedLine: pinning a VM whose line was cut short leaves
// one valid line for it, and keeps the other VMs' lines.
func TestPinReplacesDamagedLine(t *testing.T) {
	file := t.TempDir() + "/known_hosts"
	whole := pinLine("config/lab", fuzzPinKey)
	other := pinLine("config/other", fuzzPinKey)
	if err := safefile.WriteAtomic(file, []byte(pinFileHeader+other+whole[:len(whole)-20]), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pinOnFirstUse(file, "config/lab", fuzzPinKey, vmtest.DiscardLog()); err != nil {
		t.Fatal(err)
	}
	got, err := safefile.ReadIfExists(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != pinFileHeader+other+whole {
		t.Errorf("file after pinning:\n%s", got)
	}
}
