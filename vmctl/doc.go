// Package vmctl is the VM noun shared by everything that finds, reaches and
// captures from a Docker VM: VM, its State and its endpoint. The work is in
// the packages below it, one per step of the data path:
//
//	hostenv    the machine vmdump runs on: home, variables, folders, recorded reads
//	manager    one reader per VM manager's files
//	discover   which VMs this machine has (files only, never the network)
//	sshconn    reaching one: SSH or a local exec command, host keys, sessions
//	probe      what the VM has: tools, privilege, NICs, containers (one round trip)
//	remotecap  the remote capture command, its filters, the capture agent, provisioning
//
// None of them knows Wireshark: they hand back a pcap byte stream and the
// facts about the VM that produced it.
package vmctl
