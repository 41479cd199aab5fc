package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vmdump/vmdump/internal/lab"
)

// dockerMachineFixture lays out a docker-machine VM (libmachine's host JSON,
// VirtualBox driver) reached at the lab's loopback forward.
func dockerMachineFixture(t *testing.T, store, name string, l *lab.Lab) {
	t.Helper()
	writeFile(t, filepath.Join(store, "machines", name, "config.json"),
		fmt.Sprintf(`{"ConfigVersion":3,"Driver":{"IPAddress":"192.168.99.100","MachineName":%q,"SSHUser":%q,"SSHPort":%d,"SSHKeyPath":%q},"DriverName":"virtualbox","Name":%q}`,
			name, l.User, l.ForwardPort, l.KeyFile, name))
}

// checkListing runs `vmdump --extcap-interfaces` as Wireshark does at every
// start: it must exit 0 within the limit (never hang), print nothing on
// stderr and list every wanted interface.
func checkListing(t *testing.T, u *user, want ...string) string {
	t.Helper()
	stdout, stderr, code := u.vmdumpRun(t, 30*time.Second, "--extcap-interfaces", "--extcap-version=4.0.17")
	checkNoPanic(t, stdout+stderr)
	if code != 0 || stderr != "" {
		t.Errorf("--extcap-interfaces: exit %d, stderr %q", code, shorten(stderr, 500))
	}
	if !strings.HasPrefix(stdout, "extcap {version=") {
		t.Errorf("--extcap-interfaces printed no extcap sentence:\n%s", shorten(stdout, 500))
	}
	for _, id := range want {
		if !strings.Contains(stdout, "interface {value="+id+"}") {
			t.Errorf("--extcap-interfaces does not list %s:\n%s", id, shorten(stdout, 1000))
		}
	}
	return stdout
}

