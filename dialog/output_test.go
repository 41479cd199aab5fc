package dialog

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/vmdump/vmdump/extcap"
	"github.com/vmdump/vmdump/internal/pcaptest"
)

// The lines after the remote interface arg, the same in both dialogs.
var dialogTail = []string{
	"arg {number=1}{call=--payload-only}{display=Packets to capture}{type=selector}{tooltip=On: drop TCP segments that carry no data (bare ACKs, SYNs, FINs). Without a capture filter only TCP data is captured; with one, everything else it matches (UDP, ICMP, ARP...) still arrives. Off: every packet}{required=false}{group=Capture}",
	"value {arg=1}{value=on}{display=Drop TCP segments without data}{default=true}",
	"value {arg=1}{value=off}{display=All packets}",
	"arg {number=2}{call=--snaplen}{display=Snapshot length}{type=unsigned}{tooltip=Bytes kept of each packet (0 = whole packets)}{default=0}{range=0,262144}{required=false}{group=Capture}",
	"arg {number=3}{call=--remote-priv}{display=Capture privileges}{type=selector}{tooltip=How tcpdump gets capture rights in the VM; sudo never prompts for a password}{required=false}{group=Capture}",
	"value {arg=3}{value=auto}{display=Automatic: sudo -n when not root}{default=true}",
	"value {arg=3}{value=none}{display=None: run tcpdump as the SSH user}",
	"value {arg=3}{value=sudo}{display=Always sudo -n}",
	"arg {number=4}{call=--reconnect}{display=Link loss}{type=selector}{tooltip=What to do when the SSH connection to the VM drops}{required=false}{group=Capture}",
	"value {arg=4}{value=off}{display=Stop when the link is lost}{default=true}",
	"value {arg=4}{value=on}{display=Reconnect after link loss}",
	"arg {number=14}{call=--capture-tool}{display=Capture program}{type=selector}{tooltip=What captures in the VM: its tcpdump, or vmdump's own capture agent (uploaded for the capture and removed after)}{required=false}{group=Capture}",
	"value {arg=14}{value=auto}{display=Automatic: tcpdump, or vmdump's agent when the VM has none}{default=true}",
	"value {arg=14}{value=tcpdump}{display=tcpdump only}",
	"value {arg=14}{value=agent}{display=vmdump's capture agent}",
	"arg {number=15}{call=--install-tcpdump}{display=Missing tcpdump}{type=selector}{tooltip=When the VM has no tcpdump: install it with the VM's package manager before capturing (never prompts; bounded time)}{required=false}{group=Capture}",
	"value {arg=15}{value=off}{display=Say how to install it}{default=true}",
	"value {arg=15}{value=on}{display=Install it with the VM's package manager}",
	"", // ssh-user
	"", // ssh-port
	"arg {number=7}{call=--ssh-key}{display=SSH private key}{type=fileselect}{tooltip=Private key file (default: the VM manager's key, then your SSH agent and ~/.ssh keys)}{required=false}{mustexist=true}{group=SSH}",
	"arg {number=8}{call=--ssh-password}{display=SSH password}{type=password}{tooltip=Password, used only when no key works (never saved by Wireshark)}{required=false}{group=SSH}",
	"arg {number=9}{call=--ssh-key-passphrase}{display=SSH key passphrase}{type=password}{tooltip=Passphrase of the private key (never saved by Wireshark)}{required=false}{group=SSH}",
	"arg {number=10}{call=--host-key-policy}{display=Host key check}{type=selector}{tooltip=Whether an unknown VM host key is refused or trusted on first use}{required=false}{group=SSH}",
	"value {arg=10}{value=strict}{display=Strict: the host key must already be known}{default=true}",
	"value {arg=10}{value=accept-new}{display=Accept a new host key and remember it}",
	// Byte for byte Wireshark's extcap_config_debug() (reference §1.2).
	"arg {number=11}{call=--log-level}{display=Set the log level}{type=selector}{tooltip=Set the log level}{required=false}{group=Debug}",
	"value {arg=11}{value=message}{display=Message}{default=true}",
	"value {arg=11}{value=info}{display=Info}",
	"value {arg=11}{value=debug}{display=Debug}",
	"value {arg=11}{value=noisy}{display=Noisy}",
	"arg {number=12}{call=--log-file}{display=Use a file for logging}{type=fileselect}{tooltip=Set a file where log messages are written}{required=false}{group=Debug}",
}

