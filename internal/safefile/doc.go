// Package safefile reads and rewrites small files that several vmdump
// processes share (pinned host keys, known_hosts, the inventory cache):
// read-modify-write under a lock file, the new content in place by rename.
package safefile
