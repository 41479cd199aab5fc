// Command trafficgen makes small, countable TCP or UDP traffic between two of
// the lab's container namespaces (see internal/lab), so that a capture of it
// has a known shape, and HTTP requests for demos. The commands are described
// in package generator, which also lets vmdump serve as its own traffic
// generator (`vmdump demo-traffic ...`) where no go command is available.
//
//	trafficgen serve -addr :7007
//	trafficgen send -addr 172.31.1.3:7007 -n 10 -interval 10ms -size 64 [-udp]
//	trafficgen http-serve -addr :80
//	trafficgen http-get -url http://172.31.1.3/ -interval 1s [-n 0]
package main

import (
	"os"

	"github.com/vmdump/vmdump/internal/trafficgen/generator"
)

func main() {
	os.Exit(generator.Run("trafficgen", os.Args[1:], os.Stdout, os.Stderr))
}
