package discover

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vmdump/vmdump/vmctl/hostenv"
)

const discTestRootlessNote = `note="rootless containerd (Lima default): container bridges live in RootlessKit's network namespace, not on the VM's interfaces"`

// discWantListing is, per fixture home, the exact listing Discover must return:
// order, IDs, endpoints, states, keys, notes and skip reasons.
var discWantListing = map[string][]string{
	"full": {
		"vmdump_b2d_boot2docker_vm boot2docker/boot2docker-vm unknown docker@127.0.0.1:2022 lo=true if=eth1 keys=@TMP@/home/.ssh/id_boot2docker",
		"vmdump_dm_cloud docker-machine/cloud unknown ubuntu@203.0.113.10:22 lo=false if=eth0 keys=@TMP@/home/.ssh/id_ed25519,@TMP@/home/.docker/machine/machines/cloud/id_rsa",
		"vmdump_dm_default docker-machine/default unknown docker@127.0.0.1:58145 lo=true if=eth1 keys=@TMP@/home/.docker/machine/machines/default/id_rsa",
		"vmdump_colima_default colima/default running u@127.0.0.1:51022 lo=true if=eth0 keys=@TMP@/home/.colima/_lima/_config/user",
		"vmdump_rd_0 rancher-desktop/0 stopped u@127.0.0.1:53099 lo=true if=eth0 keys=@TMP@/home/.local/share/rancher-desktop/lima/_config/user",
		"vmdump_lima_default lima/default running u@127.0.0.1:60022 lo=true if=eth0 keys=@TMP@/home/.lima/_config/user " + discTestRootlessNote,
		`vmdump_lima_docker lima/docker stopped u@127.0.0.1:49321 lo=true if=eth0 keys=@TMP@/home/.lima/_config/user note="rootless Docker: container bridges live in RootlessKit's network namespace, not on the VM's interfaces"`,
		`vmdump_podman_podman_machine_default podman/podman-machine-default unknown core@127.0.0.1:41867 lo=true if=eth0 keys=@TMP@/home/.local/share/containers/podman/machine/machine note="rootless: containers use pasta, so their traffic has no bridge or veth in the VM to capture on"`,
		"vmdump_mk_minikube minikube/minikube running docker@127.0.0.1:39517 lo=true if=eth0 keys=@TMP@/home/.minikube/machines/minikube/id_rsa",
		`vmdump_vagrant_web_default vagrant/web/default unknown vagrant@127.0.0.1:2200 lo=true if=eth0 keys=@TMP@/projects/web/.vagrant/machines/default/virtualbox/private_key note="state not checked; vagrant last saw it running"`,
		`vmdump_orb_default orbstack/default unknown default@127.0.0.1:32222 lo=true if=eth0 keys=@TMP@/home/.orbstack/ssh/id_ed25519 note="machine selected by SSH user"`,
		"vmdump_cfg_build_box config/build-box unknown ubuntu@192.0.2.20:22 lo=false if=ens5 keys=@TMP@/home/.ssh/id_ed25519",
	},
	"darwin": {
		"vmdump_rd_0 rancher-desktop/0 running u@127.0.0.1:54011 lo=true if=eth0 keys=@TMP@/home/Library/Application Support/rancher-desktop/lima/_config/user",
		"vmdump_lima_default lima/default running u@127.0.0.1:60022 lo=true if=eth0 keys=@TMP@/home/.lima/_config/user",
		"vmdump_podman_podman_machine_default podman/podman-machine-default unknown core@127.0.0.1:50123 lo=true if=eth0 keys=@TMP@/home/.local/share/containers/podman/machine/machine",
		`vmdump_podman_podman_machine_defa_2653c6 podman/podman-machine-default (libkrun) unknown core@127.0.0.1:50124 lo=true if=eth0 keys=@TMP@/home/.local/share/containers/podman/machine/machine note="rootless: containers use pasta, so their traffic has no bridge or veth in the VM to capture on"`,
		`vmdump_mk_minikube minikube/minikube unknown - lo=true if=eth0 keys=@TMP@/home/.minikube/machines/minikube/id_rsa note="docker driver: SSH port is only known to Docker (not on disk)"`,
		`vmdump_mp_primary multipass/primary unknown multipass exec primary -- lo=false if= keys=- note="instance list is root-only: assumed Multipass's default instance; for another, add [[vm]] transport = \"multipass\" to config.toml"`,
		`vmdump_dd_desktop_linux docker-desktop/desktop-linux unknown docker --context desktop-linux run --rm -i --net=host --privileged --log-driver=none nicolaka/netshoot lo=false if= keys=- note="through a privileged container of image nicolaka/netshoot (another: [[vm_transport]] image in config.toml)"`,
		"vmdump_cfg_lab config/lab unknown root@localhost:2222 lo=true if= keys=-",
	},
	"windows": {
		"vmdump_rd_rancher_desktop rancher-desktop/rancher-desktop unknown - lo=false if= keys=- note=\"WSL distro, no SSH: capture needs a WSL transport (`wsl -d rancher-desktop`)\"",
		`vmdump_podman_podman_machine_default podman/podman-machine-default unknown user@127.0.0.1:55123 lo=true if=eth0 keys=C:\Users\u\.local\share\containers\podman\machine\machine note="rootless: containers use pasta, so their traffic has no bridge or veth in the VM to capture on"`,
		`vmdump_mp_primary multipass/primary unknown multipass exec primary -- lo=false if= keys=- note="instance list is root-only: assumed Multipass's default instance; for another, add [[vm]] transport = \"multipass\" to config.toml"`,
		`vmdump_dd_desktop_linux docker-desktop/desktop-linux unknown docker --context desktop-linux run --rm -i --net=host --privileged --log-driver=none nicolaka/netshoot lo=false if= keys=- note="through a privileged container of image nicolaka/netshoot (another: [[vm_transport]] image in config.toml)"`,
		`vmdump_cfg_nas config/nas unknown admin@192.168.1.10:22 lo=false if= keys=C:\Users\u\.ssh\id_ed25519`,
	},
	"envvars": {
		"vmdump_b2d_boot2docker_vm boot2docker/boot2docker-vm unknown docker@127.0.0.1:2022 lo=true if=eth1 keys=@TMP@/home/.ssh/id_boot2docker",
		"vmdump_dm_hv docker-machine/hv unknown docker@172.20.1.5:22 lo=false if=eth0 keys=@TMP@/dm/machines/hv/id_rsa",
		"vmdump_colima_work colima/work stopped u@127.0.0.1:50001 lo=true if=eth0 keys=@TMP@/limahome/_config/user",
		"vmdump_rd_0 rancher-desktop/0 stopped u@127.0.0.1:53100 lo=true if=eth0 keys=@TMP@/xdgdata/rancher-desktop/lima/_config/user",
		"vmdump_lima_dev lima/dev stopped u@127.0.0.1:50002 lo=true if=eth0 keys=@TMP@/limahome/_config/user",
		"vmdump_podman_m1 podman/m1 unknown core@127.0.0.1:44001 lo=true if=eth0 keys=@TMP@/xdgdata/containers/podman/machine/machine",
		"vmdump_mk_minikube minikube/minikube unknown docker@192.168.39.10:22 lo=false if=eth0 keys=@TMP@/mk/.minikube/machines/minikube/id_rsa",
		"vmdump_vagrant_proj_default vagrant/proj/default unknown - lo=false if= keys=@TMP@/proj/.vagrant/machines/default/libvirt/private_key note=\"state not checked; vagrant last saw it running; provider libvirt: the SSH address is known only to `vagrant ssh-config`\"",
		"vmdump_cfg_pinned config/pinned unknown 10.0.0.9:22 lo=true if= keys=-",
		"vmdump_ctx_docker_host docker-context/DOCKER_HOST unknown deploy@198.51.100.7:2222 lo=false if= keys=- alias",
		"vmdump_ctx_remote_builder docker-context/remote-builder unknown builder@build.example.com lo=false if= keys=- alias",
	},
	"refs": {
		"vmdump_colima_default colima/default running u@127.0.0.1:51022 lo=true if=eth0 keys=@TMP@/home/.colima/_lima/_config/user",
		`vmdump_ctx_evil docker-context/evil unknown - lo=false if= keys=- skip="host \"-oProxyCommand=evil\" starts with '-' (would be read as an ssh option)"`,
		"vmdump_ctx_remote docker-context/remote unknown deploy@build.example.com:2222 lo=false if= keys=- alias",
		"vmdump_ssh_bastion ssh/bastion unknown bastion lo=false if= keys=- alias",
		"vmdump_ssh_db ssh/db unknown db lo=false if= keys=- alias",
		`vmdump_ssh_oproxycommand_evil ssh/oProxyCommand=evil unknown - lo=false if= keys=- skip="name \"-oProxyCommand=evil\" starts with '-'"`,
		"vmdump_ssh_web1 ssh/web1 unknown web1 lo=false if= keys=- alias",
		"vmdump_ssh_web2 ssh/web2 unknown web2 lo=false if= keys=- alias",
	},
	"broken": {
		`vmdump_b2d_boot2docker_vm boot2docker/boot2docker-vm unknown docker@127.0.0.1:2022 lo=true if=eth1 keys=@TMP@/home/.ssh/id_boot2docker skip="profile is not valid TOML (line 2: expected a top-level item to end with a newline, comment, or EOF, but got '2' instead)"`,
		`vmdump_dm_badjson docker-machine/badjson unknown - lo=false if= keys=- skip="config.json is not valid JSON (byte 63: invalid character ',' looking for beginning of object key string)"`,
		`vmdump_dm_dirinstead docker-machine/dirinstead unknown - lo=false if= keys=- skip="config.json is a directory, not a file"`,
		`vmdump_dm_empty docker-machine/empty unknown - lo=false if= keys=- skip="config.json is empty"`,
		`vmdump_dm_nocfg docker-machine/nocfg unknown - lo=false if= keys=- skip="config.json is missing (machine half created or half deleted?)"`,
		`vmdump_dm_nodriver docker-machine/nodriver unknown - lo=false if= keys=- skip="driver \"none\" has no SSH (the machine is only a Docker URL)"`,
		`vmdump_dm_noip docker-machine/noip unknown - lo=false if=eth0 keys=@TMP@/home/.docker/machine/machines/noip/id_rsa skip="config.json has no IPAddress (driver \"amazonec2\"; was the machine ever started?)"`,
		`vmdump_dm_typeerr docker-machine/typeerr unknown - lo=false if= keys=- skip="config.json: field Driver.SSHPort holds a string, expected int"`,
		`vmdump_lima_badport lima/badport stopped - lo=true if=eth0 keys=- ` + discTestRootlessNote + ` skip="ssh.config has Port \"99999\", not a TCP port"`,
		`vmdump_lima_emptyssh lima/emptyssh stopped - lo=true if=eth0 keys=- ` + discTestRootlessNote + ` skip="ssh.config is empty"`,
		`vmdump_lima_garbagepid lima/garbagepid stopped u@127.0.0.1:50011 lo=true if=eth0 keys=@TMP@/home/.lima/_config/user ` + discTestRootlessNote,
		`vmdump_lima_halfbroken lima/halfbroken unknown u@127.0.0.1:50012 lo=true if=eth0 keys=@TMP@/home/.lima/_config/user ` + discTestRootlessNote,
		`vmdump_lima_noport lima/noport stopped - lo=true if=eth0 keys=- ` + discTestRootlessNote + ` skip="ssh.config has no Port"`,
		"vmdump_lima_nossh lima/nossh stopped - lo=true if=eth0 keys=- " + discTestRootlessNote + " skip=\"never started: ssh.config is missing (it is written at the first `limactl start nossh`)\"",
		`vmdump_lima_sshdir lima/sshdir stopped - lo=true if=eth0 keys=- ` + discTestRootlessNote + ` skip="ssh.config is a directory, not a file"`,
		`vmdump_lima_stale lima/stale stopped u@127.0.0.1:50010 lo=true if=eth0 keys=@TMP@/home/.lima/_config/user ` + discTestRootlessNote,
		`vmdump_podman_bad podman/bad unknown - lo=false if=eth0 keys=- skip="bad.json is not valid JSON (byte 33: unexpected end of JSON input)"`,
		`vmdump_podman_dir podman/dir unknown - lo=false if=eth0 keys=- skip="dir.json is a directory, not a file"`,
		`vmdump_podman_empty podman/empty unknown - lo=false if=eth0 keys=- skip="empty.json is empty"`,
		`vmdump_podman_noport podman/noport unknown core@127.0.0.1 lo=true if=eth0 keys=@TMP@/home/.local/share/containers/podman/machine/machine note="rootless: containers use pasta, so their traffic has no bridge or veth in the VM to capture on" skip="noport.json has no SSH port (SSH.Port, or Port for Podman 4)"`,
		`vmdump_mk_kic minikube/kic unknown - lo=true if=eth0 keys=@TMP@/home/.minikube/machines/kic/id_rsa note="docker driver: SSH port is only known to Docker (not on disk)"`,
		`vmdump_mk_truncated minikube/truncated unknown - lo=false if=eth0 keys=- skip="config.json is not valid JSON (byte 300: unexpected end of JSON input)"`,
		"vmdump_vagrant_gone_default vagrant/gone/default unknown - lo=false if= keys=- note=\"state not checked; vagrant last saw it poweroff\" skip=\"project data is gone (@TMP@/gone/.vagrant/machines/default/virtualbox); `vagrant global-status --prune` forgets it\"",
		`vmdump_vagrant_gone2_etc vagrant/gone2/../../etc unknown - lo=false if= keys=- skip="index entry has a name or provider that is not a plain file name"`,
		`vmdump_cfg_bad_hostkey config/bad-hostkey unknown - lo=false if= keys=- skip="[[vm]] #8: host_key \"trust-me\" is neither \"known_hosts\" nor \"pin\""`,
		`vmdump_cfg_bad_iface config/bad-iface unknown - lo=false if= keys=- skip="[[vm]] #9: interface \"eth0;id\" contains \";\", not allowed in an interface name"`,
		`vmdump_cfg_bad_key config/bad-key unknown - lo=false if= keys=- skip="[[vm]] #10: key \"/tmp/a\\nb\" contains a NUL or line break"`,
		`vmdump_cfg_bad_port config/bad-port unknown - lo=false if= keys=- skip="[[vm]] #7: port 70000 is not a TCP port"`,
		`vmdump_cfg_host_with_port config/host-with-port unknown - lo=false if= keys=- skip="[[vm]] #11: host \"192.0.2.9:22\" contains ':' but is not an IPv6 address (give the port separately)"`,
		`vmdump_cfg_line_break config/line_break unknown - lo=false if= keys=- skip="[[vm]] #4: name \"line\\nbreak\" contains a line break; VM names may hold letters of any script, digits, spaces and punctuation except ; $ ` + "`" + ` | & < > \" ' \\ { } * ? ! #"`,
		`vmdump_cfg_no_host config/no-host unknown - lo=false if= keys=- skip="[[vm]] #12: host is missing"`,
		"vmdump_cfg_ok config/ok unknown 192.0.2.1:22 lo=false if= keys=-",
		`vmdump_cfg_ok_6 config/ok (6) unknown - lo=false if= keys=- skip="another [[vm]] already uses the name \"ok\"; names must be unique"`,
		`vmdump_cfg_opt_host config/opt-host unknown - lo=false if= keys=- skip="[[vm]] #2: host \"-oProxyCommand=touch /tmp/pwned\" starts with '-' (would be read as an ssh option)"`,
		`vmdump_cfg_semicolon_user config/semicolon-user unknown - lo=false if= keys=- skip="[[vm]] #3: user \"root;reboot\" contains \";\", not allowed in a user name"`,
		`vmdump_cfg_subshell config/subshell unknown - lo=false if= keys=- skip="[[vm]] #5: host \"$(id)\" contains \"$\", not allowed in a host name"`,
	},
	"badconfig": {
		`vmdump_cfg_config_toml config/config.toml unknown - lo=false if= keys=- skip="@TMP@/home/.config/vmdump/config.toml: line 5: strings cannot contain newlines; fix the file"`,
	},
	"nohome": {
		"vmdump_lima_solo lima/solo stopped u@127.0.0.1:50100 lo=true if=eth0 keys=@TMP@/lima/_config/user",
	},
}

