// Package sshconn reaches one VM: golang.org/x/crypto/ssh with
// ~/.ssh/config, ssh-agent, key files and passwords, or a local exec
// command (multipass exec, limactl shell, ...) that stands in for SSH. It
// checks host keys (known_hosts strictly for real hosts, keys pinned per VM
// for the loopback forwards of VM managers), notices a dead link
// (keepalives) and opens sessions. It knows nothing of tcpdump: the
// commands it runs come from probe and remotecap.
package sshconn
