//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package hostenv

import "io/fs"

// sysSig: elsewhere (Windows above all) os.Stat gives no inode or change
// time; size and modification time (100 ns on Windows) must do.
func sysSig(fs.FileInfo) string { return "" }
