package extcap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// Toolbar control commands (reference §9).
const (
	CtrlInitialized = 0 // GUI → extcap, after the initial values
	CtrlSet         = 1
	CtrlAdd         = 2
	CtrlRemove      = 3
	CtrlEnable      = 4
	CtrlDisable     = 5
	CtrlStatusbar   = 6
	CtrlInformation = 7
	CtrlWarning     = 8
	CtrlError       = 9
)

// maxControlText is the longest string payload Wireshark accepts.
const maxControlText = 32767

// ControlMessage is one message the GUI sent on the control-in pipe.
type ControlMessage struct {
	Number  byte // the control's {number=}
	Command byte // Ctrl*
	Payload []byte
}

// Control is the pair of toolbar pipes Wireshark's GUI passes on capture
// (--extcap-control-out to write, --extcap-control-in to read; the names are
// crossed on Wireshark's side). tshark never passes them. Methods are safe
// for concurrent use.
type Control struct {
	mu       sync.Mutex
	out      io.WriteCloser
	in       io.ReadCloser
	closed   bool
	received chan ControlMessage
	done     chan struct{}
}

// OpenControl opens the toolbar pipes; either path may be empty. The in pipe
// is opened and read in a goroutine started first, because the GUI's main
// thread blocks opening its end until vmdump opens this one; the out pipe
// is opened here and blocks until the GUI reads it (it does so at once, in a
// thread). Messages from the GUI are available on Received.
func OpenControl(outPath, inPath string) (*Control, error) {
	c := newControl(nil, nil)
	if inPath != "" {
		go func() {
			f, err := os.Open(inPath)
			if err != nil {
				close(c.done)
				return
			}
			if !c.setIn(f) {
				f.Close()
				close(c.done)
				return
			}
			c.read(f)
		}()
	} else {
		close(c.done)
	}
	if outPath != "" {
		f, err := os.OpenFile(outPath, os.O_WRONLY, 0)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("cannot open Wireshark's toolbar pipe: %w", err)
		}
		c.mu.Lock()
		c.out = f
		c.mu.Unlock()
	}
	return c, nil
}

// newControl wraps already open pipes; in, if not nil, is read at once.
func newControl(out io.WriteCloser, in io.ReadCloser) *Control {
	c := &Control{out: out, received: make(chan ControlMessage, 16), done: make(chan struct{})}
	if in != nil {
		c.in = in
		go c.read(in)
	}
	return c
}

func (c *Control) setIn(f io.ReadCloser) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.in = f
	return true
}

// read parses messages until the pipe ends. They are offered on Received
// and dropped when nobody keeps up: the GUI must never block on this pipe.
func (c *Control) read(in io.Reader) {
	defer close(c.done)
	br := bufio.NewReader(in)
	for {
		m, err := readControlMessage(br)
		if err != nil {
			io.Copy(io.Discard, br) // unframed input: keep the pipe drained
			return
		}
		select {
		case c.received <- m:
		default:
		}
	}
}

// Received delivers the GUI's messages (Set, Initialized, button presses).
// It is never closed; drop-in readers need not drain it.
func (c *Control) Received() <-chan ControlMessage { return c.received }

func readControlMessage(r io.Reader) (ControlMessage, error) {
	var h [6]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return ControlMessage{}, err
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if h[0] != 'T' || n < 2 {
		return ControlMessage{}, fmt.Errorf("control pipe: bad frame % x", h[:4])
	}
	m := ControlMessage{Number: h[4], Command: h[5], Payload: make([]byte, n-2)}
	if _, err := io.ReadFull(r, m.Payload); err != nil {
		return ControlMessage{}, err
	}
	return m, nil
}

// Send writes one framed message: 'T', the 24-bit big-endian length of the
// payload plus 2, the control number, the command, the payload.
func (c *Control) Send(number, command byte, payload []byte) error {
	if len(payload) > 0xFFFF {
		return fmt.Errorf("control message of %d bytes is too long", len(payload))
	}
	frame := make([]byte, 6, 6+len(payload))
	frame[0] = 'T'
	n := uint32(len(payload) + 2)
	frame[1], frame[2], frame[3] = byte(n>>16), byte(n>>8), byte(n)
	frame[4], frame[5] = number, command
	frame = append(frame, payload...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return os.ErrClosed
	}
	if c.out == nil {
		return nil // no toolbar: nothing to tell
	}
	if _, err := c.out.Write(frame); err != nil {
		return fmt.Errorf("writing Wireshark's toolbar pipe: %w", err)
	}
	return nil
}

// StatusBar shows msg in Wireshark's status bar.
func (c *Control) StatusBar(msg string) error {
	return c.Send(0, CtrlStatusbar, controlText(msg))
}

// ErrorMessage shows msg in an error dialog.
func (c *Control) ErrorMessage(msg string) error {
	return c.Send(0, CtrlError, controlText(msg))
}

// controlText is msg as valid UTF-8 of at most maxControlText bytes.
func controlText(msg string) []byte {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) > maxControlText {
		msg = msg[:maxControlText]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
	}
	return []byte(msg)
}

// Close closes both pipes and waits for the reader to stop; an in pipe still
// being opened is closed as soon as the open returns.
func (c *Control) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	var errs []error
	if c.out != nil {
		errs = append(errs, c.out.Close())
	}
	in := c.in
	c.mu.Unlock()
	if in != nil {
		errs = append(errs, in.Close())
		<-c.done
	}
	return errors.Join(errs...)
}
