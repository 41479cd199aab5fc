package probe

import (
	"strings"

	"github.com/vmdump/vmdump/internal/shquote"
)

// inventoryScript runs after probeScript in the same shell (one exec, one
// round trip) and prints the VM's inventory as "inv.<key>=<value>" lines,
// which ParseProbe ignores and ParseInventory reads. Like probeScript it is
// POSIX sh for busybox ash, dash and bash, free of single quotes (it travels
// as one single-quoted word), one command per line (see shellOneLine).
//
// Why it is built this way:
//   - Interfaces come from sysfs, read with the shell's own read builtin (no
//     fork per file), because sysfs says the same on every distribution while
//     busybox ip and iproute2 differ (busybox prints no master and no state,
//     and names a peer in another namespace after whatever local interface
//     has its index). Only without a readable /sys/class/net does it fall
//     back to `ip -d -j link` (iproute2) and then `ip -o link` (busybox).
//   - Each interface's addresses come from `ip -o addr show`, whose one-line
//     form iproute2 and busybox share ("4: eth0    inet 10.0.2.15/24 ...");
//     the default routes from /proc/net/route and /proc/net/ipv6_route,
//     which every kernel has (busybox's ip route prints less). The lines
//     printed are "inv.addr=<ip's line>", "inv.route=<dev> <metric> <flags,
//     hex>" for IPv4 (Destination and Mask 00000000) and "inv.route6=<dev>
//     <metric, hex> <flags, hex>" for IPv6 (::/0). Both tell vmdump which
//     NIC to capture on when the user named none (DefaultNIC).
//   - The interfaces are printed before anything that asks a container
//     engine, and "inv.nics.end=1" marks the end of them: an engine that
//     hangs past vmdump's deadline still leaves a usable inventory.
//   - Every engine command runs under timeout(1) when there is one (GNU and
//     newer busybox take "timeout 3", older busybox "timeout -t 3"); the
//     namespace helper, which visits every container, gets 15 s.
//   - Each engine is asked twice at most (ps, then one inspect of all the
//     ids), never once per container. Podman's ps also names each
//     container's pod ("inv.cpod=podman <root|user> <short id> <pod>"),
//     which its inspect only knows by id. The inspect gives "inv.ctr=<engine> <root|user>
//     <pid> <fields>" lines in the form of the templates (tmplDocker), whose
//     free-form values are Go-quoted. Lines are printed with printf, not
//     echo: dash's echo would expand the quotes' backslashes.
//   - A container's interfaces are read from /proc/<pid>/root/sys/class/net:
//     the container's own sysfs mount belongs to its network namespace.
//     (nsenter -n with the VM's cat would read the VM's sysfs instead.) Its
//     addresses need the VM's ip inside its namespace (one nsenter per
//     container), as do its interfaces when it has no /sys. All of it
//     (nsHelper) runs in one shell for all containers, as root when vmdump
//     is privileged ("sudo -n" for a user with passwordless sudo), else as
//     the user for the user's own containers; a container sharing the VM's
//     namespace (--network host) is recognised by its /proc/<pid>/ns/net
//     link and not visited further.
//   - Engines as the login user are asked too: a rootless engine (Lima's
//     containerd, rootless Podman or Docker) is only visible there, and its
//     containers' interfaces live outside the VM's namespace. Docker as a
//     user of the docker group lists the root engine's containers again:
//     their namespaces are visited once.
var inventoryScript = `
echo inv.v=1
` + scriptPrivilege + `
if [ -n "$t" ]; then "$t" --version </dev/null 2>&1 | head -n 3 | while IFS= read -r l; do echo "inv.tcpdumpv=$l"; done; fi
if [ -n "$i" ]; then echo "inv.ip=$i"; echo "inv.ipv=$("$i" -V 2>&1 </dev/null | head -n 1)"; fi
for m in apk apt-get dnf yum microdnf zypper pacman tce-load opkg rpm-ostree; do if command -v $m >/dev/null 2>&1; then echo "inv.pkg=$m"; fi; done
` + scriptNICs + `
if [ "$n" = 0 ] && [ -n "$i" ]; then j=$("$i" -d -j link show 2>/dev/null | tr -d "\n"); case "$j" in "["*) echo "inv.ipjson=$j" ;; *) "$i" -o link show 2>/dev/null | while IFS= read -r l; do echo "inv.iplink=$l"; done ;; esac; fi
if [ -n "$i" ]; then "$i" -o addr show </dev/null 2>/dev/null | while IFS= read -r l; do echo "inv.addr=$l"; done; fi
if [ -r /proc/net/route ]; then while read -r x y z o a w k v b; do if [ "$y" = 00000000 ] && [ "$v" = 00000000 ]; then echo "inv.route=$x $k $o"; fi; done </proc/net/route; fi
if [ -r /proc/net/ipv6_route ]; then while read -r x y z o a w k v b e; do if [ "$x" = 00000000000000000000000000000000 ] && [ "$y" = 00 ]; then echo "inv.route6=$e $w $b"; fi; done </proc/net/ipv6_route; fi
echo inv.nics.end=1
for c in /var/run/docker.sock /run/podman/podman.sock /run/containerd/containerd.sock /run/user/*/docker.sock /run/user/*/podman/podman.sock /run/user/*/containerd-rootless; do if [ -e "$c" ]; then echo "inv.sock=$c"; fi; done
cat /proc/[0-9]*/comm 2>/dev/null | grep -x -e dockerd -e containerd -e rootlesskit -e slirp4netns -e pasta -e conmon -e podman | sort -u | while IFS= read -r l; do echo "inv.proc=$l"; done
C=
D=
` + scriptNSHelper + `
for g in docker podman nerdctl; do
h=$(command -v $g 2>/dev/null)
case "$h" in /*) ;; *) continue ;; esac
echo "inv.engine=$g $h"
` + scriptTemplate + `
R=1
for r in root user; do
if [ $r = root ] && [ $P = 0 ]; then continue; fi
if [ $r = user ] && [ "$u" = 0 ]; then continue; fi
E=$g
if [ $r = root ]; then E="$S $g"; fi
I=
if [ $g = docker ]; then I=$($T $E info --format "{{.SecurityOptions}}" </dev/null 2>&1 | head -n 1); echo "inv.einfo=$g $r $I"; fi
if [ $g = podman ]; then q=$($T $E ps --pod --format "{{.ID}} {{.PodName}}" </dev/null 2>&1); else q=$($T $E ps -q </dev/null 2>&1); fi
s=$?
if [ $r = root ]; then R=$s; fi
if [ $g = podman ]; then printf "%s\n" "$q" | grep -E "^[0-9a-f]{12,64} [^ ]" | while read -r x y; do printf "%s\n" "inv.cpod=$g $r $x $y"; done; q=$(printf "%s\n" "$q" | sed -E "s/^([0-9a-f]{12,64}) .*/\1/"); fi
echo "inv.eps=$g $r $s $(echo "$q" | grep -v -x -E "[0-9a-f]+" | head -n 1)"
q=$(echo "$q" | grep -x -E "[0-9a-f]+")
if [ -z "$q" ]; then continue; fi
q=$($T $E inspect -f "$F" $q </dev/null 2>/dev/null)
printf "%s\n" "$q" | while IFS= read -r l; do case "$l" in [0-9]*) printf "%s\n" "inv.ctr=$g $r $l" ;; esac; done
p=$(printf "%s\n" "$q" | while read -r p l; do echo "$p"; done)
if [ $r = root ]; then C="$C $p"; elif [ $g = docker ] && [ "$R" = 0 ]; then case "$I" in *rootless*) D="$D $p" ;; esac; else D="$D $p"; fi
done
done
if [ $P = 1 ]; then C="$C $D"; D=; fi
if [ -n "$C" ]; then $W $S sh -c "$H" sh "$i" - $C </dev/null 2>/dev/null; fi
if [ -n "$D" ]; then $W sh -c "$H" sh "$i" U $D </dev/null 2>/dev/null; fi
echo inv.end=1
`

