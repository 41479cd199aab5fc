package sshconn

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/internal/vmtest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// startTestAgent serves an in-memory ssh-agent holding keys on a unix
// socket and points SSH_AUTH_SOCK at it.
func startTestAgent(t *testing.T, keys ...vmtest.Key) {
	t.Helper()
	dir, err := os.MkdirTemp("", "vmdag") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "a.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ring := agent.NewKeyring()
	for _, k := range keys {
		if err := ring.Add(agent.AddedKey{PrivateKey: k.Priv}); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(ring, c)
			}()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
}

func keyOrder(plan *authPlan) []string {
	var out []string
	for _, k := range plan.keys {
		out = append(out, ssh.FingerprintSHA256(k.signer.PublicKey()))
	}
	return out
}

func fps(keys ...vmtest.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, ssh.FingerprintSHA256(k.Pub))
	}
	return out
}

func TestDialAuthOrder(t *testing.T) {
	dir := t.TempDir()
	explicit := vmtest.NewKeyFile(t, dir, "vm_key", "")
	inAgentOnly := vmtest.NewKeyFile(t, dir, "agent_only", "")
	def := vmtest.NewKeyFile(t, dir, "id_ed25519", "")
	startTestAgent(t, inAgentOnly, explicit)

	plan := buildAuth(authInput{Explicit: []string{explicit.Path}, Defaults: []string{def.Path, filepath.Join(dir, "id_rsa")}, UseAgent: true}, vmtest.DiscardLog())
	defer plan.close()
	if got, want := strings.Join(keyOrder(plan), " "), strings.Join(fps(explicit, inAgentOnly, def), " "); got != want {
		t.Errorf("order %s\nwant  %s", got, want)
	}
	if len(plan.notes) != 0 {
		t.Errorf("notes %q (a missing default key is not worth one)", plan.notes)
	}
	if s := plan.failureSummary(); !strings.Contains(s, "key "+explicit.Path) || !strings.Contains(s, "1 ssh-agent key(s)") {
		t.Errorf("summary %q", s)
	}

	plan = buildAuth(authInput{Explicit: []string{explicit.Path}, Defaults: []string{def.Path}, UseAgent: true, IdentitiesOnly: true}, vmtest.DiscardLog())
	defer plan.close()
	if got, want := strings.Join(keyOrder(plan), " "), strings.Join(fps(explicit), " "); got != want {
		t.Errorf("IdentitiesOnly order %s, want %s", got, want)
	}
}

func TestDialAuthEncryptedKeys(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	dir := t.TempDir()
	const secret = "correct horse battery"
	enc := vmtest.NewKeyFile(t, dir, "enc", secret)

	plan := buildAuth(authInput{Explicit: []string{enc.Path}, UseAgent: true}, vmtest.DiscardLog())
	if len(plan.keys) != 0 {
		t.Error("encrypted key used without passphrase")
	}
	want := "key " + enc.Path + " is encrypted: add it to ssh-agent or set the key passphrase in the options dialog"
	if len(plan.notes) != 1 || plan.notes[0] != want {
		t.Errorf("notes %q, want %q", plan.notes, want)
	}
	if s := plan.failureSummary(); !strings.Contains(s, want) || !strings.Contains(s, "no SSH key or password") {
		t.Errorf("summary %q", s)
	}

	plan = buildAuth(authInput{Explicit: []string{enc.Path}, Passphrase: secret}, vmtest.DiscardLog())
	if got := keyOrder(plan); len(got) != 1 || got[0] != fps(enc)[0] || len(plan.notes) != 0 {
		t.Errorf("with passphrase: keys %v notes %q", got, plan.notes)
	}

	plan = buildAuth(authInput{Explicit: []string{enc.Path}, Passphrase: "wrong passphrase", Password: "hunter2-password"}, vmtest.DiscardLog())
	if len(plan.keys) != 0 || len(plan.notes) != 1 || !strings.Contains(plan.notes[0], "passphrase is wrong") {
		t.Errorf("wrong passphrase: keys %d notes %q", len(plan.keys), plan.notes)
	}
	s := plan.failureSummary()
	for _, secret := range []string{"wrong passphrase", "hunter2-password", secret} {
		if strings.Contains(s, secret) {
			t.Errorf("summary %q reveals a secret", s)
		}
	}
	if !strings.Contains(s, "password") || len(plan.methods) != 2 {
		t.Errorf("password not offered: %q, %d methods", s, len(plan.methods))
	}
}

func TestDialAuthEncryptedKeyHeldByAgent(t *testing.T) {
	dir := t.TempDir()
	enc := vmtest.NewKeyFile(t, dir, "enc", "pass")
	startTestAgent(t, enc)
	plan := buildAuth(authInput{Explicit: []string{enc.Path}, UseAgent: true, IdentitiesOnly: true}, vmtest.DiscardLog())
	defer plan.close()
	if got := keyOrder(plan); len(got) != 1 || got[0] != fps(enc)[0] {
		t.Errorf("keys %v, want the agent's copy of the encrypted key", got)
	}
	if len(plan.notes) != 0 {
		t.Errorf("notes %q: the agent can sign, nothing to say", plan.notes)
	}
}

func TestDialAuthBadFiles(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	dir := t.TempDir()
	notKey := vmtest.WriteFile(t, filepath.Join(dir, "notkey"), "hello\n")
	missing := filepath.Join(dir, "missing")
	plan := buildAuth(authInput{Explicit: []string{missing, notKey, notKey}}, vmtest.DiscardLog())
	if len(plan.keys) != 0 || len(plan.notes) != 2 {
		t.Fatalf("keys %d notes %q", len(plan.keys), plan.notes)
	}
	if !strings.Contains(plan.notes[0], "key "+missing+" not readable") || !strings.Contains(plan.notes[1], "not a private key") {
		t.Errorf("notes %q", plan.notes)
	}
}
