// Package vmtest holds the test rigs that the vmctl packages' tests share: a
// real OpenSSH sshd on 127.0.0.1 (Linux), a TCP proxy that can freeze or
// cut a link, key files, the POSIX shells on this machine and a pcap
// decoder. Only tests import it.
package vmtest
