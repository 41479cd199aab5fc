package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Host-key files (vmdump's pinned keys, ~/.ssh/known_hosts on accept-new) are
// shared by every vmdump process: Wireshark may start several captures at
// once, and `vmdump forget-host-key` may run meanwhile. Each change is
// read-modify-write under a lock file, and the new content replaces the old
// by rename, so a reader never sees half a file and no writer loses another's
// line.

const (
	lockWait  = 10 * time.Second // how long to wait for another vmdump's lock
	lockStale = 30 * time.Second // a lock older than this belongs to a dead process
)

// lockHostKeyFile takes the lock for path: path+".lock", created with O_EXCL
// (portable, no flock semantics to differ between Linux, macOS and Windows).
// A lock left by a crashed process is broken once it is lockStale old; no
// holder keeps it longer than one small file rewrite.
func Lock(path string) (unlock func(), err error) {
	lock := path + ".lock"
	if err := os.MkdirAll(filepath.Dir(lock), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create %s: %v", filepath.Dir(lock), err)
	}
	deadline := time.Now().Add(lockWait)
	delay := 5 * time.Millisecond
	for {
		f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			_ = f.Close()
			return func() { _ = os.Remove(lock) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("cannot lock %s: %v", path, err)
		}
		if fi, serr := os.Stat(lock); serr == nil && time.Since(fi.ModTime()) > lockStale {
			_ = os.Remove(lock)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is locked by another vmdump (remove %s if no vmdump is running)", path, lock)
		}
		time.Sleep(delay)
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// writeFileAtomic replaces path's content with data through a temporary file
// in the same directory and a rename. It follows a symlink at path (dotfile
// managers link ~/.ssh/known_hosts) and refuses anything that is not a
// regular file: "known_hosts = /dev/null" must never be replaced by a file.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	target, err := writableTarget(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(target); err == nil {
		perm = fi.Mode().Perm()
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %v", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %v", target, err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(name, perm)
	}
	if werr == nil {
		werr = renameReplace(name, target)
	}
	if werr != nil {
		_ = os.Remove(name)
		return fmt.Errorf("cannot write %s: %v", target, werr)
	}
	return nil
}

// writableTarget resolves path to the regular file to replace (or to create).
func writableTarget(path string) (string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return "", fmt.Errorf("%s is a broken symlink: %v", path, err)
		}
		return writableTarget(real)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	return path, nil
}

// renameReplace renames over an existing file. On Windows a reader holding
// the file open makes the rename fail for a moment; retry briefly.
func renameReplace(from, to string) error {
	var err error
	for i := 0; i < 20; i++ {
		if err = os.Rename(from, to); err == nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return err
}

// readIfExists returns the file's content, or nil when it does not exist.
// Anything but a regular file is an error: reading a FIFO would block the
// capture for good.
func ReadIfExists(path string) ([]byte, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}
