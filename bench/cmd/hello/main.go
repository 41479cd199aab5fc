// Command hello prints a three-line extcap answer and exits: the floor
// under P1 (what starting any Go binary costs on the machine).
package main

import "os"

func main() {
	os.Stdout.WriteString("extcap {version=1.0}{help=https://example.invalid}\n" +
		"interface {value=hello1}{display=Hello one}\n" +
		"interface {value=hello2}{display=Hello two}\n")
}
