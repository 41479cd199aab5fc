package extcap

import (
	"fmt"
	"io"
)

// DLT is one `dlt` sentence (reference §2.4). It is informational only: the
// link type Wireshark decodes with is the one in the stream's interface
// description block, which Pump copies from the remote pcap header.
type DLT struct {
	Number        int
	Name, Display string
}

// EthernetDLT is what vmdump advertises: VM NICs are Ethernet.
var EthernetDLT = DLT{Number: 1, Name: "EN10MB", Display: "Ethernet"}

// WriteDLTs answers --extcap-dlts.
func WriteDLTs(w io.Writer, dlt DLT) error {
	if dlt.Name == "" || dlt.Display == "" {
		return fmt.Errorf("dlt %d needs a name and a display", dlt.Number)
	}
	var out lines
	out.add(newSentence("dlt").number("number", dlt.Number).text("name", dlt.Name).text("display", dlt.Display))
	return out.writeTo(w)
}
