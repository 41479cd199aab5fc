package manager

import (
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl/hostenv"
)

func TestMultipassInstances(t *testing.T) {
	root := t.TempDir()
	env := hostenv.Env{Root: root, GOOS: "linux", Getenv: func(string) string { return "" }, Log: slog.New(slog.DiscardHandler)}
	dir := filepath.Join(root, "var/snap/multipass/common/data/multipassd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Not readable: the default instance stands in.
	vms := FindMultipass(env)
	if len(vms) != 1 || vms[0].Name != "primary" || strings.Join(vms[0].Exec, " ") != "multipass exec primary --" || !vms[0].Capturable() {
		t.Fatalf("without the database: %+v", vms)
	}
	db := `{"primary":{"state":4,"deleted":false,"ssh_username":"ubuntu"},
		"old":{"state":1,"deleted":true},
		"dev":{"state":1},
		"-evil":{"state":4}}`
	if err := os.WriteFile(filepath.Join(dir, "multipassd-vm-instances.json"), []byte(db), 0o600); err != nil {
		t.Fatal(err)
	}
	vms = FindMultipass(env)
	sort.Slice(vms, func(i, j int) bool { return vms[i].Name < vms[j].Name })
	var got []string
	for _, vm := range vms {
		got = append(got, vm.Name+" "+string(vm.State)+" "+strings.Join(vm.Exec, " ")+" "+vm.Skip)
	}
	want := []string{
		`-evil running  instance "-evil" starts with '-'`,
		"dev stopped multipass exec dev -- ",
		"primary running multipass exec primary -- ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("instances:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
