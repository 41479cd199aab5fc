package main

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// Wireshark runs `vmdump --extcap-interfaces` at every start and every
// interface refresh, and waits for it. Discovery reads and parses some
// forty files for a dozen VMs; the answer only changes when one of them, a
// VM's process or an environment variable does. So the last answer is
// kept with what it was made from (vmctl.Inputs), and served again when a
// stat of each file, a liveness test of each process and a look at each
// variable show nothing changed. The first listing after any change
// discovers afresh. BENCHMARKS.md (P1) has both figures.

// listingCachePath is the cache file of the vmdump at self, or "" when
// there is no cache dir. Each copy of vmdump (one per Wireshark version's
// extcap folder) keeps its own file, so that two Wireshark versions in
// turn do not throw each other's answer away.
func listingCachePath(env hostenv.Env, self string) string {
	dir := env.CacheDir()
	if dir == "" {
		return ""
	}
	h := fnv.New64a()
	h.Write([]byte(self))
	return filepath.Join(dir, fmt.Sprintf("interfaces-%016x", h.Sum64()))
}

// listingKey names the inputs outside discovery that shape the answer:
// this very binary (a rebuilt or upgraded vmdump answers differently), the
// home and OS discovery ran for.
func listingKey(env hostenv.Env, self string) string {
	key := version() + "\x00" + env.GOOS + "\x00" + env.Home + "\x00" + env.Root + "\x00" + self
	if fi, err := os.Stat(self); err == nil {
		key += "\x00" + strconv.FormatInt(fi.Size(), 10) + "\x00" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
	} else {
		return "" // cannot tell one binary from the next: no cache
	}
	return key
}

// writeInterfaceList writes the answer to --extcap-interfaces for the VMs
// discovery finds, from the cache when nothing it was made from changed.
func writeInterfaceList(w io.Writer, env hostenv.Env, self string) error {
	return writeKeptAnswer(w, env, listingCachePath(env, self), listingKey(env, self), func(env hostenv.Env, answer io.Writer) error {
		return extcap.WriteInterfaces(answer, version(), helpURL, toolbarTitle, interfaceList(env, discover.Discover(env)), toolbarControls())
	})
}

// writeConfig writes the answer to --extcap-config for one interface, kept
// like the listing's: Wireshark asks it for every listed interface at
// every start and refresh, right after the listing, and the answer (the
// dialog, with what the cached inventory knows) changes only when
// discovery's inputs or the VM's inventory file do.
func writeConfig(w io.Writer, env hostenv.Env, self, iface string) error {
	path, key := configCachePath(env, self, iface), listingKey(env, self)
	if key != "" {
		key += "\x00config\x00" + iface
	}
	return writeKeptAnswer(w, env, path, key, func(env hostenv.Env, answer io.Writer) error {
		r, _ := capture.Resolve(env, discover.Discover(env), iface)
		return extcap.WriteConfig(answer, dialogArgsFor(dialogDefaultsFor(env, r)))
	})
}

// configCachePath is the cache file of one interface's dialog ("" without
// a cache dir), per copy of vmdump like listingCachePath.
func configCachePath(env hostenv.Env, self, iface string) string {
	dir := env.CacheDir()
	if dir == "" {
		return ""
	}
	h := fnv.New64a()
	h.Write([]byte(self))
	h.Write([]byte{0})
	h.Write([]byte(iface))
	return filepath.Join(dir, "config", fmt.Sprintf("%016x", h.Sum64()))
}

// writeKeptAnswer writes what produce writes, or the answer kept at path
// for key when none of the inputs it was made from (the files, processes
// and variables produce's env read) changed since; a fresh answer is kept
// for next time. No path or key: produce, uncached.
func writeKeptAnswer(w io.Writer, env hostenv.Env, path, key string, produce func(hostenv.Env, io.Writer) error) error {
	if path != "" && key != "" {
		if answer, ok := cachedListing(path, key, env); ok {
			_, err := w.Write(answer)
			return err
		}
	}
	var answer bytes.Buffer
	var err error
	in := hostenv.RecordInputs(env, func(env hostenv.Env) { err = produce(env, &answer) })
	if err != nil {
		return err
	}
	if _, err := w.Write(answer.Bytes()); err != nil {
		return err
	}
	if path != "" && key != "" && in.Checkable() {
		// Failing is harmless: the next call discovers afresh.
		_ = hostenv.WriteKept(path, key, in, answer.Bytes())
	}
	return nil
}

// cachedListing returns the kept answer when the file is whole, made for
// key, and its inputs are unchanged.
func cachedListing(path, key string, env hostenv.Env) ([]byte, bool) {
	k, ok := hostenv.ReadKept(path, key)
	if !ok || !k.Inputs.Unchanged(env) {
		return nil, false
	}
	return k.Answer, true
}
