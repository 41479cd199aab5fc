package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/vmdump/vmdump/dialog"
	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/vmctl/hostenv"
)

// helpURL is what Wireshark's Help button in the options dialog opens.
const helpURL = "https://github.com/vmdump/vmdump#readme"

// toolbarTitle names vmdump's toolbar in Wireshark's View → Interface
// Toolbars menu (the display of the extcap sentence).
const toolbarTitle = "vmdump"

// runExtcap answers one call from Wireshark. Probes (interfaces, config,
// dlts) only read local files: Wireshark runs them at every start with no
// timeout. A non-zero exit makes Wireshark throw the whole answer away, so
// probes exit 0 whenever they produced something useful.
func runExtcap(argv []string, stdout, stderr io.Writer) int {
	var o dialog.Options
	a, err := extcap.ParseArgs(argv, &o)
	if err != nil {
		fmt.Fprintln(stderr, "vmdump:", err)
		return 1
	}
	log, closeLog := openLog(o)
	defer closeLog()
	log.Debug("called by Wireshark", "args", a, "options", o)
	env := hostenv.HostEnv(log)

	// One file per action: action_<mode>.go.
	switch a.Mode() {
	case extcap.ModeInterfaces:
		return interfacesAction(a, env, stdout, stderr)
	case extcap.ModeDLTs:
		return dltsAction(stdout, stderr)
	case extcap.ModeConfig:
		return configAction(a, env, stdout, stderr)
	case extcap.ModeReload:
		return reloadAction(a, o, env, log, stdout, stderr)
	case extcap.ModeFilterCheck:
		return filterCheckAction(a, stdout)
	case extcap.ModeCapture:
		return captureAction(a, o, env, log, stderr)
	case extcap.ModeCleanup:
		return cleanupAction()
	}
	fmt.Fprintln(stderr, "vmdump: nothing to do; run `vmdump help`")
	return 1
}

// exitStatus turns a probe's write error into its exit status.
func exitStatus(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintln(stderr, "vmdump:", err)
		return 1
	}
	return 0
}

// openLog returns the logger the user chose in the dialog's Debug group. Logs
// never go to stderr: Wireshark shows stderr as an error.
func openLog(o dialog.Options) (*slog.Logger, func()) {
	file := o.LogFile
	if file == "" {
		return slog.New(slog.DiscardHandler), func() {}
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return slog.New(slog.DiscardHandler), func() {}
	}
	lv, _ := o.LogLevelValue() // an invalid level is Validate's to report
	h := slog.NewTextHandler(f, &slog.HandlerOptions{Level: lv})
	return slog.New(h).With("pid", os.Getpid()), func() { f.Close() }
}
