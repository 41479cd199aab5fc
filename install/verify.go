package install

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Verify asks tshark whether it loads vmdump (`tshark -G plugins` lists
// every extcap it found, even one with no interfaces yet) and which of its
// interfaces `tshark -D` shows. It returns a short report for the user. When
// there is no tshark it returns "", nil: nothing could be checked, and that
// is not the user's fault (the caller says "tshark not found").
func Verify(ctx context.Context, env Env) (string, error) {
	if env.RunTshark == nil {
		return "", nil
	}
	plugins, err := env.RunTshark(ctx, "-G", "plugins")
	var loaded []string
	for _, l := range lines(plugins) {
		// "vmdump\t0.1.0\textcap\t/home/u/.local/lib/wireshark/extcap/vmdump"
		f := strings.Split(l, "\t")
		if len(f) >= 4 && strings.TrimSpace(f[2]) == "extcap" && strings.HasPrefix(strings.TrimSpace(f[0]), "vmdump") {
			loaded = append(loaded, strings.TrimSpace(f[3]))
		}
	}
	if len(loaded) == 0 {
		if err != nil {
			return "", fmt.Errorf("tshark -G plugins failed, so vmdump could not be checked: %v", err)
		}
		return "", errors.New("tshark does not load vmdump from any extcap folder: run `vmdump install` again and check `tshark -G folders`")
	}
	report := "Wireshark loads " + strings.Join(loaded, ", ")
	devices, _ := env.RunTshark(ctx, "-D")
	var found []string
	for _, l := range lines(devices) {
		if strings.Contains(l, "vmdump_") || strings.Contains(l, "Docker VM") {
			found = append(found, "  "+strings.TrimSpace(l))
		}
	}
	if len(found) == 0 {
		return report + "\nno Docker VM found yet: `vmdump list` shows what vmdump looks for", nil
	}
	return report + "\ntshark -D lists:\n" + strings.Join(found, "\n"), nil
}

func lines(out []byte) []string {
	return strings.Split(strings.ReplaceAll(string(out), "\r", ""), "\n")
}
