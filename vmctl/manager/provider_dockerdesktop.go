package manager

import (
	"path/filepath"

	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// findDockerDesktop notes that Docker Desktop is installed. Its LinuxKit VM
// has no SSH server; the way in is a privileged container in the VM's
// network namespace, run by the docker CLI (the "docker-desktop" exec
// preset: `docker --context desktop-linux run --rm -i --net=host
// --privileged <image>`; the image must have tcpdump). Signs of an
// installation: the desktop-linux context in the Docker context store
// (docker/cli cli/context/store), ~/.docker/desktop (Linux), or the app's
// container ~/Library/Containers/com.docker.docker (macOS).
func FindDockerDesktop(env hostenv.Env) []vmctl.VM {
	source := ""
	for _, m := range dockerContextMetas(env) {
		if m.name == "desktop-linux" {
			source = m.path
			break
		}
	}
	if source == "" {
		var candidates []string
		if d := dockerConfigDir(env); d != "" {
			candidates = append(candidates, filepath.Join(d, "desktop"))
		}
		candidates = append(candidates, env.HomePath("Library", "Containers", "com.docker.docker"))
		for _, c := range candidates {
			if c != "" && env.IsDir(c) {
				source = c
				break
			}
		}
	}
	if source == "" {
		return nil
	}
	argv, _, _ := ExecPreset("docker-desktop", DefaultDockerDesktopContext, "", "")
	return []vmctl.VM{{
		Manager: "docker-desktop",
		Name:    DefaultDockerDesktopContext,
		State:   vmctl.Unknown,
		OS:      "LinuxKit (Docker Desktop)",
		Source:  source,
		Exec:    argv,
		Note:    "through a privileged container of image " + DefaultDockerDesktopImage + " (another: [[vm_transport]] image in config.toml)",
	}}
}
