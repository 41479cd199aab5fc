package sshconn

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/internal/safefile"
	"github.com/vmdump/vmdump/internal/shquote"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// systemKnownHosts is OpenSSH's GlobalKnownHostsFile; read (never written)
// when present.
const systemKnownHosts = "/etc/ssh/ssh_known_hosts"

// knownHostsConfig says which known_hosts files a non-loopback host is
// checked against and what to do with an unknown host.
type knownHostsConfig struct {
	// Files are checked in order; missing ones and non-regular files
	// (UserKnownHostsFile /dev/null) count as empty.
	Files []string
	// WriteFile receives accepted new keys ("" or a non-regular file: the
	// key is accepted for this connection only).
	WriteFile string
	AcceptNew bool
}

// probeKey is a key no known_hosts line holds; checking it returns the
// KeyError listing the keys known for a host, which is how the host's key
// types are learnt (knownhosts exposes no lookup).
var probeKey, _ = ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))

// knownHostsCheck builds the strict known_hosts check for hostport, the
// address as dialled (HostName:Port).
func knownHostsCheck(kc knownHostsConfig, hostport string, log *slog.Logger) (hostKeyCheck, error) {
	var readable []string
	for _, f := range kc.Files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			readable = append(readable, f)
		}
	}
	var db ssh.HostKeyCallback
	if len(readable) > 0 {
		var err error
		db, err = knownhosts.New(readable...)
		if err != nil {
			return hostKeyCheck{}, fmt.Errorf("cannot use known_hosts: %v", oneline.Err(err))
		}
	}
	known := knownKeysFor(db, hostport)
	display := knownhosts.Normalize(hostport)

	check := hostKeyCheck{}
	var knownPub []ssh.PublicKey
	for _, k := range known {
		knownPub = append(knownPub, k.Key)
	}
	if len(known) > 0 && !anyCertAuthority(readable) {
		check.algorithms = hostKeyAlgorithmsFor(knownPub)
		check.noCommonAlgorithm = func(offered string) error {
			return knownHostChangedError(kc, display, known[0], fmt.Sprintf("no %s key (it offers %s)", strings.Join(keyTypes(knownPub), "/"), offered))
		}
	}
	check.callback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if db == nil {
			return unknownHost(kc, display, key, log)
		}
		err := db(hostname, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &re):
			return &hostKeyError{msg: fmt.Sprintf("host key %s for %s is marked @revoked in %s line %d: refusing to connect",
				ssh.FingerprintSHA256(key), display, re.Revoked.Filename, re.Revoked.Line)}
		case errors.As(err, &ke) && len(ke.Want) == 0:
			return unknownHost(kc, display, key, log)
		case errors.As(err, &ke):
			want := ke.Want[0]
			for _, w := range ke.Want {
				if w.Key.Type() == key.Type() {
					want = w
					break
				}
			}
			return knownHostChangedError(kc, display, want, ssh.FingerprintSHA256(key))
		default:
			return &hostKeyError{msg: fmt.Sprintf("cannot check the host key of %s: %v", display, oneline.Err(err))}
		}
	}
	return check, nil
}

// knownKeysFor returns the known_hosts entries for hostport.
func knownKeysFor(db ssh.HostKeyCallback, hostport string) []knownhosts.KnownKey {
	if db == nil || probeKey == nil {
		return nil
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil
	}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	if ip := net.ParseIP(host); ip != nil {
		remote.IP = ip
	}
	fmt.Sscan(port, &remote.Port)
	var ke *knownhosts.KeyError
	if errors.As(db(hostport, remote, probeKey), &ke) {
		return ke.Want
	}
	return nil
}

// anyCertAuthority reports whether a file holds @cert-authority lines. The
// host may then show a certificate, which a restriction to plain key types
// would refuse; the restriction is skipped (a CA-signed host is rarely a
// false "changed" case anyway).
func anyCertAuthority(files []string) bool {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), "@cert-authority") {
			return true
		}
	}
	return false
}

func keyTypes(keys []ssh.PublicKey) []string {
	var out []string
	for _, k := range keys {
		if !slices.Contains(out, k.Type()) {
			out = append(out, k.Type())
		}
	}
	return out
}

// knownHostChangedError names the file in the fix, as OpenSSH's own warning
// does: ssh-keygen finds "~/.ssh/known_hosts" through the password
// database, which need not be the HOME Wireshark gave vmdump.
func knownHostChangedError(kc knownHostsConfig, display string, want knownhosts.KnownKey, got string) error {
	fix := "ssh-keygen -f " + shquote.Quote(want.Filename) + " -R " + shquote.Quote(display)
	if want.Filename == systemKnownHosts {
		fix = fmt.Sprintf("remove line %d of %s", want.Line, systemKnownHosts)
	}
	return &hostKeyError{msg: fmt.Sprintf("host key for %s changed: known_hosts has %s, server sent %s; if the change is expected run: %s",
		display, ssh.FingerprintSHA256(want.Key), got, fix)}
}

// unknownHost refuses a host that no known_hosts file knows, unless
// accept-new is on; then the key is appended to WriteFile under the lock.
func unknownHost(kc knownHostsConfig, display string, key ssh.PublicKey, log *slog.Logger) error {
	fp := ssh.FingerprintSHA256(key)
	if !kc.AcceptNew {
		return &hostKeyError{msg: fmt.Sprintf("unknown host key %s for %s: connect once with ssh to verify it, or set host-key policy to accept-new", fp, display)}
	}
	if kc.WriteFile == "" {
		log.Warn("accepted a new host key for this connection only (no known_hosts file to record it)", "host", display, "key", fp)
		return nil
	}
	if err := appendKnownHost(kc.WriteFile, display, key); err != nil {
		if errors.Is(err, errNotRegular) {
			log.Warn("accepted a new host key for this connection only", "host", display, "key", fp, "reason", err)
			return nil
		}
		return &hostKeyError{msg: fmt.Sprintf("cannot record the new host key %s for %s: %v", fp, display, oneline.Err(err))}
	}
	log.Info("accepted a new host key (accept-new)", "host", display, "key", fp, "file", kc.WriteFile)
	return nil
}

var errNotRegular = errors.New("known_hosts is not a regular file")

// appendKnownHost adds "display key" to file, atomically and under the lock;
// a line another process added meanwhile is not duplicated.
func appendKnownHost(file, display string, key ssh.PublicKey) error {
	if fi, err := os.Stat(file); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s", errNotRegular, file)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	unlock, err := safefile.Lock(file)
	if err != nil {
		return err
	}
	defer unlock()
	content, err := safefile.ReadIfExists(file)
	if err != nil {
		return err
	}
	line := knownhosts.Line([]string{display}, key)
	if strings.Contains(string(content), line) {
		return nil
	}
	if len(content) > 0 && content[len(content)-1] != '\n' {
		content = append(content, '\n')
	}
	content = append(content, line+"\n"...)
	return safefile.WriteAtomic(file, content, 0o600)
}
