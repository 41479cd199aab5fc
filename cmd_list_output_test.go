package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl"
)

func TestWriteTable(t *testing.T) {
	vms := []vmctl.VM{
		{ID: "vmdump_lima_default", Manager: "lima", Name: "default", State: vmctl.Running, Host: "127.0.0.1", Port: 60022,
			User: "u", KeyFiles: []string{"/k1", "/k2"}, Note: "rootless"},
		{ID: "vmdump_dm_bad", Manager: "docker-machine", Name: "bad", State: vmctl.Unknown, Skip: "config.json is empty"},
		{ID: "vmdump_ssh_x", Manager: "ssh", Name: "x", State: vmctl.Unknown, Host: "x", SSHAlias: true, Note: "a\tb\nc"},
		{ID: "vmdump_cfg_v6", Manager: "config", Name: "v6", State: vmctl.Unknown, Host: "::1", Port: 22},
	}
	var buf bytes.Buffer
	if err := writeTable(&buf, vms); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, want := range [][]string{
		{"ID", "MANAGER", "NAME", "STATE", "ENDPOINT", "KEY", "NOTE/SKIPPED"},
		{"vmdump_lima_default", "lima", "default", "running", "u@127.0.0.1:60022", "/k1", "(+1)", "rootless"},
		{"vmdump_dm_bad", "docker-machine", "bad", "unknown", "-", "-", "SKIPPED:", "config.json", "is", "empty"},
		{"vmdump_ssh_x", "ssh", "x", "unknown", "x", "-", "a", "b", "c"},
		{"vmdump_cfg_v6", "config", "v6", "unknown", "[::1]:22", "-", "-"},
	} {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("line %d = %q, want fields %q", i, lines[i], want)
		}
	}
	// Columns line up: every row has its ENDPOINT where the header has it.
	col := strings.Index(lines[0], "ENDPOINT")
	if !strings.HasPrefix(lines[1][col:], "u@127.0.0.1:60022") {
		t.Errorf("columns not aligned:\n%s", buf.String())
	}
}

func TestTableAsJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, nil); err != nil || strings.TrimSpace(buf.String()) != "[]" {
		t.Fatalf("empty listing = %q, %v", buf.String(), err)
	}
	buf.Reset()
	in := []vmctl.VM{{ID: "vmdump_orb_default", Manager: "orbstack", Name: "default", State: vmctl.Unknown, Host: "127.0.0.1",
		Port: 32222, User: "default", KeyFiles: []string{"/k"}, Loopback: true, Note: "n"}}
	if err := writeJSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	var out []vmctl.VM
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].ID != in[0].ID || out[0].Port != 32222 || !out[0].Loopback || out[0].KeyFiles[0] != "/k" {
		t.Errorf("round trip: %+v", out)
	}
	if !strings.Contains(buf.String(), `"state": "unknown"`) || strings.Contains(buf.String(), `"skip"`) {
		t.Errorf("unexpected JSON:\n%s", buf.String())
	}
}
