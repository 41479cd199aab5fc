// Package hostenv is the machine vmdump runs on, as discovery reads it: the
// user's home, the environment, the config and cache folders (Env), and
// bounded, recorded reads of the VM managers' files. Every file, pid and
// variable a listing read is recorded (Inputs), so that a later listing can
// serve the same answer (Kept) while none of them changed: Wireshark runs
// the listing at every start and interface refresh.
package hostenv