// TestReliabilityBrokenLocalState (issue 5, guarantee 6): damaged or
// unreadable local files — vmdump's config, a VM manager's file, the
// inventory cache, the pinned-keys file — and a missing HOME: the VM
// concerned is skipped (or its capture refused in one line), and
// --extcap-interfaces still exits 0 at once and lists the rest. (Running as
// root, "unreadable" is made with a directory, a FIFO or a symlink loop
// where a file should be: permissions do not stop root.)
func TestReliabilityBrokenLocalState(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{Forward: true})
	const goodID = "vmdump_dm_gooddm"
	validConfig := configTOML("", labVM(l, "lab"))

	// newHome: a user with a good docker-machine VM and vmdump's config.
	newHome := func(t *testing.T) *user {
		u := newPlainUser(t, l, validConfig)
		dockerMachineFixture(t, filepath.Join(u.home, ".docker", "machine"), "gooddm", l)
		return u
	}
	configPath := func(u *user) string { return filepath.Join(u.home, ".config", "vmdump", "config.toml") }

	t.Run("baseline", func(t *testing.T) {
		u := newHome(t)
		if id := u.idOf("docker-machine", "gooddm"); id != goodID {
			t.Fatalf("the docker-machine VM is %s, the test expects %s", id, goodID)
		}
		checkListing(t, u, goodID, labID)
	})

	for _, c := range []struct {
		name   string
		break_ func(t *testing.T, u *user)
	}{
		{"config-is-a-directory", func(t *testing.T, u *user) {
			os.Remove(configPath(u))
			os.Mkdir(configPath(u), 0o700)
		}},
		{"config-is-a-fifo", func(t *testing.T, u *user) {
			os.Remove(configPath(u))
			if err := mkfifo(configPath(u)); err != nil {
				t.Fatal(err)
			}
		}},
		{"config-symlink-loop", func(t *testing.T, u *user) {
			os.Remove(configPath(u))
			os.Symlink(configPath(u), configPath(u))
		}},
		{"config-cut-in-half", func(t *testing.T, u *user) {
			writeFile(t, configPath(u), validConfig[:len(validConfig)/2])
		}},
		{"config-binary-garbage", func(t *testing.T, u *user) {
			writeFile(t, configPath(u), "\x00\xff[[vm]\x00name=\"\xfe\n\x01")
		}},
		{"manager-files-garbage", func(t *testing.T, u *user) {
			store := filepath.Join(u.home, ".docker", "machine", "machines")
			writeFile(t, filepath.Join(store, "garbage", "config.json"), "\x00\x01{{{not json")
			good, _ := os.ReadFile(filepath.Join(store, "gooddm", "config.json"))
			writeFile(t, filepath.Join(store, "cut", "config.json"), string(good[:len(good)/2]))
			os.MkdirAll(filepath.Join(store, "fifo"), 0o700)
			mkfifo(filepath.Join(store, "fifo", "config.json"))
		}},
		{"inventory-cache-cut-in-half", func(t *testing.T, u *user) {
			for _, id := range []string{goodID, labID} {
				writeFile(t, filepath.Join(u.home, ".cache", "vmdump", "inventory", id+".json"),
					`{"version":1,"vm":"`+id+`","fetched_at":"2024-05-01T10:00:00Z","interfaces":[{"name":"eth0","addr`)
			}
		}},
		{"inventory-cache-fifo", func(t *testing.T, u *user) {
			dir := filepath.Join(u.home, ".cache", "vmdump", "inventory")
			os.MkdirAll(dir, 0o700)
			mkfifo(filepath.Join(dir, goodID+".json"))
		}},
		{"pinned-keys-garbage", func(t *testing.T, u *user) {
			writeFile(t, u.pinnedKeysFile(), "\x00\xff garbage\nconfig/lab ssh-ed25519 AAAAC3Nza")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			faultCase(t)
			u := newHome(t)
			c.break_(t, u)
			checkListing(t, u, goodID)
			// `vmdump list` explains, and exits 0 as well.
			if out, stderr, code := u.vmdumpRun(t, 30*time.Second, "list"); code != 0 || !strings.Contains(out, "gooddm") {
				t.Errorf("vmdump list: exit %d\n%s%s", code, out, stderr)
			}
			// The surviving VM still captures.
			u.vmID = goodID
			captureWorks(t, u, "--remote-interface="+l.ContainerVeth(1))
		})
	}

	// The docker-machine VM is a loopback VM: its key is pinned (the
	// config's VM at the same endpoint is the same VM, listed once).
	remote := "--remote-interface=" + l.ContainerVeth(1)
	t.Run("pinned-keys-cut-in-half", func(t *testing.T) {
		faultCase(t)
		u := newHome(t)
		u.vmID = goodID
		captureWorks(t, u, remote)
		pinned, _ := os.ReadFile(u.pinnedKeysFile())
		writeFile(t, u.pinnedKeysFile(), string(pinned[:len(pinned)-20])+"\x00\xff")
		checkListing(t, u, goodID)
		// The cut line no longer vouches for the VM: it is pinned anew,
		// and the next capture finds that pin.
		captureWorks(t, u, remote)
		captureWorks(t, u, remote)
		checkPinned(t, u, "docker-machine/gooddm", labHostKey(t, l))
	})

	t.Run("pinned-keys-unreadable", func(t *testing.T) {
		faultCase(t)
		u := newHome(t)
		u.vmID = goodID
		if err := mkfifo(u.pinnedKeysFile()); err != nil {
			t.Fatal(err)
		}
		checkListing(t, u, goodID)
		captureRefused(t, u, "not a regular file", remote)
	})

	t.Run("missing-home", func(t *testing.T) {
		faultCase(t)
		u := newHome(t)
		config := filepath.Join(u.home, ".config", "vmdump")
		store := filepath.Join(u.home, ".docker", "machine")
		// Nothing at all: no HOME, no XDG or vmdump variables.
		u.env = []string{"PATH=" + os.Getenv("PATH")}
		out := checkListing(t, u)
		if strings.Contains(out, "interface {") {
			t.Errorf("without HOME, VMs were found somewhere:\n%s", out)
		}
		// No HOME, but the locations given explicitly: listing and a
		// capture (its key pinned in VMDUMP_CONFIG_DIR) work.
		u.env = []string{"PATH=" + os.Getenv("PATH"), "VMDUMP_CONFIG_DIR=" + config, "MACHINE_STORAGE_PATH=" + store}
		checkListing(t, u, goodID, labID)
		u.vmID = goodID
		captureWorks(t, u, remote)
		checkPinned(t, u, "docker-machine/gooddm", labHostKey(t, l))
	})
}

