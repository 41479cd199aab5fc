package hostenv

import (
	"bytes"
	"os"
	"path/filepath"
)

// A kept answer is something made from discovery (vmdump's answer to
// Wireshark's interface listing) saved in a file with the key it was made
// for and the Inputs it was made from, so that a later run can serve it
// again while those inputs hold.

// keptMagic starts a kept-answer file; the number changes with its format.
const keptMagic = "vmdump-kept 1\n"

// Kept is one kept answer as read back.
type Kept struct {
	Inputs *Inputs
	Answer []byte
}

// ReadKept reads the kept answer at path when the file is whole and was
// written for key. Whether the answer still holds is Inputs.Unchanged.
func ReadKept(path, key string) (Kept, bool) {
	data, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(data, []byte(keptMagic)) {
		return Kept{}, false
	}
	k, data, ok := cutField(data[len(keptMagic):])
	if !ok || string(k) != key {
		return Kept{}, false
	}
	in, data, err := parseInputs(data)
	if err != nil {
		return Kept{}, false
	}
	answer, rest, ok := cutField(data)
	if !ok || len(rest) != 0 {
		return Kept{}, false
	}
	return Kept{Inputs: in, Answer: answer}, true
}

// WriteKept saves answer with key and in at path, atomically (a rename),
// so that two vmdumps at once never read half a file.
func WriteKept(path, key string, in *Inputs, answer []byte) error {
	b := []byte(keptMagic)
	b = appendField(b, key)
	b = in.appendTo(b)
	b = appendField(b, string(answer))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kept-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}
