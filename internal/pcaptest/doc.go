// Package pcaptest builds classic pcap streams and parses pcapng ones,
// independently of the code under test, for the tests of pcapng and
// extcap. Only tests import it.
package pcaptest
