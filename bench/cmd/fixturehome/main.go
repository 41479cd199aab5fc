// Command fixturehome copies vmctl's 12-VM fixture home into a directory
// for P1's whole-process runs (bench/fixture) and prints the home to use as
// HOME. The pid given with -alive must outlive the runs: it stands for the
// VM processes of the managers that record one (the bench script's own).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vmdump/vmdump/bench/fixture"
)

func main() {
	dst := flag.String("o", "", "directory to copy into (required)")
	alive := flag.Int("alive", os.Getppid(), "a pid alive during the measurements")
	flag.Parse()
	if *dst == "" {
		flag.Usage()
		os.Exit(2)
	}
	root, err := fixture.ModuleRoot(".")
	if err == nil {
		var home string
		if home, err = fixture.Copy(filepath.Join(root, fixture.FullHome), *dst, *alive); err == nil {
			fmt.Println(home)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "fixturehome:", err)
	os.Exit(1)
}
