// Command mkpcap writes a large classic pcap file of same-size Ethernet/
// IPv4/UDP frames for the bulk-throughput benchmark (BENCHMARKS.md, P4; see
// bench/pcapgen), and prints the number of packets written.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vmdump/vmdump/bench/pcapgen"
)

func main() {
	out := flag.String("o", "", "output file (required)")
	sizeMB := flag.Int("mb", 1024, "file size in MiB (whole packets, at most this)")
	frameLen := flag.Int("len", 1500, "frame length in bytes (at least 42)")
	flag.Parse()
	if *out == "" || *sizeMB <= 0 || *frameLen < 42 || *frameLen > 262144 {
		flag.Usage()
		os.Exit(2)
	}
	n, err := write(*out, int64(*sizeMB)<<20, *frameLen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkpcap:", err)
		os.Exit(1)
	}
	fmt.Println(n)
}

func write(path string, size int64, frameLen int) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := pcapgen.Write(f, size, frameLen)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}