func TestDiscoverFixtures(t *testing.T) {
	for name := range discFixtureCases {
		if _, ok := discWantListing[name]; !ok {
			t.Errorf("fixture %s has no expected listing", name)
		}
	}
	for name, want := range discWantListing {
		t.Run(name, func(t *testing.T) {
			f := discLoadFixture(t, name)
			vms := Discover(f.env)
			var got []string
			for _, vm := range vms {
				got = append(got, f.describe(vm))
			}
			for i := 0; i < len(got) || i < len(want); i++ {
				g, w := "(none)", "(none)"
				if i < len(got) {
					g = got[i]
				}
				if i < len(want) {
					w = want[i]
				}
				if g != w {
					t.Errorf("VM %d:\n got %s\nwant %s", i, g, w)
				}
			}
		})
	}
}

// The "full" home is the one of the benchmark: 12 VMs from 10 managers.
func TestDiscoverFullHomeShape(t *testing.T) {
	vms := Discover(discLoadFixture(t, "full").env)
	managers := map[string]bool{}
	for _, vm := range vms {
		managers[vm.Manager] = true
		if !vm.Capturable() {
			t.Errorf("%s is not capturable in the full home", vm.ID)
		}
	}
	if len(vms) != 12 || len(managers) != 10 {
		t.Errorf("full home: %d VMs from %d managers, want 12 from 10", len(vms), len(managers))
	}
}

