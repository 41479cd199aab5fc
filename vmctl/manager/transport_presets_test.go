package manager

import (
	"strings"
	"testing"
)

func TestExecPresets(t *testing.T) {
	for _, c := range []struct {
		preset, vm, inst, image string
		want                    string
		quote                   bool
	}{
		{"multipass", "primary", "", "", "multipass exec primary --", false},
		{"multipass", "x", "dev", "", "multipass exec dev --", false},
		{"lima", "default", "", "", "limactl shell default", false},
		{"podman", "podman-machine-default", "", "", "podman machine ssh podman-machine-default", true},
		{"wsl", "rancher-desktop", "", "", "wsl -d rancher-desktop -u root --exec", false},
		{"docker-desktop", "desktop-linux", "", "", "docker --context desktop-linux run --rm -i --net=host --privileged --log-driver=none nicolaka/netshoot", false},
		{"docker-desktop", "d", "orbstack", "ghcr.io/me/tcpdump:1.0", "docker --context orbstack run --rm -i --net=host --privileged --log-driver=none ghcr.io/me/tcpdump:1.0", false},
	} {
		argv, quote, err := ExecPreset(c.preset, c.vm, c.inst, c.image)
		if err != nil || strings.Join(argv, " ") != c.want || quote != c.quote {
			t.Errorf("%s %s/%s/%s: %q quote=%v %v; want %q quote=%v", c.preset, c.vm, c.inst, c.image, argv, quote, err, c.want, c.quote)
		}
	}
	for _, c := range []struct{ preset, vm, inst, image, want string }{
		{"ssh", "a", "", "", `transport "ssh" is not one of docker-desktop, lima, multipass, podman, wsl`},
		{"multipass", "a", "-oProxyCommand=x", "", "starts with '-'"},
		{"lima", "a", "x y", "", `contains " "`},
		{"lima", "a", "x;id", "", `contains ";"`},
		{"lima", "a", "", "img", "image is only for"},
		{"docker-desktop", "a", "", "--privileged", "image"},
	} {
		_, _, err := ExecPreset(c.preset, c.vm, c.inst, c.image)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q/%q: error %v, want %q", c.preset, c.inst, c.image, err, c.want)
		}
	}
}
