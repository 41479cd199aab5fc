// Package localtcpdump compiles capture filters with the tcpdump of the
// machine vmdump runs on, without capture rights: `tcpdump -d -r -` reads
// an empty capture file from stdin for the link type and never opens an
// interface. Wireshark's filter check (extcap) and the capture agent's
// kernel filter (vmctl) both use it.
package localtcpdump

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Paths are searched after PATH: GUI apps (and sudo) often run with a
// PATH that lacks the sbin directories. Tests may empty it.
var Paths = []string{"/usr/sbin/tcpdump", "/usr/bin/tcpdump", "/sbin/tcpdump", "/usr/local/sbin/tcpdump", "/usr/local/bin/tcpdump"}

// Find returns the path of a local tcpdump, or "" when there is none
// (Windows, a Mac or Linux without it).
func Find() string {
	if p, err := exec.LookPath("tcpdump"); err == nil {
		return p
	}
	for _, p := range Paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// EmptyEthernetPcap is a capture file with no packets: tcpdump -r takes the
// link type and the snapshot length (a program's accept value) from it.
func EmptyEthernetPcap(snaplen int) []byte {
	return []byte{
		0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, // magic, version 2.4
		0, 0, 0, 0, 0, 0, 0, 0, // thiszone, sigfigs
		byte(snaplen), byte(snaplen >> 8), byte(snaplen >> 16), byte(snaplen >> 24),
		1, 0, 0, 0, // LINKTYPE_ETHERNET
	}
}

// Compile runs `tcpdump <dump> -r - -- filter` (dump is "-d" to check,
// "-ddd" for a program to load) for Ethernet with snaplen, in the C
// locale. It returns tcpdump's stdout, and on failure also its reason: the
// last "tcpdump: ..." line of stderr without that prefix.
func Compile(ctx context.Context, tcpdump, dump, filter string, snaplen int) (stdout, reason string, err error) {
	cmd := exec.CommandContext(ctx, tcpdump, dump, "-r", "-", "--", filter)
	cmd.Stdin = bytes.NewReader(EmptyEthernetPcap(snaplen))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if err != nil {
		reason = Reason(errOut.String())
	}
	return out.String(), reason, err
}

// Reason is the last "tcpdump: ..." line of stderr, without that prefix,
// limited to one short line.
func Reason(stderr string) string {
	msg := ""
	for _, line := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "tcpdump: "); ok {
			msg = strings.TrimSpace(rest)
		}
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return strings.ToValidUTF8(msg, "")
}
