// Package lab builds, for tests, a stand-in for a Docker VM out of real
// programs on the local machine, and tears it down without a trace.
//
// A lab is:
//
//	root namespace                VM namespace (Lab.Namespace)
//	  vmdh<N> 10.231.N.1/30 ──veth── eth1 10.231.N.2/30, sshd on :22
//	  [socat 127.0.0.1:P → VM:22]    docker0 bridge 172.31.N.1/24
//	                                   ├─ veth<7 hex> ── eth0 172.31.N.2  namespace c1
//	                                   └─ veth<7 hex> ── eth0 172.31.N.3  namespace c2
//
// sshd is Debian's OpenSSH with a config, host key and authorized key of the
// lab's own; the lab user vmdlab (shared by labs, see user.go) has
// passwordless sudo, so
// `ssh vmdlab@10.231.N.2 sudo -n tcpdump -i docker0 ...` works as on a
// real Docker VM. Traffic between the containers comes from
// internal/trafficgen (an echo server in c2, a client in c1), compiled with
// the go command on first use and shared by the process's open labs (it is
// deleted when the last of them closes; a rebuild then takes ~0.3 s thanks
// to Go's build cache); see Lab.Send and the message layout in
// internal/trafficgen/payload. IPv6 is off in the lab's namespaces and on
// the host veth, so captures hold only the lab's IPv4 traffic (and ARP).
//
// A Host (host.go) is the other stand-in: the machine's own root namespace
// as a "Docker VM", with the machine's real Docker engine, reached through
// an sshd of the same kind on 127.0.0.1:<free port> (internal/ctrlab runs
// its containers).
//
// The VM's sshd runs in a mount namespace of its own where this machine's
// container engine commands (docker, podman, nerdctl) are covered by an
// empty file: a real VM does not see its host's engine, and the containers
// other tests run on it must not appear in a lab VM's inventory. Tests of
// containers use the root namespace as their VM instead (Host, and
// internal/ctrlab's real containers).
//
// Building a lab needs root, ip, sshd, ssh-keygen, tcpdump, sudo, sysctl,
// useradd/usermod (plus socat for Forward, userdel for Password or
// LoginShell, chpasswd for Password, and the go command for traffic).
// Start skips the test when they are missing, except under CI (CI set),
// where it fails.
//
// Nothing outlives a lab: Close kills every process in its namespaces,
// deletes namespaces, veths, its etc directory (/etc/netns/<namespace>,
// the lab user's sudoers file in this lab), its user if it has one of its
// own, and its directory. If the test process dies before Close, its sshd,
// socat and trafficgen die with it (parent-death signal), and the next lab
// built on the machine reaps the rest (see reap.go). Kept on purpose: the
// shared lab user vmdlab (see user.go) and the system directories
// /run/sshd and /etc/netns.
package lab