// scriptPrivilege is the start of the inventory and of FindContainer's
// script: the login user's uid (u), whether vmdump is root or has
// passwordless sudo (P, and S the sudo prefix), the timeout(1) prefixes
// (T for one engine command, W for the namespace helper, which visits every
// container) and the ip command (i).
const scriptPrivilege = `u=$(id -u)
S=
P=0
if [ "$u" = 0 ]; then P=1; elif command -v sudo >/dev/null 2>&1 && sudo -n true </dev/null >/dev/null 2>&1; then P=1; S="sudo -n"; fi
T=
W=
if command -v timeout >/dev/null 2>&1; then if timeout 3 true >/dev/null 2>&1; then T="timeout 3"; W="timeout 15"; elif timeout -t 3 true >/dev/null 2>&1; then T="timeout -t 3"; W="timeout -t 15"; fi; fi
echo "inv.priv=$P"
i=$(command -v ip 2>/dev/null)`

// scriptNICs lists the VM's interfaces from sysfs (n counts them), with
// the shell's read builtin: no fork per file, so it stays cheap enough for
// FindContainer to repeat every second (it needs the VM's veths to name a
// container's peer).
const scriptNICs = `n=0
for d in /sys/class/net/*; do
if [ ! -r "$d/ifindex" ]; then continue; fi
n=$((n+1))
x=; y=; z=; o=; a=; w=; k=; v=; e=0; b=
read -r x <"$d/ifindex"
read -r y 2>/dev/null <"$d/iflink"
read -r z 2>/dev/null <"$d/type"
read -r o 2>/dev/null <"$d/operstate"
read -r a 2>/dev/null <"$d/address"
if [ -L "$d/master" ]; then w=$(readlink "$d/master"); w=${w##*/}; fi
if [ -d "$d/bridge" ]; then k=bridge; elif [ -d "$d/bonding" ]; then k=bond; elif [ -e "$d/tun_flags" ]; then k=tun; fi
if [ -r "$d/uevent" ]; then while IFS== read -r p q; do if [ "$p" = DEVTYPE ]; then v=$q; fi; done <"$d/uevent"; fi
if [ -e "$d/device" ]; then e=1; fi
for l in "$d"/lower_*; do if [ -e "$l" ]; then b=1; fi; done
echo "inv.nic=name=${d##*/} index=$x iflink=$y type=$z state=$o mac=$a master=$w kind=$k devtype=$v device=$e lower=$b"
done`

