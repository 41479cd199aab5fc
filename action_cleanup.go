package main

// cleanupAction answers --extcap-cleanup-postkill, which Wireshark 4.6
// runs after it killed a capture (on Windows at every stop) and waits for:
// it must end at once, and there is nothing to clean — the VM ends tcpdump
// when the channel closes, and an exec transport's children die with
// vmdump (a kill-on-close job object on Windows).
func cleanupAction() int { return 0 }
