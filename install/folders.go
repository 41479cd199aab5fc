package install

import (
	"bufio"
	"bytes"
	"strings"

	"github.com/vmdump/vmdump/internal/lazyre"
)

// Folders is what `tshark -G folders` says about the folders that matter for
// an extcap. Empty fields were not printed.
type Folders struct {
	// PersonalConfiguration is "Personal configuration:". Wireshark 4.0 reads
	// personal extcaps from its "extcap" subfolder.
	PersonalConfiguration string
	// PersonalExtcap is "Personal Extcap path:", printed from 4.1/4.2 on.
	PersonalExtcap string
	// GlobalExtcap is "Global Extcap path:" (4.2+) or "Extcap path:" (4.0).
	GlobalExtcap string
}

// ParseFolders reads `tshark -G folders` output. Lines are
// "Label:<spaces/tabs>path"; tshark pads labels with printf("%-21s\t%s"),
// Windows output ends lines with CRLF, and Windows paths contain colons
// ("C:\..."), so the label ends at the first colon followed by a blank.
// Lines longer than 1 MiB end the parse.
// Unknown labels and malformed lines are ignored; for repeated labels the
// first one wins.
func ParseFolders(out []byte) Folders {
	var f Folders
	// A CR ends a line too: Windows prints CRLF, and a stray CR must not
	// end up inside a path.
	out = bytes.ReplaceAll(out, []byte("\r"), []byte("\n"))
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		label, value, ok := splitFolderLine(sc.Text())
		if !ok {
			continue
		}
		var field *string
		switch strings.ToLower(label) {
		case "personal configuration":
			field = &f.PersonalConfiguration
		case "personal extcap path":
			field = &f.PersonalExtcap
		case "global extcap path", "extcap path":
			field = &f.GlobalExtcap
		default:
			continue
		}
		if *field == "" {
			*field = value
		}
	}
	return f
}

// splitFolderLine splits "Label:<blanks>value". A label is never empty and
// the value is trimmed of surrounding blanks (and a CR).
func splitFolderLine(line string) (label, value string, ok bool) {
	for i := 0; i < len(line); i++ {
		if line[i] != ':' {
			continue
		}
		if i+1 < len(line) && line[i+1] != ' ' && line[i+1] != '\t' {
			continue
		}
		label = strings.TrimSpace(line[:i])
		value = strings.TrimSpace(line[i+1:])
		return label, value, label != "" && value != ""
	}
	return "", "", false
}

// versionRE finds the first dotted version number, e.g. "4.0.17" in
// "TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).".
var versionRE = lazyre.New(`\b(\d+)\.(\d+)(?:\.(\d+))?\b`)

// ParseVersion returns the Wireshark version from the first line of
// `tshark --version` ("TShark (Wireshark) 4.0.17 (...)"), or "" when that
// line has none.
func ParseVersion(out []byte) string {
	first, _, _ := bytes.Cut(out, []byte("\n"))
	return versionRE().FindString(string(first))
}

// newExtcapFolder reports whether Wireshark version v (as from ParseVersion)
// uses the 4.1+ personal extcap folder. ok is false when v is not a version.
func newExtcapFolder(v string) (isNew, ok bool) {
	m := versionRE().FindStringSubmatch(v)
	if m == nil {
		return false, false
	}
	major, minor := atoiSmall(m[1]), atoiSmall(m[2])
	return major > 4 || (major == 4 && minor >= 1), true
}

// atoiSmall converts a short run of digits; it saturates instead of
// overflowing because only comparisons with small numbers are made.
func atoiSmall(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
		if n > 1<<20 {
			return 1 << 20
		}
	}
	return n
}
