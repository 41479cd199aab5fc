package manager

import (
	"path/filepath"
	"strings"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findColima lists Colima profiles. Colima runs its VMs with Lima, in its
// own Lima directory: <colima home>/_lima, or $LIMA_HOME when set
// (abiosoft/colima config/files.go limaDir). The instance of profile
// "default" is `colima`, of profile p `colima-p` (config/profile.go). The
// VMs are read like any Lima instance (provider_lima.go).
//
// Colima's docker and containerd runtimes are rootful, so unlike plain Lima
// there is no rootless note.
func FindColima(env hostenv.Env) []vmctl.VM {
	limaDir := colimaLimaDir(env)
	if limaDir == "" {
		return nil
	}
	var vms []vmctl.VM
	for _, inst := range limaInstances(env, limaDir) {
		profile, ok := colimaProfile(inst)
		if !ok {
			continue // another Lima instance in a shared $LIMA_HOME
		}
		start := "colima start"
		if profile != "default" {
			start += " --profile " + profile
		}
		vm, _ := limaReadInstance(env, limaDir, inst, "colima", profile, start)
		vm.OS = "Ubuntu (Colima)"
		vms = append(vms, vm)
	}
	return vms
}

// colimaProfile maps a Lima instance name to a Colima profile name.
func colimaProfile(inst string) (string, bool) {
	if inst == "colima" {
		return "default", true
	}
	if p, ok := strings.CutPrefix(inst, "colima-"); ok && p != "" {
		return p, true
	}
	return "", false
}

// colimaLimaDir is $LIMA_HOME, else <colima home>/_lima.
func colimaLimaDir(env hostenv.Env) string {
	if d := env.EnvDir("LIMA_HOME"); d != "" {
		return d
	}
	home := colimaHome(env)
	if home == "" {
		return ""
	}
	return filepath.Join(home, "_lima")
}

// colimaHome follows config/files.go configBaseDir: $COLIMA_HOME if it
// exists, else ~/.colima if it exists, else $XDG_CONFIG_HOME/colima (or
// ~/.config/colima).
func colimaHome(env hostenv.Env) string {
	if d := env.EnvDir("COLIMA_HOME"); d != "" && env.IsDir(d) {
		return d
	}
	if d := env.HomePath(".colima"); env.IsDir(d) {
		return d
	}
	if x := env.EnvDir("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "colima")
	}
	return env.HomePath(".config", "colima")
}
