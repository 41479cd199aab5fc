package sshconn

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmdump/vmdump/internal/oneline"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authInput is everything that decides how vmdump logs in to one host.
type authInput struct {
	// Explicit key files, in order: the dialog's key, the VM manager's
	// keys, ~/.ssh/config's IdentityFile lines.
	Explicit []string
	// Defaults are ~/.ssh/id_ed25519, id_ecdsa, id_rsa: tried last, and not
	// at all under IdentitiesOnly when explicit keys exist.
	Defaults       []string
	IdentitiesOnly bool
	UseAgent       bool
	// Password, when set, is offered as "password" and answers every
	// keyboard-interactive question. Never logged, never in an error.
	Password   string
	Passphrase string
	Deadline   time.Time // for agent requests
}

// authPlan is the login attempt built from authInput: the methods for
// x/crypto/ssh and, for the one-line error when all fail, what was offered
// and why a key was left out (no secrets in either).
type authPlan struct {
	methods []ssh.AuthMethod
	keys    []keyCandidate // in the order offered
	offered []string
	notes   []string
	closers []io.Closer
}

func (p *authPlan) close() {
	for _, c := range p.closers {
		_ = c.Close()
	}
	p.closers = nil
}

// failureSummary is the one-line tail of an authentication error.
func (p *authPlan) failureSummary() string {
	s := "tried " + strings.Join(p.offered, ", ")
	if len(p.offered) == 0 {
		s = "had no SSH key or password to offer (set a key file or password in the options dialog, or load a key into ssh-agent)"
	}
	if len(p.notes) > 0 {
		s += "; " + strings.Join(p.notes, "; ")
	}
	return s
}

// keyCandidate is one key vmdump may offer.
type keyCandidate struct {
	signer ssh.Signer
	pub    ssh.PublicKey // known even for an encrypted key (OpenSSH format, or the .pub file)
	path   string        // "" for an agent key
}

// buildAuth orders the keys the way that wastes the fewest of the server's
// MaxAuthTries (default 6) on keys that cannot work: explicit keys first
// (through the agent when it holds them, so an encrypted key still works),
// then the agent's other keys, then the default key files. The agent alone
// often holds six unrelated keys; a VM manager's key offered seventh would
// never be tried.
func buildAuth(in authInput, log *slog.Logger) *authPlan {
	plan := &authPlan{}
	var agentKeys []keyCandidate
	if in.UseAgent {
		signers, closer, err := agentSigners(in.Deadline)
		switch {
		case err != nil:
			log.Debug("ssh-agent not used", "err", err)
		default:
			plan.closers = append(plan.closers, closer)
			for _, s := range signers {
				agentKeys = append(agentKeys, keyCandidate{signer: s, pub: s.PublicKey()})
			}
		}
	}
	fromAgent := func(pub ssh.PublicKey) ssh.Signer {
		for _, a := range agentKeys {
			if pub != nil && keysEqual(a.pub, pub) {
				return a.signer
			}
		}
		return nil
	}

	var ordered []keyCandidate
	seenKey := map[string]bool{}
	seenPath := map[string]bool{}
	add := func(c keyCandidate) {
		k := string(c.signer.PublicKey().Marshal())
		if seenKey[k] {
			return
		}
		seenKey[k] = true
		ordered = append(ordered, c)
	}
	loadFiles := func(paths []string, explicit bool) {
		for _, path := range paths {
			if path == "" || seenPath[path] {
				continue
			}
			seenPath[path] = true
			c, note := LoadKeyFile(path, in.Passphrase, explicit)
			if c.signer == nil {
				if s := fromAgent(c.pub); s != nil {
					c.signer = s
					note = ""
				}
			}
			if note != "" {
				plan.notes = append(plan.notes, note)
			}
			if c.signer != nil {
				add(c)
			}
		}
	}
	loadFiles(in.Explicit, true)
	if !in.IdentitiesOnly {
		for _, a := range agentKeys {
			add(a)
		}
	}
	if !in.IdentitiesOnly || len(in.Explicit) == 0 {
		loadFiles(in.Defaults, false)
	}

	plan.keys = ordered
	if len(ordered) > 0 {
		var signers []ssh.Signer
		nAgent := 0
		for _, c := range ordered {
			signers = append(signers, c.signer)
			if c.path == "" {
				nAgent++
			} else {
				plan.offered = append(plan.offered, "key "+c.path)
			}
		}
		if nAgent > 0 {
			plan.offered = append(plan.offered, fmt.Sprintf("%d ssh-agent key(s)", nAgent))
		}
		plan.methods = append(plan.methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { return signers, nil }))
	}
	if in.Password != "" {
		pw := in.Password
		plan.methods = append(plan.methods, ssh.Password(pw))
		rounds := 0
		plan.methods = append(plan.methods, ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
			rounds++
			if rounds > 3 {
				return nil, errors.New("keyboard-interactive: too many rounds")
			}
			answers := make([]string, len(questions))
			for i := range answers {
				answers[i] = pw
			}
			return answers, nil
		}))
		plan.offered = append(plan.offered, "password")
	}
	return plan
}

// loadKeyFile reads one private key file. It never prompts: an encrypted key
// without (or with a wrong) passphrase is skipped with a note that says what
// to do; the public key is still returned so that the agent can stand in.
func LoadKeyFile(path, passphrase string, explicit bool) (keyCandidate, string) {
	c := keyCandidate{path: path}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			return c, ""
		}
		return c, fmt.Sprintf("key %s not readable: %v", ClipValue(path), pathErrReason(err))
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err == nil {
		c.signer = signer
		return c, ""
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return c, fmt.Sprintf("key %s is not a private key vmdump can read (%v)", ClipValue(path), oneline.Err(err))
	}
	c.pub = missing.PublicKey
	if c.pub == nil {
		c.pub = readPublicKeyFile(path + ".pub")
	}
	if passphrase == "" {
		return c, fmt.Sprintf("key %s is encrypted: add it to ssh-agent or set the key passphrase in the options dialog", ClipValue(path))
	}
	signer, err = ssh.ParsePrivateKeyWithPassphrase(data, []byte(passphrase))
	if err != nil {
		if errors.Is(err, x509.IncorrectPasswordError) || strings.Contains(err.Error(), "decryption password incorrect") {
			return c, fmt.Sprintf("key %s: the key passphrase is wrong", ClipValue(path))
		}
		return c, fmt.Sprintf("key %s cannot be decrypted with the key passphrase", ClipValue(path))
	}
	c.signer = signer
	return c, ""
}

func readPublicKeyFile(path string) ssh.PublicKey {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(bytes.TrimSpace(data))
	if err != nil {
		return nil
	}
	return pub
}

func pathErrReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// defaultKeyFiles are OpenSSH's default identities that vmdump tries.
func defaultKeyFiles(home string) []string {
	if home == "" {
		return nil
	}
	var out []string
	for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		out = append(out, filepath.Join(home, ".ssh", n))
	}
	return out
}

// agentSigners returns the keys of the running ssh-agent. The connection is
// given a deadline so that a stuck agent cannot hang the login.
func agentSigners(deadline time.Time) ([]ssh.Signer, io.Closer, error) {
	conn, err := dialAgent()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := conn.(interface{ SetDeadline(time.Time) error }); ok && !deadline.IsZero() {
		_ = d.SetDeadline(deadline)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	if len(signers) == 0 {
		_ = conn.Close()
		return nil, nil, errors.New("ssh-agent holds no keys")
	}
	return signers, conn, nil
}
