package sshconn

import (
	"bytes"

	"golang.org/x/crypto/ssh"
)

// hostKeyCheck is how one SSH connection verifies the server. vmdump never
// connects without one (there is no "ignore host key" mode).
type hostKeyCheck struct {
	callback ssh.HostKeyCallback
	// algorithms, when set, restricts the host-key algorithms offered to the
	// server to the types of the keys we already know for it. Without that
	// a server holding ed25519 and ecdsa keys would show the one Go prefers
	// (ecdsa) and a known ed25519 key would look "changed".
	algorithms []string
	// noCommonAlgorithm builds the error for a server that has none of the
	// known key types any more; offered lists what it has.
	noCommonAlgorithm func(offered string) error
}

// hostKeyError is a refusal of the server's host key, already worded for the
// user.
type hostKeyError struct{ msg string }

func (e *hostKeyError) Error() string { return e.msg }

func keysEqual(a, b ssh.PublicKey) bool {
	return a.Type() == b.Type() && bytes.Equal(a.Marshal(), b.Marshal())
}

// hostKeyAlgorithmsFor lists the signature algorithms a server may use to
// show one of keys, deduplicated, strongest RSA variant first.
func hostKeyAlgorithmsFor(keys []ssh.PublicKey) []string {
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, k := range keys {
		switch k.Type() {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
			add(ssh.KeyAlgoRSA)
		default:
			add(k.Type())
		}
	}
	return out
}
