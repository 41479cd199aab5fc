package lazyre

import "testing"

func TestNewCompilesOnceOnFirstUse(t *testing.T) {
	re := New(`^vm(\d+)$`)
	first := re()
	if m := first.FindStringSubmatch("vm42"); m == nil || m[1] != "42" {
		t.Fatalf("match %q", m)
	}
	if re() != first {
		t.Fatal("compiled twice")
	}
}

func TestNewPanicsOnlyWhenUsed(t *testing.T) {
	re := New(`(`) // no panic yet
	defer func() {
		if recover() == nil {
			t.Fatal("a bad expression did not panic at first use")
		}
	}()
	re()
}