func dialogWant(head []string, user, port string) []string {
	tail := append([]string(nil), dialogTail...)
	tail[18] = "arg {number=5}{call=--ssh-user}{display=SSH user}{type=string}{tooltip=User to log in as (default: the one the VM manager configured)}" + user + "{required=false}{group=SSH}"
	tail[19] = "arg {number=6}{call=--ssh-port}{display=SSH port}{type=unsigned}{tooltip=SSH port of the VM (default: the one the VM manager configured)}" + port + "{range=1,65535}{required=false}{group=SSH}"
	return append(head, tail...)
}

// A VM reached through a local command gets no SSH tab; every other arg
// keeps its number.
func TestDialogWithoutSSH(t *testing.T) {
	with, without := Args(Defaults{RemoteInterface: "eth0"}), Args(Defaults{RemoteInterface: "eth0", NoSSH: true})
	var want []extcap.Arg
	for _, a := range with {
		if a.Group != GroupSSH {
			want = append(want, a)
		}
	}
	if len(want) == len(with) || !reflect.DeepEqual(without, want) {
		t.Fatalf("NoSSH dialog:\n%+v\nwant\n%+v", without, want)
	}
}

func TestWriteConfigGolden(t *testing.T) {
	tests := []struct {
		name string
		d    Defaults
		want []string
	}{
		{
			name: "no inventory",
			d:    Defaults{RemoteInterface: "eth1", User: "docker", Port: 2222},
			want: dialogWant([]string{
				"arg {number=0}{call=--remote-interface}{display=Interface in the VM}{type=string}{tooltip=Network interface inside the VM to capture on}{default=eth1}{required=false}{group=Capture}",
			}, "{placeholder=docker}", "{placeholder=2222}"),
		},
		{
			name: "nothing known",
			d:    Defaults{},
			want: dialogWant([]string{
				"arg {number=0}{call=--remote-interface}{display=Interface in the VM}{type=string}{tooltip=Network interface inside the VM to capture on}{required=false}{group=Capture}",
			}, "", ""),
		},
		{
			name: "inventory",
			d: Defaults{RemoteInterface: "eth1", RemoteInterfaces: []extcap.Value{
				{Value: "eth0", Display: "eth0 (NAT)", Default: true}, {Value: "eth1", Display: "eth1 {host-only}"},
			}},
			want: dialogWant([]string{
				"arg {number=0}{call=--remote-interface}{display=Interface in the VM}{type=selector}{tooltip=Network interface inside the VM to capture on}{placeholder=Reload interfaces}{required=false}{reload=true}{group=Capture}",
				"value {arg=0}{value=eth0}{display=eth0 (NAT)}",
				"value {arg=0}{value=eth1}{display=eth1 (host-only)}{default=true}",
			}, "", ""),
		},
		{
			name: "inventory without the natural interface",
			d:    Defaults{RemoteInterface: "enp0s8", RemoteInterfaces: []extcap.Value{{Value: "lo", Display: "lo"}}, Port: 22},
			want: dialogWant([]string{
				"arg {number=0}{call=--remote-interface}{display=Interface in the VM}{type=selector}{tooltip=Network interface inside the VM to capture on}{placeholder=Reload interfaces}{required=false}{reload=true}{group=Capture}",
				"value {arg=0}{value=enp0s8}{display=enp0s8}{default=true}",
				"value {arg=0}{value=lo}{display=lo}",
			}, "", "{placeholder=22}"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := extcap.WriteConfig(&b, Args(tt.d)); err != nil {
				t.Fatal(err)
			}
			pcaptest.Golden(t, b.String(), tt.want)
		})
	}
}

func TestWriteValuesGolden(t *testing.T) {
	var b bytes.Buffer
	d := Defaults{RemoteInterface: "eth1", RemoteInterfaces: []extcap.Value{{Value: "eth0"}, {Value: "eth1", Display: "eth1 (host-only)"}, {Value: "docker0"}}}
	if err := extcap.WriteValues(&b, ArgRemoteInterface, RemoteInterfaceValues(d)); err != nil {
		t.Fatal(err)
	}
	pcaptest.Golden(t, b.String(), []string{
		"value {arg=0}{value=eth0}{display=eth0}",
		"value {arg=0}{value=eth1}{display=eth1 (host-only)}{default=true}",
		"value {arg=0}{value=docker0}{display=docker0}",
	})
}