// nsHelper is a script of its own (sh -c "$H" sh IP MODE PID...), run
// once for all the containers, under sudo when vmdump is privileged: it
// prints the VM's namespace (inv.hostns) and, for each PID, its namespace
// (inv.ctrns), its interfaces (inv.ctrif <pid> <name> <ifindex> <iflink>
// <type>, or inv.ctrip <pid> <ip -o link line> without sysfs) and their
// addresses (inv.ctraddr <pid> <ip -o addr line>). A container in the VM's
// own namespace is skipped after its ns line: its interfaces are the VM's.
// MODE U enters the container's user namespace first, which is what lets an
// unprivileged user see inside their own rootless containers (util-linux
// nsenter). One nsenter per container is the price of its addresses: the
// container's sysfs lists interfaces but not addresses.
const nsHelper = `h=$(readlink /proc/self/ns/net)
echo "inv.hostns=$h"
i=${1:-ip}
m=$2
shift 2
e=
if command -v nsenter >/dev/null 2>&1; then e=1; fi
for p do
if [ "$p" -gt 0 ] 2>/dev/null; then
s=$(readlink /proc/$p/ns/net)
echo "inv.ctrns=$p $s"
if [ -z "$s" ] || [ "$s" = "$h" ]; then continue; fi
f=
for d in /proc/$p/root/sys/class/net/*; do if [ -r "$d/iflink" ]; then x=; y=; z=; read -r x <"$d/ifindex"; read -r y <"$d/iflink"; read -r z <"$d/type"; echo "inv.ctrif=$p ${d##*/} $x $y $z"; f=1; fi; done
if [ -n "$e" ]; then
N="nsenter -t $p -n"
if [ "$m" = U ]; then N="nsenter -t $p -U -n --preserve-credentials"; fi
if [ -z "$f" ]; then $N "$i" -o link show </dev/null 2>/dev/null | while IFS= read -r l; do echo "inv.ctrip=$p $l"; done; fi
$N "$i" -o addr show </dev/null 2>/dev/null | while IFS= read -r l; do echo "inv.ctraddr=$p $l"; done
fi
fi
done`

