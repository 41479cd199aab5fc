package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGCForCapture(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	for _, tc := range []struct {
		gogc string
		want int
	}{{"", captureGCPercent}, {"50", 100}, {"off", 100}} {
		debug.SetGCPercent(100)
		t.Setenv("GOGC", tc.gogc)
		tuneGCForCapture()
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("GOGC=%q: GC percent %d, want %d", tc.gogc, got, tc.want)
		}
	}
}
