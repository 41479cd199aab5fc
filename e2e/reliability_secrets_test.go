package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/lab"
)

// TestReliabilitySecrets (issue 5, guarantee 7): an SSH password or key
// passphrase, right or wrong, never shows up in vmdump's log at the
// noisiest level, its stderr or stdout, or the capture file, whether the
// login works or fails. vmdump is run directly with the arguments Wireshark's
// dialog passes: tshark 4.0 cannot pass password-type options at all (-o
// leaves them empty, reference §2.5), so only the GUI sends them.
func TestReliabilitySecrets(t *testing.T) {
	t.Parallel()
	password, wrongPassword := secret(t, "pw"), secret(t, "pw")
	passphrase, wrongPassphrase := secret(t, "pp"), secret(t, "pp")
	l := lab.Start(t, lab.Options{Password: password})
	key := encryptedKey(t, l, passphrase)
	secrets := []string{password, wrongPassword, passphrase, wrongPassphrase}

	byPassword := labVM(l, "lab")
	byPassword.Key = "" // no key at all: the password is the only way in
	byKey := labVM(l, "lab")
	byKey.Key = key

	for _, c := range []struct {
		name   string
		vm     vmConfig
		args   []string
		works  bool
		errors []string
	}{
		{"password", byPassword, []string{"--ssh-password", password}, true, nil},
		{"wrong-password", byPassword, []string{"--ssh-password", wrongPassword}, false, []string{"cannot log in", "tried password"}},
		{"key-passphrase", byKey, []string{"--ssh-key-passphrase", passphrase}, true, nil},
		{"wrong-key-passphrase", byKey, []string{"--ssh-key-passphrase", wrongPassphrase}, false, []string{"the key passphrase is wrong"}},
		{"both-wrong", byKey, []string{"--ssh-password", wrongPassword, "--ssh-key-passphrase", wrongPassphrase}, false, []string{"cannot log in", "passphrase is wrong"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			faultCase(t)
			u := newPlainUser(t, l, configTOML("", c.vm))
			u.vmID = labID
			logFile := filepath.Join(t.TempDir(), "vmdump.log")
			d := u.startDirect(t, append([]string{"--log-level", "noisy", "--log-file", logFile}, c.args...)...)
			if c.works {
				u.waitDirectCapture(t, d)
				l.Send(t, 2, 20*time.Millisecond)
				time.Sleep(time.Second)
				d.cmd.Process.Signal(syscall.SIGTERM)
				d.wait(t, 60*time.Second)
				if got := count(t, d.out, "tcp.len > 0"); got != 4 {
					t.Errorf("%d data segments captured, want 4", got)
				}
				if s := d.stderr.String(); s != "" {
					t.Errorf("stderr: %s", s)
				}
			} else {
				d.wait(t, 60*time.Second)
				checkOneLineError(t, d.stderr.String(), c.errors...)
			}
			checkLogIsNoisy(t, logFile)
			checkNoSecrets(t, secrets, map[string][]byte{
				"the log file": readOrNil(logFile),
				"stderr":       []byte(d.stderr.String()),
				"stdout":       d.stdout.Bytes(),
				"the pcapng":   readOrNil(d.out),
			})
		})
	}
}

// secret is a random string nothing else contains.
func secret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

func readOrNil(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// checkLogIsNoisy makes sure the test looked at a real log: vmdump wrote
// its debug lines.
func checkLogIsNoisy(t *testing.T, logFile string) {
	t.Helper()
	b := readOrNil(logFile)
	if !bytes.Contains(b, []byte("level=DEBUG")) {
		t.Errorf("the log at level noisy has no debug lines:\n%s", shorten(string(b), 2000))
	}
}

// checkNoSecrets fails t for each place a secret shows up in, also
// hex- or base64-free: the secrets are plain random strings, so a plain
// search is exact.
func checkNoSecrets(t *testing.T, secrets []string, places map[string][]byte) {
	t.Helper()
	for where, content := range places {
		for _, s := range secrets {
			if bytes.Contains(content, []byte(s)) {
				i := bytes.Index(content, []byte(s))
				around := string(content[max(0, i-80):min(len(content), i+len(s)+20)])
				t.Errorf("a secret appears in %s: ...%s...", where, strings.ReplaceAll(around, s, "<SECRET>"))
			}
		}
	}
}
