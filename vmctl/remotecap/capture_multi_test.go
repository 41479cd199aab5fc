package remotecap

import (
	"errors"
	"strings"
	"testing"
)

func TestMultiStartError(t *testing.T) {
	c := "VM default"
	s := CaptureSpec{Interface: "veth9"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("cannot open an SSH session on VM default: ssh: rejected: administratively prohibited (open failed)"),
			"VM default refused a session for interface veth9 after 10 others (sshd's MaxSessions): capture fewer interfaces at once, or raise MaxSessions in the VM's sshd_config"},
		{errors.New("interface name \"-x\" starts with '-': not a network interface"),
			"interface veth9: interface name \"-x\" starts with '-': not a network interface"},
	} {
		got := multiStartError(c, s, 10, tc.err).Error()
		if got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
		if strings.Contains(got, "\n") {
			t.Errorf("not one line: %q", got)
		}
	}
}
