package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The demo and its tests moved to package demo; the doctor tests still
// write their fixtures with this helper, which the demo tests had.

// writeDemoTestFile writes s to p, creating p's folders.
func writeDemoTestFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