// scriptNSHelper puts nsHelper, as one line, into the variable H.
var scriptNSHelper = "H=" + shellDoubleQuote(shquote.OneLine(nsHelper))

// Container templates: one line per container for `inspect -f`. Every
// free-form value goes through printf "%q" (text/template's own, so every
// engine has it): a label holding spaces, quotes or newlines stays one
// Go-quoted token that ParseInventory unquotes, and nothing the VM's engine
// says can split a line or shift a field. The fields, after the PID: name,
// id, image, the compose project and service, the pod namespace and name
// (io.kubernetes labels), the network mode, then the engine's addresses as
// bare "addr/len" words (validated as addresses when read). A missing label
// is nil, not "", where the engine templates its JSON (Docker's CLI), hence
// "with" around each (inside "with .Labels", dot is the label map), and
// around Labels (index of a nil map is an error,
// which would lose every container of the inspect). nerdctl's inspect is only Docker-like, so its
// template uses no field it may lack: Config is guarded with "with", its
// network mode is left empty and it gives no addresses (the nsenter in
// nsHelper gives them).
const (
	tmplLabels = `{{with index . "com.docker.compose.project"}}{{printf "%q" .}}{{else}}""{{end}} ` +
		`{{with index . "com.docker.compose.service"}}{{printf "%q" .}}{{else}}""{{end}} ` +
		`{{with index . "io.kubernetes.pod.namespace"}}{{printf "%q" .}}{{else}}""{{end}} ` +
		`{{with index . "io.kubernetes.pod.name"}}{{printf "%q" .}}{{else}}""{{end}}`
	tmplLabelsGuarded = `{{with .Config}}{{with .Labels}}` + tmplLabels + `{{else}}"" "" "" ""{{end}}{{else}}"" "" "" ""{{end}}`
	tmplAddrs         = `{{range .NetworkSettings.Networks}} {{.IPAddress}}/{{.IPPrefixLen}} {{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}}{{end}}`
	tmplDocker        = `{{.State.Pid}} {{printf "%q" .Name}} {{printf "%q" .Id}} {{printf "%q" .Config.Image}} ` + tmplLabelsGuarded + ` {{printf "%q" .HostConfig.NetworkMode}}` + tmplAddrs
	// Podman's inspect struct calls the id ID (its JSON says "Id"): .Id
	// ends the template after the name (podman 4.3, measured).
	tmplPodman  = `{{.State.Pid}} {{printf "%q" .Name}} {{printf "%q" .ID}} {{printf "%q" .ImageName}} ` + tmplLabelsGuarded + ` {{printf "%q" .HostConfig.NetworkMode}}` + tmplAddrs
	tmplNerdctl = `{{.State.Pid}} {{printf "%q" .Name}} {{printf "%q" .Id}} {{printf "%q" .Image}} ` + tmplLabelsGuarded + ` ""`
)

// scriptTemplate sets F to engine $g's template.
var scriptTemplate = "case $g in docker) F=" + shellDoubleQuote(tmplDocker) + " ;; podman) F=" + shellDoubleQuote(tmplPodman) +
	" ;; *) F=" + shellDoubleQuote(tmplNerdctl) + " ;; esac"

// shellDoubleQuote makes s one double-quoted shell word: the scripts travel
// single-quoted, so their own quoting must be double quotes.
func shellDoubleQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	return `"` + r.Replace(s) + `"`
}

// inventoryCommand is the exec string that runs the probe and the inventory
// in one go: ParseProbe and ParseInventory both read its output.
func inventoryCommand() string {
	return "exec sh -c " + shquote.Quote(shquote.OneLine(ProbeScript+inventoryScript))
}
