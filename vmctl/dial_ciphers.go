package vmctl

import (
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/cpu"
)

// preferredCiphers puts the fastest cipher for this CPU first. With AES
// instructions x/crypto's aes128-gcm moves about 290 MB/s against 165 MB/s
// for chacha20-poly1305 (measured, lab notes); without them chacha20 wins by
// far. The server still decides among what both sides list.
func preferredCiphers() []string {
	gcm := []string{ssh.CipherAES128GCM, ssh.CipherAES256GCM}
	chacha := []string{ssh.CipherChaCha20Poly1305}
	ctr := []string{ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR}
	if hasAESHardware() {
		return append(append(gcm, chacha...), ctr...)
	}
	return append(append(chacha, gcm...), ctr...)
}

func hasAESHardware() bool {
	return (cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ) ||
		(cpu.ARM64.HasAES && cpu.ARM64.HasPMULL) ||
		cpu.S390X.HasAESGCM
}
