package probe

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmdump/vmdump/internal/vmtest"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// cacheEnv is an Env whose cache is a fresh directory; its log goes to the
// returned buffer.
func cacheEnv(t *testing.T) (hostenv.Env, *lockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	logBuf := &lockedBuffer{}
	return hostenv.Env{
		Home: dir, GOOS: "linux",
		Getenv: func(k string) string {
			if k == "VMDUMP_CACHE_DIR" {
				return filepath.Join(dir, "cache")
			}
			return ""
		},
		Log: slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, logBuf
}

// lockedBuffer is a bytes.Buffer for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func sampleInventory(t *testing.T) Inventory {
	t.Helper()
	inv, err := ParseInventory(readFixture(t, "debian12-iproute2-sysfs-docker.txt"))
	if err != nil {
		t.Fatal(err)
	}
	inv.FetchedAt = time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	return inv
}

func TestInventoryCacheRoundTrip(t *testing.T) {
	env, _ := cacheEnv(t)
	inv := sampleInventory(t)
	if _, ok := LoadInventory(env, "vmdump_lima_default"); ok {
		t.Fatal("inventory before any save")
	}
	if err := SaveInventory(env, "vmdump_lima_default", inv); err != nil {
		t.Fatal(err)
	}
	got, ok := LoadInventory(env, "vmdump_lima_default")
	if !ok {
		t.Fatal("saved inventory not loaded")
	}
	if !reflect.DeepEqual(got, inv) {
		t.Errorf("round trip changed the inventory\n got %+v\nwant %+v", got, inv)
	}
	path := InventoryPath(env, "vmdump_lima_default")
	if want := filepath.Join(env.CacheDir(), "inventory", "vmdump_lima_default.json"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode: %v %v", fi, err)
	}
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
	// Another VM's inventory is another file.
	if _, ok := LoadInventory(env, "vmdump_lima_other"); ok {
		t.Error("inventory of another VM loaded")
	}
}

func TestInventoryCacheIgnoresBadFiles(t *testing.T) {
	full, _ := cacheEnv(t)
	if err := SaveInventory(full, "vm1", sampleInventory(t)); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(InventoryPath(full, "vm1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, content, logged string
	}{
		{"cut in half", string(whole[:len(whole)/2]), "damaged"},
		{"empty", "", "damaged"},
		{"not json", "\x00\x01garbage", "damaged"},
		{"other version", strings.Replace(string(whole), `"version": 1`, `"version": 99`, 1), "another version"},
		{"other vm", strings.Replace(string(whole), `"vm": "vm1"`, `"vm": "vm2"`, 1), "another version or VM"},
		{"no time", `{"version":1,"vm":"vm1","nics":[]}`, "another version or VM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, logBuf := cacheEnv(t)
			path := InventoryPath(env, "vm1")
			vmtest.WriteFile(t, path, tc.content)
			if inv, ok := LoadInventory(env, "vm1"); ok {
				t.Fatalf("loaded %+v", inv)
			}
			if !strings.Contains(logBuf.String(), tc.logged) || !strings.Contains(logBuf.String(), path) {
				t.Errorf("log %q lacks %q and the file", logBuf.String(), tc.logged)
			}
			// The next save replaces it.
			if err := SaveInventory(env, "vm1", sampleInventory(t)); err != nil {
				t.Fatal(err)
			}
			if _, ok := LoadInventory(env, "vm1"); !ok {
				t.Error("not loaded after a new save")
			}
		})
	}
}

func TestInventoryCacheRefusesUnsafeIDs(t *testing.T) {
	env, _ := cacheEnv(t)
	inv := sampleInventory(t)
	for _, id := range []string{"", "../x", "a/b", `a\b`, ".hidden", "a b", strings.Repeat("a", 201)} {
		if p := InventoryPath(env, id); p != "" {
			t.Errorf("InventoryPath(%q) = %q", id, p)
		}
		if err := SaveInventory(env, id, inv); err == nil {
			t.Errorf("SaveInventory(%q) accepted", id)
		}
		if _, ok := LoadInventory(env, id); ok {
			t.Errorf("LoadInventory(%q) found something", id)
		}
	}
	if err := SaveInventory(env, "vm", Inventory{}); err == nil || !strings.Contains(err.Error(), "fetch time") {
		t.Errorf("inventory without time: %v", err)
	}
	noCache := hostenv.Env{GOOS: "linux"}
	if err := SaveInventory(noCache, "vm", inv); err == nil || !strings.Contains(err.Error(), "no cache directory") {
		t.Errorf("no cache dir: %v", err)
	}
}

// Several vmdump processes refresh the same VM at once (a capture, a dialog
// reload, vmdump list --check): every reader sees one whole inventory.
func TestInventoryCacheConcurrentWriters(t *testing.T) {
	env, _ := cacheEnv(t)
	base := sampleInventory(t)
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	stop := make(chan struct{})
	var readerErr error
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			data, err := os.ReadFile(InventoryPath(env, "vm"))
			if err != nil {
				continue // not written yet
			}
			if _, ok := LoadInventory(env, "vm"); !ok {
				readerErr = fmt.Errorf("a reader saw a broken file: %q", data[:min(len(data), 80)])
				return
			}
		}
	}()
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			inv := base
			inv.Hostname = fmt.Sprintf("writer-%d", i)
			errs <- SaveInventory(env, "vm", inv)
		}(i)
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if readerErr != nil {
		t.Error(readerErr)
	}
	got, ok := LoadInventory(env, "vm")
	if !ok || !strings.HasPrefix(got.Hostname, "writer-") {
		t.Errorf("final inventory %v %+v", ok, got.Hostname)
	}
	left, _ := filepath.Glob(filepath.Join(env.CacheDir(), "inventory", ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
