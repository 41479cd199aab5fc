package probe

import "github.com/vmdump/vmdump/internal/shquote"

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
//     newer busybox take "timeout 3", older busybox "timeout -t 3").
//   - A container's interfaces are read from /proc/<pid>/root/sys/class/net:
//     the container's own sysfs mount belongs to its network namespace.
//     (nsenter -n with the VM's cat would read the VM's sysfs instead.) That
//     needs root, hence "sudo -n" for a user with passwordless sudo; a
//     container sharing the VM's namespace (--network host) is recognised by
//     its /proc/<pid>/ns/net link. Without /sys in the container it asks
//     the VM's ip inside the container's namespace.
//   - Engines as the login user are asked too: a rootless engine (Lima's
//     containerd, rootless Podman or Docker) is only visible there, and its
//     containers' interfaces live outside the VM's namespace.
const inventoryScript = `
echo inv.v=1
u=$(id -u)
S=
P=0
if [ "$u" = 0 ]; then P=1; elif command -v sudo >/dev/null 2>&1 && sudo -n true </dev/null >/dev/null 2>&1; then P=1; S="sudo -n"; fi
T=
if command -v timeout >/dev/null 2>&1; then if timeout 3 true >/dev/null 2>&1; then T="timeout 3"; elif timeout -t 3 true >/dev/null 2>&1; then T="timeout -t 3"; fi; fi
echo "inv.priv=$P"
if [ -n "$t" ]; then "$t" --version </dev/null 2>&1 | head -n 3 | while IFS= read -r l; do echo "inv.tcpdumpv=$l"; done; fi
i=$(command -v ip 2>/dev/null)
if [ -n "$i" ]; then echo "inv.ip=$i"; echo "inv.ipv=$("$i" -V 2>&1 </dev/null | head -n 1)"; fi
for m in apk apt-get dnf yum microdnf zypper pacman tce-load opkg rpm-ostree; do if command -v $m >/dev/null 2>&1; then echo "inv.pkg=$m"; fi; done
n=0
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
done
if [ "$n" = 0 ] && [ -n "$i" ]; then j=$("$i" -d -j link show 2>/dev/null | tr -d "\n"); case "$j" in "["*) echo "inv.ipjson=$j" ;; *) "$i" -o link show 2>/dev/null | while IFS= read -r l; do echo "inv.iplink=$l"; done ;; esac; fi
if [ -n "$i" ]; then "$i" -o addr show </dev/null 2>/dev/null | while IFS= read -r l; do echo "inv.addr=$l"; done; fi
if [ -r /proc/net/route ]; then while read -r x y z o a w k v b; do if [ "$y" = 00000000 ] && [ "$v" = 00000000 ]; then echo "inv.route=$x $k $o"; fi; done </proc/net/route; fi
if [ -r /proc/net/ipv6_route ]; then while read -r x y z o a w k v b e; do if [ "$x" = 00000000000000000000000000000000 ] && [ "$y" = 00 ]; then echo "inv.route6=$e $w $b"; fi; done </proc/net/ipv6_route; fi
echo inv.nics.end=1
for c in /var/run/docker.sock /run/podman/podman.sock /run/containerd/containerd.sock /run/user/*/docker.sock /run/user/*/podman/podman.sock /run/user/*/containerd-rootless; do if [ -e "$c" ]; then echo "inv.sock=$c"; fi; done
cat /proc/[0-9]*/comm 2>/dev/null | grep -x -e dockerd -e containerd -e rootlesskit -e slirp4netns -e pasta -e conmon -e podman | sort -u | while IFS= read -r l; do echo "inv.proc=$l"; done
C=
for g in docker podman nerdctl; do
h=$(command -v $g 2>/dev/null)
case "$h" in /*) ;; *) continue ;; esac
echo "inv.engine=$g $h"
case $g in docker) F="{{.State.Pid}} {{.Name}} {{.Id}} {{.Config.Image}}" ;; podman) F="{{.State.Pid}} {{.Name}} {{.Id}} {{.ImageName}}" ;; *) F="{{.State.Pid}} {{.Name}} {{.Id}} {{.Image}}" ;; esac
for r in root user; do
if [ $r = root ] && [ $P = 0 ]; then continue; fi
if [ $r = user ] && [ "$u" = 0 ]; then continue; fi
E=$g
if [ $r = root ]; then E="$S $g"; fi
if [ $g = docker ]; then echo "inv.einfo=$g $r $($T $E info --format "{{.SecurityOptions}}" </dev/null 2>&1 | head -n 1)"; fi
q=$($T $E ps -q </dev/null 2>&1)
s=$?
echo "inv.eps=$g $r $s $(echo "$q" | grep -v -x -E "[0-9a-f]+" | head -n 1)"
q=$(echo "$q" | grep -x -E "[0-9a-f]+")
if [ -z "$q" ]; then continue; fi
q=$($T $E inspect -f "$F" $q </dev/null 2>/dev/null)
echo "$q" | while IFS= read -r l; do if [ -n "$l" ]; then echo "inv.ctr=$g $r $l"; fi; done
if [ $r = root ]; then C="$C $(echo "$q" | while read -r p l; do echo "$p"; done)"; fi
done
done
if [ -n "$C" ]; then $T $S sh -c "echo \"inv.hostns=\$(readlink /proc/self/ns/net)\"; for p do if [ \"\$p\" -gt 0 ] 2>/dev/null; then echo \"inv.ctrns=\$p \$(readlink /proc/\$p/ns/net)\"; f=; for d in /proc/\$p/root/sys/class/net/*; do if [ -r \"\$d/iflink\" ]; then read -r x <\"\$d/ifindex\"; read -r y <\"\$d/iflink\"; echo \"inv.ctrif=\$p \${d##*/} \$x \$y\"; f=1; fi; done; if [ -z \"\$f\" ] && command -v nsenter >/dev/null 2>&1; then nsenter -t \$p -n ip -o link show 2>/dev/null | while IFS= read -r l; do echo \"inv.ctrip=\$p \$l\"; done; fi; fi; done" sh $C </dev/null 2>/dev/null; fi
echo inv.end=1
`

// inventoryCommand is the exec string that runs the probe and the inventory
// in one go: ParseProbe and ParseInventory both read its output.
func inventoryCommand() string {
	return "exec sh -c " + shquote.Quote(shquote.OneLine(ProbeScript+inventoryScript))
}
