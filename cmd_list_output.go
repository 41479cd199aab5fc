package main

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vmdump/vmdump/internal/oneline"
	"github.com/vmdump/vmdump/vmctl"
)

// writeTable prints the listing of `vmdump list`: one line per VM, skipped
// ones included with their reason, so that a user can see why a VM is
// missing from Wireshark.
func writeTable(w io.Writer, vms []vmctl.VM) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if _, err := io.WriteString(tw, "ID\tMANAGER\tNAME\tSTATE\tENDPOINT\tKEY\tNOTE/SKIPPED\n"); err != nil {
		return err
	}
	for _, vm := range vms {
		note := vm.Note
		if vm.Skip != "" {
			note = "SKIPPED: " + vm.Skip
			if vm.Note != "" {
				note += " (" + vm.Note + ")"
			}
		}
		key := "-"
		if len(vm.KeyFiles) > 0 {
			key = vm.KeyFiles[0]
			if len(vm.KeyFiles) > 1 {
				key += " (+" + strconv.Itoa(len(vm.KeyFiles)-1) + ")"
			}
		}
		fields := []string{vm.ID, vm.Manager, vm.Name, string(vm.State), vm.Endpoint(), key, note}
		for i, f := range fields {
			fields[i] = tableCell(f)
		}
		if _, err := io.WriteString(tw, strings.Join(fields, "\t")+"\n"); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// tableCell keeps a value on one line and in its column.
func tableCell(s string) string {
	s = oneline.Untrusted(strings.ReplaceAll(s, "\t", " "))
	if s == "" {
		return "-"
	}
	return s
}

// writeJSON prints the VMs as a JSON array (`vmdump list --json`); an empty
// listing is [], not null.
func writeJSON(w io.Writer, vms []vmctl.VM) error {
	if vms == nil {
		vms = []vmctl.VM{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(vms)
}
