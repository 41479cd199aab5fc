// Package install puts the vmdump binary where Wireshark looks for personal
// extcaps, takes it out again, and checks that tshark sees it.
//
// Wireshark moved its personal extcap folder in 4.1/4.2 (from the personal
// configuration folder to ~/.local/lib/wireshark/extcap on Unix), and 4.0's
// `tshark -G folders` does not even print it. So every tshark found is asked
// (PATH first, then where the macOS app bundle, Homebrew and the Windows
// installer put it: a machine may have several Wireshark versions), and the
// folder is otherwise derived from the OS rules of both generations; when
// unsure, vmdump goes into both folders (Wireshark only reads the one that
// belongs to its version, so a second copy is harmless).
//
// Global folders (GlobalFolders: $WIRESHARK_EXTCAP_DIR, which replaces the
// global folder, then what tshark says, then the rules: 4.6's move on Unix
// from <prefix>/lib/.../wireshark/extcap to <prefix>/libexec/wireshark/extcap,
// Windows 4.4.0's extcap\wireshark, the macOS app bundle) are never
// installed into, only searched for copies by `vmdump doctor`. Two copies
// of vmdump would list every VM twice: Install removes renamed copies from
// its folders, and PrimaryCopy lets each copy Wireshark runs decide, alike,
// which one lists.
//
// Everything that depends on the machine comes in through Env, so every path
// rule is tested with fake environments and fixture tshark output.
package install
