package install

import (
	"fmt"
	"io"
)

// WriteActions prints one line per action: the operation, the path, and why.
func WriteActions(w io.Writer, acts []Action) {
	if len(acts) == 0 {
		fmt.Fprintln(w, "nothing to do")
		return
	}
	for _, a := range acts {
		if a.Why != "" {
			fmt.Fprintf(w, "%-10s %s  (%s)\n", a.Op, a.Path, a.Why)
		} else {
			fmt.Fprintf(w, "%-10s %s\n", a.Op, a.Path)
		}
	}
}
