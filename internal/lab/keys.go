package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AuthorizeKey adds an OpenSSH public key line ("ssh-ed25519 AAAA…
// comment") to the lab user's authorized keys, e.g. a passphrase-protected
// key a test generated. sshd reads the file at each login.
func (l *Lab) AuthorizeKey(publicKey string) error {
	line := strings.TrimSpace(publicKey)
	if line == "" || strings.ContainsAny(line, "\n\r") {
		return fmt.Errorf("lab: AuthorizeKey wants one public key line, got %q", publicKey)
	}
	f, err := os.OpenFile(filepath.Join(l.Dir, "authorized_keys"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
