// Package discover lists the Docker VMs a user already has: it asks every
// provider (package manager's readers, vmdump's own config.toml) in a fixed
// order, checks each VM's values, drops the VMs reached two ways, and gives
// each a stable Wireshark interface id. It never touches the network and
// never starts a process: Wireshark runs the listing at every start and
// interface refresh, without a timeout.
package discover
