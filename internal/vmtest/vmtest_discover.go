package vmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
)

// discFuzzSeeds adds every file under dir whose name ends in suffix (the
// fixture homes of the VM managers) to f's seed corpus.
func FuzzSeeds(f *testing.F, dir, suffix string) {
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, suffix) {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
		return nil
	})
}

// discFuzzCheckSafe: whatever the file said, the VM carries only safe
// values (skipped or not: a skipped VM is still listed).
func CheckSafeVM(t *testing.T, vm vmctl.VM) {
	t.Helper()
	if strings.ContainsAny(vm.Skip+vm.Note+vm.Name, "\n\r\x00") {
		t.Fatalf("line break in listing fields: %+v", vm)
	}
	for _, k := range vm.KeyFiles {
		if strings.ContainsAny(k, "\n\r\x00") {
			t.Fatalf("unsafe key path %q", k)
		}
	}
	for _, v := range []string{vm.Host, vm.User, vm.Interface, vm.ProxyJump} {
		if strings.HasPrefix(v, "-") || strings.ContainsAny(v, ";$`|&<>\"' \n\r\x00(){}") {
			t.Fatalf("unsafe value %q passed on in %+v", v, vm)
		}
	}
}

var (
	discDeadPIDOnce sync.Once
	discDeadPIDVal  int
)

// discDeadPID is the pid of a process that has exited: this test binary run
// with no tests, waited for.
func DeadPID(t testing.TB) int {
	discDeadPIDOnce.Do(func() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		if err := cmd.Run(); err != nil {
			t.Fatalf("starting a short-lived process: %v", err)
		}
		discDeadPIDVal = cmd.Process.Pid
	})
	if discDeadPIDVal == 0 {
		t.Fatal("no dead pid available")
	}
	return discDeadPIDVal
}
