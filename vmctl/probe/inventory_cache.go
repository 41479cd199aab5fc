package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/vmdump/vmdump/internal/safefile"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// The inventory cache: <CacheDir>/inventory/<vm id>.json, one file per VM,
// rewritten whenever vmdump talks to the VM. Wireshark's interface listing
// reads it and never touches the network. Several vmdump processes may
// refresh the same VM at once (a capture and a dialog reload), so writes go
// through a lock and a rename: a reader sees the old file or the new one.

// inventoryCacheVersion changes when the file's meaning changes; older
// files are then ignored (and rewritten at the next connection).
const inventoryCacheVersion = 1

// maxInventoryFile bounds what LoadInventory reads.
const maxInventoryFile = 8 << 20

type inventoryFile struct {
	Version   int    `json:"version"`
	VM        string `json:"vm"`
	Inventory        // FetchedAt says when
}

// InventoryPath is the cache file of the VM with this id, or "" when there
// is no cache directory or the id could not be a file name.
func InventoryPath(env hostenv.Env, vmID string) string {
	dir := env.CacheDir()
	if dir == "" || !cacheSafeID(vmID) {
		return ""
	}
	return filepath.Join(dir, "inventory", vmID+".json")
}

// LoadInventory returns the cached inventory of a VM. false means there is
// none usable: missing, unreadable, cut short (a crash mid-write on a file
// system without atomic rename), of another version or of another VM. Such
// a file is only logged, never an error: the next connection rewrites it.
func LoadInventory(env hostenv.Env, vmID string) (Inventory, bool) {
	path := InventoryPath(env, vmID)
	if path == "" {
		return Inventory{}, false
	}
	// discReadFile refuses a FIFO or device before opening it: opening a
	// FIFO would hang Wireshark's start.
	data, err := env.ReadFile(path, maxInventoryFile)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			env.Logger().Warn("inventory cache unreadable; ignored", "file", path, "err", err)
		}
		return Inventory{}, false
	}
	var file inventoryFile
	if err := json.Unmarshal(data, &file); err != nil {
		env.Logger().Warn("inventory cache damaged (cut short?); ignored", "file", path, "err", err)
		return Inventory{}, false
	}
	if file.Version != inventoryCacheVersion || file.VM != vmID || file.FetchedAt.IsZero() {
		env.Logger().Info("inventory cache of another version or VM; ignored", "file", path, "version", file.Version, "vm", file.VM)
		return Inventory{}, false
	}
	return file.Inventory, true
}

// SaveInventory replaces the cached inventory of a VM. inv.FetchedAt must
// be set (it is the time the VM answered).
func SaveInventory(env hostenv.Env, vmID string, inv Inventory) error {
	path := InventoryPath(env, vmID)
	if path == "" {
		if env.CacheDir() == "" {
			return errors.New("no cache directory: set VMDUMP_CACHE_DIR or HOME")
		}
		return fmt.Errorf("VM id %q cannot name a cache file", vmID)
	}
	if inv.FetchedAt.IsZero() {
		return errors.New("inventory without its fetch time")
	}
	data, err := json.MarshalIndent(inventoryFile{Version: inventoryCacheVersion, VM: vmID, Inventory: inv}, "", "  ")
	if err != nil {
		return err
	}
	unlock, err := safefile.Lock(path)
	if err != nil {
		return err
	}
	defer unlock()
	return safefile.WriteAtomic(path, append(data, '\n'), 0o600)
}

// cacheSafeID accepts the ids Discover assigns ([a-z0-9_]) and a little
// more, never a path separator or a dot file.
func cacheSafeID(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
