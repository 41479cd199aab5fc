package manager

import (
	"strings"
)

// limaYAML is the little discovery needs from a lima.yaml (Lima's
// pkg/limatype/lima_yaml.go; defaults in pkg/limayaml/defaults.go and the
// comments of templates/default.yaml). vmdump carries no YAML library for
// this, so limaScanYAML reads only top-level scalars and the `containerd:`
// mapping, block or flow style, and ignores everything else. Missing values stay nil: Lima's defaults apply.
type limaYAML struct {
	VMType           string
	OS               string
	Arch             string
	Plain            *bool
	ContainerdSystem *bool
	ContainerdUser   *bool
	// RootlessDocker is set when a provision script installs rootless
	// Docker (`dockerd-rootless-setuptool.sh install`, templates/docker.yaml).
	RootlessDocker bool
}

// limaScanYAML never fails: what it cannot read it leaves unset.
func limaScanYAML(data []byte) limaYAML {
	var y limaYAML
	inContainerd := false
	for _, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimRight(limaStripComment(raw), " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.Contains(line, "dockerd-rootless-setuptool.sh install") {
			y.RootlessDocker = true
		}
		indented := line[0] == ' ' || line[0] == '\t'
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			if !indented {
				inContainerd = false
			}
			continue
		}
		key = strings.TrimSpace(key)
		val = strings.TrimSpace(val)
		if indented {
			if inContainerd {
				limaSetContainerd(&y, key, val)
			}
			continue
		}
		inContainerd = false
		switch key {
		case "vmType":
			y.VMType = limaScalar(val)
		case "os":
			y.OS = limaScalar(val)
		case "arch":
			y.Arch = limaScalar(val)
		case "plain":
			y.Plain = limaBool(val)
		case "containerd":
			if strings.HasPrefix(val, "{") {
				inner := strings.TrimSuffix(strings.TrimPrefix(val, "{"), "}")
				for _, kv := range strings.Split(inner, ",") {
					k, v, _ := strings.Cut(kv, ":")
					limaSetContainerd(&y, strings.TrimSpace(k), strings.TrimSpace(v))
				}
			} else if val == "" {
				inContainerd = true
			}
		}
	}
	return y
}

func limaSetContainerd(y *limaYAML, key, val string) {
	switch key {
	case "system":
		y.ContainerdSystem = limaBool(val)
	case "user":
		y.ContainerdUser = limaBool(val)
	}
}

// limaStripComment drops a '#' comment that starts a line or follows a
// space, outside quotes.
func limaStripComment(s string) string {
	inS, inD := false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			if !inD {
				inS = !inS
			}
		case '"':
			if !inS {
				inD = !inD
			}
		case '#':
			if !inS && !inD && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
				return s[:i]
			}
		}
	}
	return s
}

func limaScalar(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		v = v[1 : len(v)-1]
	}
	if v == "null" || v == "~" {
		return ""
	}
	return v
}

func limaBool(v string) *bool {
	switch strings.ToLower(limaScalar(v)) {
	case "true":
		t := true
		return &t
	case "false":
		f := false
		return &f
	}
	return nil
}

// limaMergeYAML applies Lima's precedence for one setting:
// _config/override.yaml, then the instance's lima.yaml, then
// _config/default.yaml (pkg/limayaml/defaults.go FillDefault).
func limaMergeYAML(override, inst, def limaYAML) limaYAML {
	pickS := func(a, b, c string) string {
		if a != "" {
			return a
		}
		if b != "" {
			return b
		}
		return c
	}
	pickB := func(a, b, c *bool) *bool {
		if a != nil {
			return a
		}
		if b != nil {
			return b
		}
		return c
	}
	return limaYAML{
		VMType:           pickS(override.VMType, inst.VMType, def.VMType),
		OS:               pickS(override.OS, inst.OS, def.OS),
		Arch:             pickS(override.Arch, inst.Arch, def.Arch),
		Plain:            pickB(override.Plain, inst.Plain, def.Plain),
		ContainerdSystem: pickB(override.ContainerdSystem, inst.ContainerdSystem, def.ContainerdSystem),
		ContainerdUser:   pickB(override.ContainerdUser, inst.ContainerdUser, def.ContainerdUser),
		RootlessDocker:   inst.RootlessDocker,
	}
}

// rootlessNote says where container traffic is when Lima runs containers
// rootless, or "" when it does not (or we cannot tell).
func (y limaYAML) rootlessNote() string {
	if y.OS != "" && !strings.EqualFold(y.OS, "linux") {
		return ""
	}
	if y.Plain != nil && *y.Plain {
		return ""
	}
	if y.RootlessDocker {
		return "rootless Docker: container bridges live in RootlessKit's network namespace, not on the VM's interfaces"
	}
	user := true // builtin default for x86_64 and aarch64 guests
	switch y.Arch {
	case "", "default", "x86_64", "aarch64":
	default:
		user = false
	}
	if y.ContainerdUser != nil {
		user = *y.ContainerdUser
	}
	if user {
		return "rootless containerd (Lima default): container bridges live in RootlessKit's network namespace, not on the VM's interfaces"
	}
	return ""
}
