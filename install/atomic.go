package install

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// renameFile is os.Rename; tests replace it to act out Windows, where a
// running executable cannot be replaced (but can be renamed).
var renameFile = os.Rename

// tempPattern names the temporary copy: hidden, and recognisable so that a
// copy left by a crash can be cleaned up (Wireshark would run it otherwise,
// as it is executable).
func tempPattern(stem string) string { return "." + stem + "-*.tmp" }

// replaceFile writes src to dst without ever leaving a half-written dst:
// it writes a temporary file in the same folder, makes it executable, syncs
// it and renames it over dst. Rename replaces the directory entry only, so a
// running old copy keeps its inode (Linux would refuse to write into a
// running binary: ETXTBSY). When the rename fails (Windows, dst running),
// the old dst is renamed to dst+".old" first; aside reports that.
func replaceFile(dst string, src io.Reader, stem string) (aside string, err error) {
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, tempPattern(stem))
	if err != nil {
		return "", fmt.Errorf("cannot write into %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()
	if _, err = io.Copy(tmp, src); err == nil {
		err = tmp.Chmod(0o755)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("cannot write %s: %w", tmpName, err)
	}
	if err = renameFile(tmpName, dst); err == nil {
		syncDir(dir)
		return "", nil
	}
	first := err
	if _, statErr := os.Lstat(dst); statErr != nil {
		return "", fmt.Errorf("cannot put %s in place: %w", dst, first)
	}
	old := dst + ".old"
	os.Remove(old) // may still run from an earlier update; then the rename below fails
	if err = renameFile(dst, old); err != nil {
		return "", fmt.Errorf("cannot replace %s (close Wireshark and retry): %w", dst, errors.Join(first, err))
	}
	if err = renameFile(tmpName, dst); err != nil {
		renameFile(old, dst) // put the old copy back rather than leave none
		return "", fmt.Errorf("cannot replace %s (close Wireshark and retry): %w", dst, err)
	}
	syncDir(dir)
	return old, nil
}

// syncDir makes a rename durable where the OS allows syncing a folder (not
// Windows); failures only cost durability, not correctness.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
