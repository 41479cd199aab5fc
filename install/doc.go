// Package install puts the vmdump binary where Wireshark looks for personal
// extcaps, takes it out again, and checks that tshark sees it.
//
// Wireshark moved its personal extcap folder in 4.1/4.2 (from the personal
// configuration folder to ~/.local/lib/wireshark/extcap on Unix), and 4.0's
// `tshark -G folders` does not even print it. So the folder is asked of
// tshark when there is one, and otherwise derived from the OS rules of both
// generations; when unsure, vmdump goes into both folders (Wireshark only
// reads the one that belongs to its version, so a second copy is harmless).
//
// Everything that depends on the machine comes in through Env, so every path
// rule is tested with fake environments and fixture tshark output.
package install
