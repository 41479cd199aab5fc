package extcap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
)

func TestIsReaderGone(t *testing.T) {
	if IsReaderGone(nil) || IsReaderGone(errors.New("other")) || IsReaderGone(io.EOF) {
		t.Error("IsReaderGone true for an unrelated error")
	}
	if !IsReaderGone(fmt.Errorf("x: %w", os.ErrClosed)) {
		t.Error("IsReaderGone false for os.ErrClosed")
	}
}
