package discover

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vmdump/vmdump/vmctl"
)

// Interface IDs are what Wireshark stores in its recent files and what users
// type in `tshark -i` and `-o extcap.<ID>.<arg>:v`, so they must be stable
// across runs, unique, short and made of [a-z0-9_] only.
const (
	discIDPrefix = "vmdump_"
	discIDMaxLen = 40
	discIDHash   = 6 // hex digits of sha256(manager, name)
)

// discAssignIDs sets vms[i].ID = vmdump_<short>_<sanitised name>. A name
// that is too long is cut and suffixed with a hash of the VM's identity.
//
// A name that is not ASCII always gets the hash, after its accented Latin
// letters are spelled in ASCII ("Café" is vmdump_cfg_cafe_<hash>): without
// it "Café" and "Cafè" would share one ID, and the one listed first would
// be renamed when the other appears. So such an ID depends on the VM alone.
//
// ASCII names keep the IDs they always had (users save settings under
// them): when two sanitise to the same ID ("my-vm" and "my_vm"), each VM
// whose name is not already in sanitised form gets the hash suffix, so a
// plain name keeps its plain ID when a look-alike appears next to it.
func discAssignIDs(vms []vmctl.VM, shorts []string) {
	base := make([]string, len(vms))
	count := map[string]int{}
	for i, vm := range vms {
		base[i] = discIDFor(shorts[i], vm, false)
		count[base[i]]++
	}
	used := map[string]bool{}
	for i, vm := range vms {
		id := base[i]
		if count[id] > 1 && IDPart(vm.Name) != vm.Name {
			id = discIDFor(shorts[i], vm, true)
		}
		// Last resort, for hash collisions: number the later ones.
		for n := 2; used[id]; n++ {
			id = discIDFor(shorts[i], vm, true) + "_" + strconv.Itoa(n)
		}
		used[id] = true
		vms[i].ID = id
	}
}

// discIDFor builds one ID; withHash forces the identity-hash suffix, which
// a name that is not ASCII always has.
func discIDFor(short string, vm vmctl.VM, withHash bool) string {
	prefix := discIDPrefix + IDPart(short) + "_"
	name := IDPart(vm.Name)
	if !discIsASCII(vm.Name) {
		name, withHash = IDPart(discASCIILetters(vm.Name)), true
	}
	if name == "" {
		name, withHash = "vm", true
	}
	if !withHash && len(prefix)+len(name) <= discIDMaxLen {
		return prefix + name
	}
	sum := sha256.Sum256([]byte(vm.Manager + "\x00" + vm.Name))
	suffix := "_" + hex.EncodeToString(sum[:])[:discIDHash]
	room := discIDMaxLen - len(prefix) - len(suffix)
	if room < 1 {
		room = 1
	}
	if len(name) > room {
		name = strings.TrimRight(name[:room], "_")
	}
	return prefix + name + suffix
}

func discIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// discASCIILetters spells the accented Latin letters of s in ASCII
// ("Crème brûlée" is "creme brulee", "Straße" "strasse") and drops
// combining marks (an "e" followed by U+0301 is "e"); other characters
// stay for IDPart to fold. Lowercase: IDs are.
func discASCIILetters(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// a combining accent: the letter before it is what counts
		default:
			if t, ok := discLatin[r]; ok {
				b.WriteString(t)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// discLatin spells lowercase Latin letters with diacritics, and the
// ligatures and letters of Western and Central European languages, in
// ASCII. Letters not here become '_' in an ID, as before.
var discLatin = func() map[rune]string {
	m := map[rune]string{}
	for ascii, letters := range map[string]string{
		"a": "àáâãäåāăąǎǻȁȃạảấầẩẫậắằẳẵặ",
		"c": "çćĉċč",
		"d": "ďđð",
		"e": "èéêëēĕėęěȅȇẹẻẽếềểễệ",
		"g": "ĝğġģǧ",
		"h": "ĥħ",
		"i": "ìíîïĩīĭįıǐȉȋỉị",
		"j": "ĵ",
		"k": "ķǩ",
		"l": "ĺļľŀł",
		"n": "ñńņňŉǹ",
		"o": "òóôõöøōŏőơǒǿȍȏọỏốồổỗộớờởỡợ",
		"r": "ŕŗřȑȓ",
		"s": "śŝşšș",
		"t": "ţťŧț",
		"u": "ùúûüũūŭůűųưǔǖǘǚǜȕȗụủứừửữự",
		"w": "ŵẁẃẅ",
		"y": "ýÿŷỳỵỷỹ",
		"z": "źżž",
	} {
		for _, r := range letters {
			m[r] = ascii
		}
	}
	for r, t := range map[rune]string{'æ': "ae", 'œ': "oe", 'ß': "ss", 'þ': "th", 'ĳ': "ij", 'ﬁ': "fi", 'ﬂ': "fl"} {
		m[r] = t
	}
	return m
}()

// IDPart makes s fit a Wireshark interface id (and so a preference name):
// it lowercases and maps every run of characters outside [a-z0-9] to one
// '_', trimming '_' at both ends. Discovery builds VM ids from it; the NIC
// part of a NIC's id comes from it too.
func IDPart(s string) string {
	var b strings.Builder
	pendingSep := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(r)
			continue
		}
		pendingSep = true
	}
	return b.String()
}
