package pcaptest

// WiresharkArgvs are real argv from tshark/Wireshark 4.0 (reference §1.1),
// with vmdump's interface and options in place of sshdump's: extcap's
// parser tests and the dialog's options tests parse the same rows.
var WiresharkArgvs = [][]string{
	{"--extcap-interfaces", "--extcap-version=4.0"},
	{"--extcap-interfaces"},
	{"--extcap-config", "--extcap-interface", "vmdump-default"},
	{"--extcap-config", "--extcap-interface", "vmdump-default", "--extcap-reload-option", "remote-interface", "--ssh-user", "docker", "--payload-only", "off", "--some-flag", "true"},
	{"--extcap-dlts", "--extcap-interface", "vmdump-default"},
	{"--extcap-capture-filter", "tcp port 80", "--extcap-interface", "vmdump-default"},
	{"--capture", "--extcap-interface", "vmdump-default", "--extcap-capture-filter", "udp port 9998 and not host 1.2.3.4", "--fifo", "/tmp/wireshark_extcap_vmdump-default0173Y3", "--remote-interface", "eth1", "--payload-only", "on", "--snaplen", "0"},
	{"--capture", "--extcap-interface", "vmdump-default", "--fifo", "/tmp/f", "--extcap-control-out", "/tmp/c1", "--extcap-control-in", "/tmp/c2", "--ssh-password", "-p4ss", "--log-level", "debug", "--log-file", "/tmp/log"},
	{"--extcap-cleanup-postkill"},
	{"--extcap-interface", "vmdump-default", "--extcap-config-option-name", "x", "--extcap-config-option-value", "y"},
}
