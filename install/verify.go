package install

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Seen is what one tshark (one Wireshark installation) says about vmdump.
type Seen struct {
	Tshark  string // its path ("tshark" for an Env built by hand)
	Version string // "4.0.17"; "" when it did not say
	// Loaded are the vmdump copies it loads: `tshark -G plugins` lists every
	// extcap it found, even one with no interfaces yet.
	Loaded []string
	// Listed are its `tshark -D` lines for vmdump's interfaces, trimmed.
	Listed []string
	// Err says why vmdump could not be checked, or that it is not loaded.
	Err error
}

// Check asks every tshark found whether it loads vmdump and which of
// vmdump's interfaces it lists. No tshark: nil.
func Check(ctx context.Context, env Env) []Seen {
	var out []Seen
	for _, sh := range env.tsharks() {
		out = append(out, checkOne(ctx, sh))
	}
	return out
}

func checkOne(ctx context.Context, sh Tshark) Seen {
	s := Seen{Tshark: sh.Path}
	if v, err := sh.Run(ctx, "--version"); err == nil {
		s.Version = ParseVersion(v)
	}
	plugins, err := sh.Run(ctx, "-G", "plugins")
	for _, l := range lines(plugins) {
		// "vmdump\t0.1.0\textcap\t/home/u/.local/lib/wireshark/extcap/vmdump"
		f := strings.Split(l, "\t")
		if len(f) >= 4 && strings.TrimSpace(f[2]) == "extcap" && strings.HasPrefix(strings.TrimSpace(f[0]), "vmdump") {
			s.Loaded = append(s.Loaded, strings.TrimSpace(f[3]))
		}
	}
	if len(s.Loaded) == 0 {
		if err != nil {
			s.Err = fmt.Errorf("tshark -G plugins failed, so vmdump could not be checked: %v", err)
		} else {
			s.Err = errors.New("tshark does not load vmdump from any extcap folder: run `vmdump install` again and check `tshark -G folders`")
		}
		return s
	}
	devices, _ := sh.Run(ctx, "-D")
	for _, l := range lines(devices) {
		if strings.Contains(l, "vmdump_") || strings.Contains(l, "Docker VM") {
			s.Listed = append(s.Listed, strings.TrimSpace(l))
		}
	}
	return s
}

// report is the user's text for one Seen without error.
func (s Seen) report() string {
	r := "Wireshark loads " + strings.Join(s.Loaded, ", ")
	if len(s.Listed) == 0 {
		return r + "\nno Docker VM found yet: `vmdump list` shows what vmdump looks for"
	}
	return r + "\ntshark -D lists:\n  " + strings.Join(s.Listed, "\n  ")
}

// Verify asks tshark whether it loads vmdump and which of its interfaces
// `tshark -D` shows, and returns a short report for the user. With several
// tsharks (several Wireshark versions) each one's answer is a paragraph
// headed by its path; the error then says that none loads vmdump. When there
// is no tshark it returns "", nil: nothing could be checked, and that is not
// the user's fault (the caller says "tshark not found").
func Verify(ctx context.Context, env Env) (string, error) {
	seen := Check(ctx, env)
	switch len(seen) {
	case 0:
		return "", nil
	case 1:
		if seen[0].Err != nil {
			return "", seen[0].Err
		}
		return seen[0].report(), nil
	}
	var parts []string
	var firstErr error
	ok := false
	for _, s := range seen {
		head := s.Tshark
		if s.Version != "" {
			head += " (Wireshark " + s.Version + ")"
		}
		if s.Err != nil {
			parts = append(parts, head+": "+s.Err.Error())
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %v", head, s.Err)
			}
			continue
		}
		ok = true
		parts = append(parts, head+":\n"+s.report())
	}
	if !ok {
		return "", firstErr
	}
	return strings.Join(parts, "\n"), nil
}

func lines(out []byte) []string {
	return strings.Split(strings.ReplaceAll(string(out), "\r", ""), "\n")
}
