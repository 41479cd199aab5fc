package sshconn

import (
	"slices"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestCipherOrder(t *testing.T) {
	supported := ssh.SupportedAlgorithms().Ciphers
	for _, tc := range []struct {
		aes   bool
		first string
	}{{true, ssh.CipherAES128GCM}, {false, ssh.CipherChaCha20Poly1305}} {
		order := cipherOrder(tc.aes)
		if order[0] != tc.first {
			t.Errorf("AES hardware %v: %s first, want %s", tc.aes, order[0], tc.first)
		}
		for _, c := range order {
			if !slices.Contains(supported, c) {
				t.Errorf("AES hardware %v: %s is not supported by x/crypto/ssh", tc.aes, c)
			}
		}
		// Every AEAD cipher comes before every CTR+MAC one.
		lastAEAD := max(slices.Index(order, ssh.CipherAES128GCM), slices.Index(order, ssh.CipherAES256GCM), slices.Index(order, ssh.CipherChaCha20Poly1305))
		for _, ctr := range []string{ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR} {
			if i := slices.Index(order, ctr); i < lastAEAD {
				t.Errorf("AES hardware %v: %s at %d before an AEAD cipher", tc.aes, ctr, i)
			}
		}
	}
	if got := preferredCiphers(); got[0] != cipherOrder(hasAESHardware())[0] {
		t.Errorf("preferredCiphers starts with %s", got[0])
	}
}
