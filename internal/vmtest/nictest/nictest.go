package nictest

import (
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
	"github.com/vmdump/vmdump/vmctl/probe"
)

// Env is an Env with its own home and cache directory.
func Env(t *testing.T) hostenv.Env {
	t.Helper()
	home := t.TempDir()
	return hostenv.Env{
		Home: home, GOOS: runtime.GOOS,
		Getenv: func(k string) string {
			if k == "VMDUMP_CACHE_DIR" {
				return filepath.Join(home, "cache")
			}
			return ""
		},
		Log: slog.New(slog.DiscardHandler),
	}
}

var Inventory = probe.Inventory{
	FetchedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	NICs: []probe.NIC{
		{Name: "lo", Index: 1, Kind: "loopback", State: "unknown"},
		{Name: "eth0", Index: 2, Kind: "device", State: "up"},
		{Name: "docker0", Index: 3, Kind: "bridge", State: "up"},
		{Name: "br-1a2b3c4d5e6f", Index: 4, Kind: "bridge", State: "down"},
		{Name: "vethab12", Index: 6, PeerIndex: 5, Kind: "veth", State: "up", Master: "docker0",
			Containers: []probe.Container{{Engine: "docker", Name: "web", ID: "abc", Image: "nginx:latest"}}},
	},
}

func VMs() []vmctl.VM {
	return []vmctl.VM{
		{ID: "vmdump_b2d_default", Manager: "boot2docker", Name: "default", Host: "127.0.0.1", Port: 2022, State: vmctl.Running, Interface: "eth1"},
		{ID: "vmdump_lima_dev", Manager: "lima", Name: "dev", Host: "127.0.0.1", Port: 60022},
		{ID: "vmdump_dd_desktop", Manager: "docker-desktop", Name: "desktop", Note: "no SSH: needs Docker API transport"},
		{ID: "vmdump_x_broken", Manager: "x", Name: "broken", Host: "h", Skip: "broken file"},
		{ID: "vmdump_lima_old", Manager: "lima", Name: "old", Host: "127.0.0.1", Port: 60023, State: vmctl.Stopped},
	}
}
