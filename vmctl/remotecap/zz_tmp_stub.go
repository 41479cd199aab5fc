package remotecap

import "errors"

type Netns struct {
	PID  int
	Link string
}

var ErrNetnsGone = errors.New("gone")
