// Package extcap is the Wireshark side of vmdump: everything Wireshark's
// extcap protocol asks of a capture provider, and nothing about VMs or SSH
// (this package must not import golang.org/x/crypto/ssh or vmctl), and
// nothing about vmdump's own options dialog, which is package dialog's
// (this package must not import dialog).
//
// Wireshark runs the extcap binary many times: to list interfaces
// (--extcap-interfaces), to describe the options dialog (--extcap-config),
// to list link types (--extcap-dlts), to check a capture filter
// (--extcap-capture-filter without --capture) and finally to capture
// (--capture --fifo PATH). Each action lives in its own file and writes to an
// io.Writer so that it can be tested without Wireshark:
//
//	args.go         ParseArgs: Wireshark's argv → Args, Mode (and the
//	                provider's dialog options into a struct of its own)
//	sentences.go    the {key=value} grammar and its sanitising
//	interfaces.go   WriteInterfaces (extcap/interface/control sentences)
//	config.go       WriteConfig, WriteValues (arg/value sentences)
//	dlts.go         WriteDLTs
//	filtercheck.go  CheckFilter (compiles the filter locally with tcpdump)
//	fifo*.go        OpenFIFO, IsReaderGone; fifo_watch*.go: StopWhenReaderGone
//	control.go      toolbar control pipes (GUI only)
//
// The pcapng stream written into the FIFO is package pcapng's.
//
// The facts this package relies on (what Wireshark 4.0–4.6 really sends and
// parses) are collected in the project's shared reference, extcap.md; the
// comments here cite its sections as "reference §N".
package extcap
