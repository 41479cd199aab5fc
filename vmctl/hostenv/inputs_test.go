package hostenv

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestInputsRecordAndRoundTrip(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a")
	os.WriteFile(file, []byte("x"), 0o600)
	vars := map[string]string{"LIMA_HOME": "/l"}
	env := Env{Getenv: func(k string) string { return vars[k] }, ProcessAlive: func(pid int) bool { return pid == 7 }}
	in := RecordInputs(env, func(env Env) {
		env.ReadFile(file, 10)
		env.Exists(filepath.Join(dir, "missing"))
		env.Subdirs(dir)
		env.Var("LIMA_HOME")
		env.alive(7)
		env.alive(8)
		env.ReadFile(file, 10) // twice: one fact
	})
	// Reads through another Env (another listing at the same time) are
	// not this record's.
	env.ReadFile(filepath.Join(dir, "elsewhere"), 10)
	if !in.Checkable() || len(in.facts) != 6 {
		t.Fatalf("checkable %v, %d facts: %+v", in.Checkable(), len(in.facts), in.facts)
	}
	if !in.Unchanged(env) {
		t.Fatal("nothing changed, yet Unchanged is false")
	}
	back, rest, err := parseInputs(append(in.appendTo(nil), "tail"...))
	if err != nil || string(rest) != "tail" || !reflect.DeepEqual(back.facts, in.facts) {
		t.Fatalf("round trip: %v, rest %q, facts %+v", err, rest, back.facts)
	}
	vars["LIMA_HOME"] = "/m"
	if back.Unchanged(env) {
		t.Fatal("a variable changed, yet Unchanged is true")
	}
	vars["LIMA_HOME"] = "/l"
	os.WriteFile(filepath.Join(dir, "missing"), nil, 0o600)
	if back.Unchanged(env) {
		t.Fatal("a missing file appeared, yet Unchanged is true")
	}
}

func TestInputsOutsideRecordingCostNothing(t *testing.T) {
	var env Env
	if env.rec != nil {
		t.Fatal("a recording is active")
	}
	env.noteStat("/x", nil, os.ErrNotExist) // must not panic or record
}

func TestInputsGlobAboveLastElementIsNotCheckable(t *testing.T) {
	in := RecordInputs(Env{}, func(env Env) { env.NoteGlob("/home/u/.ssh/*/config") })
	if in.Checkable() {
		t.Fatal("a glob over directories was taken as checkable")
	}
	in = RecordInputs(Env{}, func(env Env) { env.NoteGlob(filepath.Join(t.TempDir(), "*.conf")) })
	if !in.Checkable() {
		t.Fatal("a glob in one directory is checkable by that directory's stat")
	}
}

func FuzzParseInputs(f *testing.F) {
	f.Add([]byte("2\nf3:/ab1:-v4:HOME2:/h"))
	f.Add([]byte("1\np2:121:1rest"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, rest, err := parseInputs(data)
		if err != nil {
			return
		}
		again, rest2, err := parseInputs(append(in.appendTo(nil), rest...))
		if err != nil || string(rest2) != string(rest) || !reflect.DeepEqual(again.facts, in.facts) {
			t.Fatalf("re-encoding changed the record: %v", err)
		}
	})
}
