package extcap

import "io"

// Interface is one Wireshark interface offered by vmdump (one per VM NIC).
// Value is the name Wireshark passes back in every later call
// (--extcap-interface); it must be unique among all extcaps. Display is the
// human description shown by tshark -D and the GUI.
type Interface struct {
	Value, Display string
}

// ToolbarControl is a `control` sentence: a widget in Wireshark's interface
// toolbar (GUI only, reference §2.7). Type is boolean, button, selector or
// string; Role (buttons only) is control, logger, help or restore. Values are
// the entries of a selector.
type ToolbarControl struct {
	Number      int
	Type        string
	Role        string
	Display     string
	Tooltip     string
	Placeholder string
	Validation  string
	Default     string
	Required    bool
	Values      []Value
}

// WriteInterfaces answers --extcap-interfaces: the extcap sentence first
// (Wireshark applies its help URL only to interfaces listed after it), then
// one interface sentence per interface, then the toolbar controls.
// toolbarTitle, when set, is the display of the extcap sentence: the title of
// the toolbar in View → Interface Toolbars.
func WriteInterfaces(w io.Writer, version, helpURL, toolbarTitle string, ifaces []Interface, controls []ToolbarControl) error {
	var out lines
	if version != "" || helpURL != "" || toolbarTitle != "" {
		out.add(newSentence("extcap").optText("version", version).optText("help", helpURL).optText("display", toolbarTitle))
	}
	for _, i := range ifaces {
		out.add(newSentence("interface").text("value", i.Value).text("display", i.Display))
	}
	for _, c := range controls {
		if err := regexSafe(c.Validation); err != nil {
			return err
		}
		s := newSentence("control").number("number", c.Number).text("type", c.Type).
			optText("role", c.Role).text("display", c.Display).
			optText("tooltip", c.Tooltip).optText("placeholder", c.Placeholder)
		if c.Validation != "" {
			s.raw("validation", c.Validation)
		}
		s.optText("default", c.Default).flag("required", c.Required)
		out.add(s)
		for _, v := range c.Values {
			out.add(valueSentence("control", c.Number, v))
		}
	}
	return out.writeTo(w)
}