// TestReliabilityConcurrentPinning (issue 5, guarantee 6): Wireshark starts
// one vmdump per selected interface, all at once. Eight captures of eight
// loopback VMs (all at the lab's forward) start together on a fresh
// pinned-keys file, three rounds: every VM ends up pinned exactly once, the
// file is whole (no lost or torn line, no lock or temporary file left), and
// stopping all eight at once leaves nothing in the VM.
func TestReliabilityConcurrentPinning(t *testing.T) {
	t.Parallel()
	faultCase(t)
	l := lab.Start(t, lab.Options{Forward: true})
	const n = 8
	var vms []vmConfig
	for i := range n {
		vms = append(vms, loopbackVM(l, fmt.Sprintf("vm%d", i+1)))
	}
	u := newPlainUser(t, l, configTOML("", vms...))
	ids := make([]string, n)
	for i := range n {
		ids[i] = u.idOf("config", vms[i].Name)
	}
	key := labHostKey(t, l)
	for round := range 3 {
		os.Remove(u.pinnedKeysFile())
		caps := make([]*directCapture, n)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				vu := *u
				vu.vmID = ids[i]
				d := vu.startDirect(t, "--extcap-capture-filter", quietFilter)
				mu.Lock()
				caps[i] = d
				mu.Unlock()
			}()
		}
		wg.Wait()
		deadline := time.Now().Add(90 * time.Second)
		for len(tcpdumpsInVM(l)) < n {
			for i, d := range caps {
				if !d.running() {
					t.Fatalf("round %d: capture %s ended: %s", round, ids[i], d.stderr.String())
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: only %d of %d tcpdumps after 90s", round, len(tcpdumpsInVM(l)), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		since := time.Now()
		for _, d := range caps {
			d.cmd.Process.Signal(syscall.SIGTERM)
		}
		for i, d := range caps {
			awaitExit(t, d.cmd.Process.Pid, since, stopLimit, "vmdump "+ids[i])
		}
		// One stop each; the orphan check covers all eight at once.
		for range n - 1 {
			stopTally(stopConcurent).tried.Add(1)
		}
		checkStop(t, l, stopConcurent, since, stopLimit)
		for i, d := range caps {
			d.wait(t, 30*time.Second)
			if s := d.stderr.String(); s != "" {
				t.Errorf("round %d: %s: %s", round, ids[i], s)
			}
		}
		checkPinnedFileWhole(t, u, vms, key)
	}
}

// checkPinnedFileWhole: the pinned-keys file holds the header and one
// correct line per VM, nothing else, and no lock or temporary file is left
// beside it.
func checkPinnedFileWhole(t *testing.T, u *user, vms []vmConfig, key ssh.PublicKey) {
	t.Helper()
	b, err := os.ReadFile(u.pinnedKeysFile())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := map[string]bool{}
	for _, vm := range vms {
		want["config/"+vm.Name] = true
	}
	for _, line := range lines {
		if strings.HasPrefix(line, "#") {
			continue
		}
		id, rest, _ := strings.Cut(line, " ")
		if !want[id] || rest != authorizedKey(key) {
			t.Errorf("unexpected or torn line %q in:\n%s", line, b)
			continue
		}
		delete(want, id)
	}
	if len(want) > 0 {
		t.Errorf("not pinned: %v; file:\n%s", want, b)
	}
	entries, _ := os.ReadDir(filepath.Dir(u.pinnedKeysFile()))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".lock") || strings.Contains(e.Name(), ".tmp") {
			t.Errorf("left beside the pinned-keys file: %s", e.Name())
		}
	}
}
