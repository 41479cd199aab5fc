// Command primaryextcap is the smallest extcap that guards against duplicate
// copies the way vmdump does: it lists its one interface only when
// install.PrimaryCopy says it is the copy Wireshark runs first. The install
// package's integration test copies it under several names and asks the
// real tshark.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/vmdump/vmdump/install"
)

func main() {
	listing, version := false, ""
	for _, a := range os.Args[1:] {
		switch {
		case a == "--extcap-interfaces":
			listing = true
		case strings.HasPrefix(a, "--extcap-version="):
			version = strings.TrimPrefix(a, "--extcap-version=")
		}
	}
	if !listing {
		return
	}
	fmt.Println("extcap {version=1}")
	if ok, _ := install.PrimaryCopy(install.LocalEnv(), install.SelfPath(), version); ok {
		fmt.Println("interface {value=vmdump_primarytest}{display=Primary test}")
	}
}
