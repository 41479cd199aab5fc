// Package dialog is vmdump's options dialog: the options Wireshark shows
// and passes back, their defaults and how they parse.
//
// Wireshark leaves out an option whose value equals the default it showed
// (reference §3), so the dialog and the parsing of Wireshark's argv come
// from the same tables: an option's advertised default is the value its
// accessor gives when the option is absent.
//
//	options.go          Options: the dialog's values as Wireshark passes them
//	                    (filled by extcap.ParseArgs), their accessors with the
//	                    defaults applied, Validate, LogValue; the Call names
//	dialog.go           Args: the dialog's arg sentences for one interface,
//	                    Defaults (the per-VM facts it shows), the Arg numbers,
//	                    the Group tabs, RemoteInterfaceValues (the reload reply)
//	more_interfaces.go  MoreInterfacesArg (the multicheck), InterfaceList
//
// The sentence types (Arg, Value) and their writing are package extcap's;
// extcap does not import this package.
package dialog
