// Package discover finds the Docker VMs a user already has by reading the VM
// managers' own files (one provider_*.go per manager) and vmdump's
// config.toml. It never touches the network and never starts a process:
// Wireshark runs the listing at every start and interface refresh, without
// a timeout. What a listing read (each file's stat, each pid, each
// variable) is recorded with the answer (Inputs, Kept), so a later listing
// can serve the same answer while none of it changed.
package discover
