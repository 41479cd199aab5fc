// Package sshtest dials the test sshd of package vmtest with vmdump's own
// SSH client, for the tests of the packages above sshconn (probe,
// remotecap). sshconn's own tests keep two copies of these helpers: an
// internal test there cannot import a package that imports sshconn.
package sshtest
