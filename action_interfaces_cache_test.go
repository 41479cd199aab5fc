package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmdump/vmdump/bench/fixture"
	"github.com/vmdump/vmdump/capture"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/discover"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// listingFixture is the 12-VM fixture home, with the running VMs' pid
// files naming a process the test can end, and the files the listing
// cache keys on.
type listingFixture struct {
	env   hostenv.Env
	vars  map[string]string
	self  string // stands in for the vmdump binary
	alive *exec.Cmd
}

func newListingFixture(t *testing.T) *listingFixture {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fixture's pid files need a Unix process to point at")
	}
	alive := exec.Command("sleep", "300")
	if err := alive.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alive.Process.Kill(); alive.Wait() })
	dir := t.TempDir()
	home, err := fixture.Copy(fixture.FullHome, dir, alive.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(dir, "vmdump")
	if err := os.WriteFile(self, []byte("binary v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := &listingFixture{vars: map[string]string{}, self: self, alive: alive}
	f.env = hostenv.Env{
		Home:         home,
		GOOS:         runtime.GOOS,
		Getenv:       func(k string) string { return f.vars[k] },
		ProcessAlive: hostenv.HostEnv(nil).ProcessAlive,
	}
	return f
}

// answer is what --extcap-interfaces prints through the cache.
func (f *listingFixture) answer(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeInterfaceList(&b, f.env, f.self); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// fresh is the answer discovery gives without any cache.
func (f *listingFixture) fresh(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := extcap.WriteInterfaces(&b, version(), helpURL, toolbarTitle, interfaceList(f.env, discover.Discover(f.env)), toolbarControls()); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// mark replaces the kept answer by a marker, keeping its inputs, so that
// the next answer shows whether the cache served it.
func (f *listingFixture) mark(t *testing.T) {
	t.Helper()
	f.markFor(t, f.self)
}

func (f *listingFixture) markFor(t *testing.T, self string) {
	t.Helper()
	path := listingCachePath(f.env, self)
	k, ok := hostenv.ReadKept(path, listingKey(f.env, self))
	if !ok {
		t.Fatalf("no readable cache file %s after a listing", path)
	}
	if err := hostenv.WriteKept(path, listingKey(f.env, self), k.Inputs, []byte("MARK\n")); err != nil {
		t.Fatal(err)
	}
}

// The cache must serve the kept answer while nothing changed, and a fresh
// one after any change discovery would see.
func TestListingCacheServesOnlyUnchangedAnswers(t *testing.T) {
	f := newListingFixture(t)
	first := f.answer(t)
	if first != f.fresh(t) || strings.Count(first, "\ninterface {") < fixture.VMs {
		t.Fatalf("first answer differs from discovery or lists too few VMs:\n%s", first)
	}
	f.mark(t)
	if got := f.answer(t); got != "MARK\n" {
		t.Fatalf("unchanged inputs: the kept answer was not served; got\n%s", got)
	}

	lima := filepath.Join(f.env.Home, ".lima")
	changes := []struct {
		name   string
		change func(t *testing.T)
	}{
		{"a file rewritten, same size", func(t *testing.T) {
			p := filepath.Join(lima, "default", "ssh.config")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("Port 5"), []byte("Port 6"), 1), 0o600)
		}},
		{"a pid file removed", func(t *testing.T) { os.Remove(filepath.Join(lima, "default", "ha.pid")) }},
		{"a new instance directory", func(t *testing.T) {
			os.MkdirAll(filepath.Join(lima, "fresh"), 0o755)
			os.WriteFile(filepath.Join(lima, "fresh", "lima.yaml"), []byte("vmType: qemu\n"), 0o600)
			os.WriteFile(filepath.Join(lima, "fresh", "ssh.config"), []byte("Host lima-fresh\n  Port 50999\n"), 0o600)
		}},
		{"an environment variable", func(t *testing.T) { f.vars["LIMA_HOME"] = filepath.Join(f.env.Home, "elsewhere") }},
		{"a VM's process ended", func(t *testing.T) { f.alive.Process.Kill(); f.alive.Wait() }},
		{"an inventory written by a capture", func(t *testing.T) {
			vms := discover.Discover(f.env)
			for _, vm := range vms {
				if vm.Skip == "" && vm.Capturable() && vm.State != vmctl.Stopped {
					inv := probe.Inventory{FetchedAt: time.Now(), NICs: []probe.NIC{{Name: "eth0", Index: 2, Kind: "device"}, {Name: "eth9", Index: 9, Kind: "device"}}}
					if err := probe.SaveInventory(f.env, vm.ID, inv); err != nil {
						t.Fatal(err)
					}
					return
				}
			}
			t.Fatal("no running VM left to give an inventory")
		}},
		{"vmdump rebuilt", func(t *testing.T) { os.WriteFile(f.self, []byte("binary v2, longer"), 0o755) }},
	}
	for _, c := range changes {
		c.change(t)
		got, want := f.answer(t), f.fresh(t)
		if got == "MARK\n" {
			t.Fatalf("%s: the kept answer was served", c.name)
		}
		if got != want {
			t.Fatalf("%s: answer differs from discovery:\ngot\n%s\nwant\n%s", c.name, got, want)
		}
		f.mark(t)
	}
}

// Two copies of vmdump (two Wireshark versions' extcap folders) listing
// in turn each keep their own answer.
func TestListingCachePerCopy(t *testing.T) {
	f := newListingFixture(t)
	other := filepath.Join(filepath.Dir(f.self), "other", "vmdump")
	if err := os.MkdirAll(filepath.Dir(other), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("binary v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	answer := func(self string) string {
		var b bytes.Buffer
		if err := writeInterfaceList(&b, f.env, self); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	answer(f.self)
	answer(other)
	f.markFor(t, f.self)
	f.markFor(t, other)
	for i := 0; i < 2; i++ {
		if a, b := answer(f.self), answer(other); a != "MARK\n" || b != "MARK\n" {
			t.Fatalf("round %d: a copy's kept answer was not served: %q, %q", i, a, b)
		}
	}
}

// A damaged or foreign cache file is never served.
func TestListingCacheIgnoresDamagedFiles(t *testing.T) {
	f := newListingFixture(t)
	want := f.answer(t)
	path := listingCachePath(f.env, f.self)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{
		nil,
		[]byte("vmdump-kept 1\n"),
		good[:len(good)/2],
		append(append([]byte(nil), good...), 'x'),
		bytes.Replace(good, []byte("vmdump-kept 1"), []byte("vmdump-kept 9"), 1),
		bytes.Replace(good, []byte(f.env.Home), []byte(f.env.Home[:len(f.env.Home)-1]+"X"), 1),
	} {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if got := f.answer(t); got != want {
			t.Fatalf("cache file %.40q...: answer\n%s\nwant\n%s", bad, got, want)
		}
	}
}

func FuzzListingCacheFile(f *testing.F) {
	f.Add([]byte("vmdump-kept 1\n3:key1\nf1:/1:-4:MARK"))
	f.Add([]byte("vmdump-kept 1\n3:key2\nv4:HOME3:/x/p1:11:1" + "5:hello"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "interfaces")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		env := hostenv.Env{Getenv: func(string) string { return "" }}
		answer, ok := cachedListing(path, "key", env)
		if ok && !bytes.Contains(data, answer) {
			t.Fatalf("served %q, which the file does not hold", answer)
		}
	})
}

// The options dialog of each interface is kept like the listing (Wireshark
// asks it for every listed interface at every start): served while
// nothing changed, made afresh when the VM's inventory (its NICs and
// containers) or discovery's inputs change.
func TestConfigCacheServesOnlyUnchangedAnswers(t *testing.T) {
	f := newListingFixture(t)
	var vm vmctl.VM
	for _, v := range discover.Discover(f.env) {
		if v.Skip == "" && v.Capturable() && v.State != vmctl.Stopped {
			vm = v
			break
		}
	}
	if vm.ID == "" {
		t.Fatal("the fixture has no running VM")
	}
	answer := func() string {
		var b bytes.Buffer
		if err := writeConfig(&b, f.env, f.self, vm.ID); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	fresh := func() string {
		var b bytes.Buffer
		r, _ := capture.Resolve(f.env, discover.Discover(f.env), vm.ID)
		if err := extcap.WriteConfig(&b, dialogArgsFor(dialogDefaultsFor(f.env, r))); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	mark := func() {
		path, key := configCachePath(f.env, f.self, vm.ID), listingKey(f.env, f.self)+"\x00config\x00"+vm.ID
		k, ok := hostenv.ReadKept(path, key)
		if !ok {
			t.Fatalf("no readable config cache %s", path)
		}
		if err := hostenv.WriteKept(path, key, k.Inputs, []byte("MARK\n")); err != nil {
			t.Fatal(err)
		}
	}
	if got := answer(); got != fresh() || !strings.Contains(got, "--remote-interface") {
		t.Fatalf("first answer differs from a fresh dialog:\n%s", got)
	}
	mark()
	if got := answer(); got != "MARK\n" {
		t.Fatalf("unchanged inputs: the kept dialog was not served; got\n%s", got)
	}
	// Another interface has its own answer.
	var other bytes.Buffer
	if err := writeConfig(&other, f.env, f.self, vm.ID+"__eth0"); err != nil || other.String() == "MARK\n" {
		t.Fatalf("another interface got the kept answer of %s: %q, %v", vm.ID, other.String(), err)
	}
	inv := probe.Inventory{FetchedAt: time.Now(), NICs: []probe.NIC{{Name: "eth0", Index: 2, Kind: "device"}},
		Containers: []probe.Container{{Engine: "docker", Name: "web", ID: "a1", Image: "nginx"}}}
	if err := probe.SaveInventory(f.env, vm.ID, inv); err != nil {
		t.Fatal(err)
	}
	got := answer()
	if got == "MARK\n" || got != fresh() || !strings.Contains(got, "{value=web}{display=web (nginx)}") {
		t.Fatalf("after a new inventory: got\n%s", got)
	}
}
