package install

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Verify asks `tshark -D` whether vmdump's interfaces show up and returns
// those lines (the ones containing "vmdump_" or "Docker VM"). When there is
// no tshark it returns "", nil: nothing could be checked, and that is not
// the user's fault (the caller says "tshark not found").
func Verify(ctx context.Context, env Env) (string, error) {
	if env.RunTshark == nil {
		return "", nil
	}
	out, err := env.RunTshark(ctx, "-D")
	var found []string
	for _, l := range strings.Split(strings.ReplaceAll(string(out), "\r", ""), "\n") {
		if strings.Contains(l, "vmdump_") || strings.Contains(l, "Docker VM") {
			found = append(found, strings.TrimSpace(l))
		}
	}
	if len(found) > 0 {
		return strings.Join(found, "\n"), nil
	}
	if err != nil {
		return "", fmt.Errorf("tshark -D failed, so vmdump could not be checked: %v", err)
	}
	return "", errors.New("tshark -D lists no vmdump interface: run `vmdump install`, then check that `vmdump --extcap-interfaces` prints interface lines")
}
