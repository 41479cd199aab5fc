// Command depsfloor is P1's floor (BENCHMARKS.md): a program that links
// the libraries vmdump's extcap path cannot do without (x/crypto/ssh and
// its agent and knownhosts packages, kevinburke/ssh_config, go-flags,
// BurntSushi/toml, encoding/json, log/slog), runs their package
// initialisation as vmdump does, and prints three lines without any work.
// No vmdump can start faster than this on the same machine. It has
// vmdump's runtime setting too (updatemaxprocs=0, main.go).
//
//go:debug updatemaxprocs=0
package main

import (
	_ "encoding/json"
	"fmt"
	_ "log/slog"

	_ "github.com/BurntSushi/toml"
	_ "github.com/jessevdk/go-flags"
	_ "github.com/kevinburke/ssh_config"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/crypto/ssh/agent"
	_ "golang.org/x/crypto/ssh/knownhosts"
)

func main() {
	fmt.Println("extcap {version=0}")
	fmt.Println("interface {value=a}{display=a}")
	fmt.Println("interface {value=b}{display=b}")
}
