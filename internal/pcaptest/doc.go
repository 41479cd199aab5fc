// Package pcaptest builds classic pcap streams and parses pcapng ones,
// independently of the code under test, for the tests of pcapng, extcap
// and dialog; it also holds what those tests share (real Wireshark argv,
// line-by-line golden comparison). Only tests import it.
package pcaptest
