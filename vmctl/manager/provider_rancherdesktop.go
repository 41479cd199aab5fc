package manager

import (
	"path/filepath"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findRancherDesktop lists Rancher Desktop's VM. On macOS and Linux it is
// the Lima instance "0" in RD's own Lima directory
// (rancher-sandbox/rancher-desktop src/go/rdctl/pkg/paths/paths_{darwin,
// linux}.go: ~/Library/Application Support/rancher-desktop/lima,
// $XDG_DATA_HOME/rancher-desktop/lima; instance name MACHINE_NAME = '0' in
// pkg/rancher-desktop/backend/lima.ts), read like any Lima instance. On
// Windows RD runs a WSL distro with no SSH server
// (paths_windows.go: %LOCALAPPDATA%\rancher-desktop): it is listed so the
// user sees it, without an endpoint.
func FindRancherDesktop(env hostenv.Env) []vmctl.VM {
	if env.GOOS == "windows" {
		return rdFindWSL(env)
	}
	limaDir := rdLimaDir(env)
	if limaDir == "" || !env.Exists(filepath.Join(limaDir, "0", "lima.yaml")) {
		return nil
	}
	vm, _ := limaReadInstance(env, limaDir, "0", "rancher-desktop", "0", "start Rancher Desktop")
	vm.OS = "Alpine (Rancher Desktop)"
	return []vmctl.VM{vm}
}

// rdLimaDir is RD's Lima directory on macOS and Linux.
func rdLimaDir(env hostenv.Env) string {
	if env.GOOS == "darwin" {
		return env.HomePath("Library", "Application Support", "rancher-desktop", "lima")
	}
	if d := env.EnvDir("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "rancher-desktop", "lima")
	}
	return env.HomePath(".local", "share", "rancher-desktop", "lima")
}

func rdFindWSL(env hostenv.Env) []vmctl.VM {
	appHome := ""
	if d := env.EnvDir("LOCALAPPDATA"); d != "" {
		appHome = filepath.Join(d, "rancher-desktop")
	} else {
		appHome = env.HomePath("AppData", "Local", "rancher-desktop")
	}
	if !env.IsDir(appHome) {
		return nil
	}
	return []vmctl.VM{{
		Manager: "rancher-desktop",
		Name:    "rancher-desktop",
		State:   vmctl.Unknown,
		OS:      "Alpine (Rancher Desktop, WSL)",
		Source:  appHome,
		Note:    "WSL distro, no SSH: capture needs a WSL transport (`wsl -d rancher-desktop`)",
	}}
}
