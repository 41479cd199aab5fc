// Package shquote quotes words for a POSIX shell. Every value vmdump sends
// to a VM (filters, interface names, paths) travels as one single-quoted
// word, so nothing a user or a VM manager's file says is ever parsed by a
// shell.
package shquote