var discTestValidID = regexp.MustCompile(`^vmdump_[a-z0-9_]+$`)

func TestDiscoverIDsAreValidUniqueAndStable(t *testing.T) {
	for name := range discFixtureCases {
		t.Run(name, func(t *testing.T) {
			f := discLoadFixture(t, name)
			first := Discover(f.env)
			second := Discover(f.env)
			seen := map[string]bool{}
			for i, vm := range first {
				if !discTestValidID.MatchString(vm.ID) || len(vm.ID) > discIDMaxLen || strings.Contains(vm.ID, "__") {
					t.Errorf("bad ID %q", vm.ID)
				}
				if seen[vm.ID] {
					t.Errorf("duplicate ID %q", vm.ID)
				}
				seen[vm.ID] = true
				if i >= len(second) || second[i].ID != vm.ID {
					t.Errorf("ID %q not stable across runs", vm.ID)
				}
				if got, ok := Lookup(first, vm.ID); !ok || got.Name != vm.Name || got.Manager != vm.Manager {
					t.Errorf("Lookup(%q) = %v, %v", vm.ID, got.Name, ok)
				}
			}
			if _, ok := Lookup(first, "vmdump_nope"); ok {
				t.Error("Lookup found an ID that does not exist")
			}
		})
	}
}

func TestDiscoverLogsWhatItCannotList(t *testing.T) {
	for _, c := range []struct{ fixture, want string }{
		{"refs", "Docker context not readable"},
		{"refs", "same VM found twice; keeping the first"},
		{"broken", "not a Lima instance (no lima.yaml)"},
		{"badconfig", "config.toml is not usable"},
	} {
		f := discLoadFixture(t, c.fixture)
		Discover(f.env)
		if !strings.Contains(f.log.String(), c.want) {
			t.Errorf("%s: log lacks %q:\n%s", c.fixture, c.want, f.log.String())
		}
	}
}

func BenchmarkDiscover(b *testing.B) {
	f := discLoadFixture(b, "full")
	b.ResetTimer()
	for b.Loop() {
		if vms := Discover(f.env); len(vms) != 12 {
			b.Fatalf("%d VMs", len(vms))
		}
	}
}

// ~/.ssh/config's hosts are listed only when config.toml turns them on.
func TestProviderSSHConfigHostsNeedOptIn(t *testing.T) {
	for _, on := range []bool{false, true} {
		home := t.TempDir()
		for rel, content := range map[string]string{
			".ssh/config":                "Host a\n",
			".config/vmdump/config.toml": fmt.Sprintf("ssh_config_hosts = %v\n", on),
		} {
			p := filepath.Join(home, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		for _, vm := range Discover(hostenv.Env{Home: home, GOOS: "linux", Getenv: func(string) string { return "" }}) {
			if vm.Manager == "ssh" {
				n++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[on]; n != want {
			t.Errorf("ssh_config_hosts = %v: %d aliases listed, want %d", on, n, want)
		}
	}
}
