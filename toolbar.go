package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/vmdump/vmdump/extcap"
)

// Wireshark's interface toolbar for vmdump (View → Interface Toolbars):
// the status bar message, error messages and a log behind a button; the
// capture hears it as a capture.Notifier. Under tshark there is none, and
// every line still goes to vmdump's log.

// openToolbar opens the toolbar pipes when Wireshark passed them; without
// them (tshark) or when they fail, messages go nowhere.
func openToolbar(a extcap.Args, log *slog.Logger) *extcap.Control {
	ctrl, err := extcap.OpenControl(a.ControlOut, a.ControlIn)
	if err != nil {
		log.Warn("toolbar pipes not opened", "err", err)
		ctrl, _ = extcap.OpenControl("", "")
	}
	return ctrl
}

// toolbarLog adds a line to the toolbar's log, and to vmdump's own log:
// Wireshark drops the toolbar's lines when it rebuilds the toolbar (a local
// interface came or went), and tshark has no toolbar at all.
func toolbarLog(ctrl *extcap.Control, log *slog.Logger, msg string) {
	log.Info("toolbar", "line", msg)
	_ = ctrl.Send(0, extcap.CtrlAdd, []byte(msg+"\n"))
}

// errorsToToolbar is stderr that also shows what is written to it (fail's
// one line) as an error message in Wireshark's GUI, which shows stderr
// only once vmdump has exited.
func errorsToToolbar(ctrl *extcap.Control, stderr io.Writer) io.Writer {
	return toolbarStderr{w: stderr, ctrl: ctrl}
}

type toolbarStderr struct {
	w    io.Writer
	ctrl *extcap.Control
}

func (t toolbarStderr) Write(p []byte) (int, error) {
	if msg := strings.TrimSpace(strings.TrimPrefix(string(p), "vmdump: ")); msg != "" {
		_ = t.ctrl.ErrorMessage(msg)
	}
	return t.w.Write(p)
}

// toolbarNotifier is capture.Notifier over Wireshark's toolbar: the
// status bar, error messages and the toolbar's log (every line of which
// goes to vmdump's log too).
type toolbarNotifier struct {
	ctrl *extcap.Control
	log  *slog.Logger
}

func (t toolbarNotifier) Status(msg string) { _ = t.ctrl.StatusBar(msg) }
func (t toolbarNotifier) Error(msg string)  { _ = t.ctrl.ErrorMessage(msg) }
func (t toolbarNotifier) Log(msg string)    { toolbarLog(t.ctrl, t.log, msg) }
