package sshconn

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/vmdump/vmdump/internal/safefile"
	"github.com/vmdump/vmdump/internal/shquote"
	"golang.org/x/crypto/ssh"
)

// A VM manager's SSH endpoint is a NAT port forward on 127.0.0.1 whose port is
// handed to the next VM once this one is gone, and every manager recreates VMs
// with fresh host keys. known_hosts, keyed by host:port, would then either
// cry "changed" for an innocent new VM or, worse, accept VM B's key for VM A.
// So vmdump pins the key to the VM's identity (manager + name) in its own
// file: trust on first use, refuse a change, and name the command that
// forgets the old key when the user recreated the VM on purpose.
//
// File format, one VM per line, close to known_hosts:
//
//	<manager>/<name> <key-type> <base64 key>
//
// with manager and name path-escaped (so neither holds a space or '/').
// Lines vmdump does not understand are kept as they are.

const pinFileHeader = "# vmdump: SSH host keys pinned per VM (manager/name). Remove a VM's line with: vmdump forget-host-key <manager>/<name>\n"

// pinIdentity is the first field of a VM's line in the pinned-keys file.
func pinIdentity(manager, name string) string {
	return url.PathEscape(manager) + "/" + url.PathEscape(name)
}

// forgetCommand is the exact command that drops a VM's pinned key.
func forgetCommand(manager, name string) string {
	return "vmdump forget-host-key " + shquote.Quote(manager+"/"+name)
}

// findPin returns the key pinned for identity in the file's content. Lines
// of any length are read: a line too long for a line scanner must not hide
// the pins after it (the VM would be pinned again, to whatever key answers).
func findPin(content []byte, identity string) (ssh.PublicKey, bool) {
	for _, line := range strings.Split(string(content), "\n") {
		id, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || id != identity {
			continue
		}
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rest))
		if err == nil {
			return key, true
		}
	}
	return nil, false
}

// withoutPin returns content minus identity's lines.
func withoutPin(content []byte, identity string) (out []byte, removed bool) {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(content), "\n") {
		if line == "" {
			continue
		}
		if id, _, ok := strings.Cut(strings.TrimSpace(line), " "); ok && id == identity {
			removed = true
			continue
		}
		b.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), removed
}

func pinLine(identity string, key ssh.PublicKey) string {
	return identity + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + "\n"
}

// pinnedHostKeyCheck builds the host-key check for a loopback VM.
func pinnedHostKeyCheck(file, manager, name string, log *slog.Logger) (hostKeyCheck, error) {
	identity := pinIdentity(manager, name)
	content, err := safefile.ReadIfExists(file)
	if err != nil {
		return hostKeyCheck{}, fmt.Errorf("cannot read vmdump's pinned host keys %s: %v", file, err)
	}
	pinned, havePin := findPin(content, identity)
	changed := func(got string) error {
		return pinChangedError(manager, name, ssh.FingerprintSHA256(pinned), got)
	}
	check := hostKeyCheck{}
	if havePin {
		check.algorithms = hostKeyAlgorithmsFor([]ssh.PublicKey{pinned})
		check.noCommonAlgorithm = func(offered string) error {
			return changed(fmt.Sprintf("no %s key (it offers %s)", pinned.Type(), offered))
		}
	}
	check.callback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if havePin {
			if keysEqual(pinned, key) {
				return nil
			}
			return changed(ssh.FingerprintSHA256(key))
		}
		return pinOnFirstUse(file, identity, key, log)
	}
	return check, nil
}

// pinOnFirstUse records key for identity, unless another vmdump pinned a key
// meanwhile, in which case that key decides.
func pinOnFirstUse(file, identity string, key ssh.PublicKey, log *slog.Logger) error {
	unlock, err := safefile.Lock(file)
	if err != nil {
		return &hostKeyError{msg: "cannot pin the VM's host key: " + err.Error()}
	}
	defer unlock()
	content, err := safefile.ReadIfExists(file)
	if err != nil {
		return &hostKeyError{msg: fmt.Sprintf("cannot read vmdump's pinned host keys %s: %v", file, err)}
	}
	if other, ok := findPin(content, identity); ok {
		if keysEqual(other, key) {
			return nil
		}
		manager, name := splitPinIdentity(identity)
		return pinChangedError(manager, name, ssh.FingerprintSHA256(other), ssh.FingerprintSHA256(key))
	}
	// Lines for this VM that hold no valid key (a file cut short) would
	// only confuse whoever reads the file next: the new pin replaces them.
	content, _ = withoutPin(content, identity)
	if len(content) == 0 {
		content = []byte(pinFileHeader)
	} else if content[len(content)-1] != '\n' {
		content = append(content, '\n')
	}
	content = append(content, pinLine(identity, key)...)
	if err := safefile.WriteAtomic(file, content, 0o600); err != nil {
		return &hostKeyError{msg: "cannot pin the VM's host key: " + err.Error()}
	}
	log.Info("pinned the VM's SSH host key (trust on first use)", "vm", identity, "key", ssh.FingerprintSHA256(key), "file", file)
	return nil
}

func pinChangedError(manager, name, pinned, got string) error {
	return &hostKeyError{msg: fmt.Sprintf("host key of VM %s/%s changed: pinned %s, server sent %s; if the VM was recreated run: %s",
		manager, name, pinned, got, forgetCommand(manager, name))}
}

func splitPinIdentity(identity string) (manager, name string) {
	m, n, _ := strings.Cut(identity, "/")
	if um, err := url.PathUnescape(m); err == nil {
		m = um
	}
	if un, err := url.PathUnescape(n); err == nil {
		n = un
	}
	return m, n
}

// ForgetPinnedKey removes the host key vmdump pinned for the VM manager/name
// from file (vmdump's pinned-keys file), so that the next connection pins the
// VM's new key. Forgetting a VM that has no pinned key is not an error.
func ForgetPinnedKey(file, manager, name string) error {
	unlock, err := safefile.Lock(file)
	if err != nil {
		return err
	}
	defer unlock()
	content, err := safefile.ReadIfExists(file)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", file, err)
	}
	out, removed := withoutPin(content, pinIdentity(manager, name))
	if !removed {
		return nil
	}
	return safefile.WriteAtomic(file, out, 0o600)
}
