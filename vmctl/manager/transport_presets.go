package manager

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/vmdump/vmdump/vmctl"
)

// DefaultDockerDesktopImage is the image the "docker-desktop" preset runs
// when config.toml names none: it ships tcpdump and a POSIX sh, and it is
// the one Docker's own troubleshooting notes use. vmdump never pulls it
// itself; `docker run` does on first use, on the user's machine.
const DefaultDockerDesktopImage = "nicolaka/netshoot"

// DefaultDockerDesktopContext is the Docker context Docker Desktop creates
// on every platform (docker/cli's context store, vm-managers.md).
const DefaultDockerDesktopContext = "desktop-linux"

// execPreset is the local command one VM manager offers into its VMs.
type execPreset struct {
	// argv builds the Exec prefix; inst is the manager's name for the VM
	// (instance, distro, machine or, for Docker, the context), image
	// the container image where one is needed.
	argv func(inst, image string) []string
	// quote: the CLI joins its arguments into one remote shell line.
	quote bool
	// needsImage: the preset runs a container.
	needsImage bool
	// defaultInst is used when no instance name is given ("" = the VM's
	// name).
	defaultInst string
}

// execPresets are the transports of issue 7. Each argv keeps the appended
// "sh" "-c" <command> as separate arguments unless quote is set:
//
//   - docker-desktop: a privileged container in the VM's network namespace
//     (--net=host) sees the VM's interfaces; -i carries stdin, so the
//     container's stdin EOF follows the docker CLI's death; --rm removes
//     it; --log-driver=none keeps the pcap stream out of the container's
//     log file inside the VM.
//   - multipass: `multipass exec <vm> -- argv...` runs argv as is
//     (Multipass docs, "Multipass exec and shells").
//   - lima: `limactl shell <inst> argv...` shell-quotes argv itself
//     (lima cmd/limactl/shell.go: QuoteCommand), so no "--" is needed
//     ("sh" is not an option) and none is given: older limactl versions
//     would pass it on as the command.
//   - podman: `podman machine ssh <name> args...` hands its arguments to ssh,
//     which joins them with spaces into one remote line: quote.
//   - wsl: `wsl -d <distro> --exec argv...` runs argv without a shell (`wsl
//     -d <distro> -- ...` would hand the joined line to the default shell);
//     -u root because the distros of Docker Desktop and Rancher Desktop
//     run as root and a user distro's sudo may want a password.
var execPresets = map[string]execPreset{
	"docker-desktop": {
		argv: func(ctx, image string) []string {
			return []string{"docker", "--context", ctx, "run", "--rm", "-i", "--net=host", "--privileged", "--log-driver=none", image}
		},
		needsImage:  true,
		defaultInst: DefaultDockerDesktopContext,
	},
	"multipass": {argv: func(inst, _ string) []string { return []string{"multipass", "exec", inst, "--"} }},
	"lima":      {argv: func(inst, _ string) []string { return []string{"limactl", "shell", inst} }},
	"podman": {
		argv:  func(inst, _ string) []string { return []string{"podman", "machine", "ssh", inst} },
		quote: true,
	},
	"wsl": {argv: func(inst, _ string) []string { return []string{"wsl", "-d", inst, "-u", "root", "--exec"} }},
}

// ExecPresetNames lists the transport names config.toml accepts.
func ExecPresetNames() []string {
	names := make([]string, 0, len(execPresets))
	for n := range execPresets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ExecPreset returns the Exec prefix and ExecQuote of transport preset for
// the VM the manager calls inst (for docker-desktop: the Docker context;
// "" = the preset's default, else vmName). image is for docker-desktop ("" =
// DefaultDockerDesktopImage). The error is one line for config.toml.
func ExecPreset(preset, vmName, inst, image string) ([]string, bool, error) {
	p, ok := execPresets[preset]
	if !ok {
		return nil, false, fmt.Errorf("transport %s is not one of %s", vmctl.QuoteForMessage(preset), strings.Join(ExecPresetNames(), ", "))
	}
	if inst == "" {
		inst = cmp.Or(p.defaultInst, vmName)
	}
	if prob := execWordProblem(inst); prob != "" {
		return nil, false, fmt.Errorf("instance %s", prob)
	}
	if image != "" && !p.needsImage {
		return nil, false, fmt.Errorf("image is only for transport \"docker-desktop\"")
	}
	if p.needsImage {
		if image == "" {
			image = DefaultDockerDesktopImage
		}
		if prob := execWordProblem(image); prob != "" {
			return nil, false, fmt.Errorf("image %s", prob)
		}
	}
	return p.argv(inst, image), p.quote, nil
}

// execWordProblem: a name that goes into a CLI's argv must not be read as
// an option, and must be one printable word (it is also shown in `vmdump
// list`, and podman's ssh joins it into a shell line).
func execWordProblem(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "is empty"
	case s[0] == '-':
		return vmctl.QuoteForMessage(s) + " starts with '-'"
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(vmctl.NameChars, r) {
			return vmctl.QuoteForMessage(s) + " contains " + vmctl.QuoteForMessage(string(r))
		}
	}
	return ""
}
