package extcap

import (
	"fmt"
	"io"
	"strings"
)

// Arg is one `arg` sentence: an option in Wireshark's options dialog for an
// interface (reference §2.5). Call is the literal option ("--snaplen"); Type
// is one of argTypes. Default on a selector is ignored by Wireshark: mark the
// default Value instead. Save nil leaves Wireshark's default (true).
type Arg struct {
	Number      int
	Call        string
	Display     string
	Type        string
	Tooltip     string
	Placeholder string
	Default     string
	Group       string
	Range       string
	Validation  string
	Required    bool
	Reload      bool
	MustExist   bool
	Save        *bool
	Values      []Value
}

// Value is one `value` sentence: an entry of a selector, radio or multicheck
// arg (or of a toolbar selector). Enabled matters only for multicheck, where
// Wireshark 4.0 makes an entry checkable only with {enabled=true}.
type Value struct {
	Value, Display, Parent string
	Default, Enabled       bool
}

// argTypes are the types Wireshark's parser accepts; any other type makes it
// drop the arg (reference §2.5). editselector exists only from 4.2/4.4 on.
var argTypes = map[string]bool{
	"integer": true, "unsigned": true, "long": true, "double": true,
	"string": true, "password": true, "boolean": true, "boolflag": true,
	"selector": true, "editselector": true, "radio": true, "multicheck": true,
	"fileselect": true, "timestamp": true,
}

// WriteConfig answers --extcap-config: each arg sentence followed by its
// value sentences. It refuses args that Wireshark would silently drop
// (missing call/display, unknown type, range without a comma, duplicate
// number), so such mistakes show up in tests rather than as a missing option.
//
// {required=...} is always written, which makes the Debug args byte-identical
// to those of Wireshark's own extcaps.
func WriteConfig(w io.Writer, args []Arg) error {
	var out lines
	seen := make(map[int]bool, len(args))
	for _, a := range args {
		if err := checkArg(a, seen); err != nil {
			return err
		}
		s := newSentence("arg").number("number", a.Number).text("call", a.Call).
			text("display", a.Display).text("type", a.Type).
			optText("tooltip", a.Tooltip).optText("placeholder", a.Placeholder).
			optText("default", a.Default).optText("range", a.Range)
		if a.Validation != "" {
			s.raw("validation", a.Validation)
		}
		s.boolean("required", a.Required).flag("mustexist", a.MustExist).flag("reload", a.Reload)
		if a.Save != nil {
			s.boolean("save", *a.Save)
		}
		s.optText("group", a.Group)
		out.add(s)
		for i, v := range a.Values {
			if v.Value == "" {
				return fmt.Errorf("value %d of arg %s is empty", i, a.Call)
			}
			out.add(valueSentence("arg", a.Number, v))
		}
	}
	return out.writeTo(w)
}

func checkArg(a Arg, seen map[int]bool) error {
	switch {
	case seen[a.Number]:
		return fmt.Errorf("arg number %d used twice (%s)", a.Number, a.Call)
	case sanitize(a.Call) == "" || sanitize(a.Display) == "":
		return fmt.Errorf("arg %d needs both call and display", a.Number)
	case !argTypes[a.Type]:
		return fmt.Errorf("arg %s has type %q, which Wireshark does not know", a.Call, a.Type)
	case a.Range != "" && !strings.Contains(a.Range, ","):
		return fmt.Errorf("arg %s has range %q without a comma; Wireshark would drop the arg", a.Call, a.Range)
	}
	seen[a.Number] = true
	return regexSafe(a.Validation)
}

// WriteValues answers --extcap-reload-option: only the value sentences of
// the reloaded arg (reference §2.6).
func WriteValues(w io.Writer, argNumber int, values []Value) error {
	var out lines
	for i, v := range values {
		if v.Value == "" {
			return fmt.Errorf("value %d of arg %d is empty", i, argNumber)
		}
		out.add(valueSentence("arg", argNumber, v))
	}
	return out.writeTo(w)
}

// valueSentence writes "value {arg=N}..." (owner "arg") or
// "value {control=N}..." (owner "control"). An empty Display falls back to
// the value, since Wireshark drops a value sentence without display.
func valueSentence(owner string, n int, v Value) *sentence {
	display := v.Display
	if sanitize(display) == "" {
		display = v.Value
	}
	return newSentence("value").number(owner, n).text("value", v.Value).text("display", display).
		flag("default", v.Default).flag("enabled", v.Enabled).optText("parent", v.Parent)
}
