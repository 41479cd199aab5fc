#!/usr/bin/env bash
# bench/run.sh — measures vmdump's figures P1–P7 (BENCHMARKS.md), each
# against its baseline IN THE SAME RUN, and prints one table of medians and
# ratios. Linux, root (it builds a lab VM: a network namespace with sshd,
# tcpdump and traffic; see internal/lab). P7 needs no lab, only tshark.
#
#   bench/run.sh [P6_MINUTES]         default 10
#
# Knobs (environment): RUNS (P2–P4 runs per tool, default 5), P1_RUNS (20),
# P3_SECONDS (seconds per P3 run, 20), P4_MB (bulk file size in MiB, 1024),
# P2_RATE (messages/s during P2, 100), P6_RATE (messages/s during the long
# capture, 1000), P7_RUNS (`tshark -D` runs per home, 10), P7_CALL_RUNS
# (runs per single extcap call, 20), ONLY (e.g. "p1 p4": run only these;
# `ONLY=p7 bench/run.sh` runs just P7, in about 3 minutes), OUT (directory
# for the raw results; default a new /tmp/vmdump-bench.* directory).
#
# Not part of .ci/run: it takes about 12 minutes plus P6_MINUTES.
set -euo pipefail

P6_MINUTES=${1:-${P6_MINUTES:-10}}
RUNS=${RUNS:-5}
P1_RUNS=${P1_RUNS:-20}
P3_SECONDS=${P3_SECONDS:-20}
P4_MB=${P4_MB:-1024}
P2_RATE=${P2_RATE:-100}
P6_RATE=${P6_RATE:-1000}
P7_RUNS=${P7_RUNS:-10}
P7_CALL_RUNS=${P7_CALL_RUNS:-20}
ONLY=${ONLY:-p1 p2 p3 p4 p5 p6 p7}
SSHDUMP=${SSHDUMP:-/usr/lib/x86_64-linux-gnu/wireshark/extcap/sshdump}

die() { echo "bench/run.sh: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

[[ $(uname -s) == Linux ]] || die "Linux only (the lab is a network namespace)"
[[ $(id -u) == 0 ]] || die "run as root (the lab needs network namespaces and sshd)"
for t in go ssh tcpdump sshd; do
	if want p2 || want p3 || want p4 || want p6 || [[ $t == go ]]; then
		command -v "$t" >/dev/null || die "$t is not installed"
	fi
done
if want p7; then
	for t in tshark strace; do command -v "$t" >/dev/null || die "$t is not installed (P7)"; done
fi
[[ -x $SSHDUMP ]] || die "sshdump not found at $SSHDUMP (apt-get install wireshark-common, or set SSHDUMP)"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
work=$(mktemp -d /var/tmp/vmdump-bench.XXXXXX)
chmod 755 "$work" # the lab user reads the bulk file from here
OUT=${OUT:-$(mktemp -d /tmp/vmdump-bench-results.XXXXXX)}
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
GOBENCH=$OUT/gobench.txt
: >"$RESULTS"
: >"$GOBENCH"
BIN=$work/bin
labpid= # labctl's pid and stdin, copied: bash unsets LAB_PID once it exits
labin=

cleanup() {
	local code=$?
	trap - EXIT INT TERM
	if [[ -n $labpid ]] && kill -0 "$labpid" 2>/dev/null; then
		note "closing the lab"
		echo quit >&"$labin" 2>/dev/null || kill -TERM "$labpid" 2>/dev/null || true
		for _ in $(seq 60); do kill -0 "$labpid" 2>/dev/null || break; sleep 0.5; done
		if kill -0 "$labpid" 2>/dev/null; then kill -TERM "$labpid" 2>/dev/null || true; fi
		wait "$labpid" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note "building vmdump and the bench tools"
# The revision measured is the one built now (the tree may change during the run).
rev="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
started=$(date -u +%Y-%m-%dT%H:%MZ)
mkdir -p "$BIN"
CGO_ENABLED=0 go build -o "$BIN/vmdump" . # as the README builds it
for t in labctl fifolat proctime fixturehome fixtureinv replayextcap mkpcap benchtable hello depsfloor; do
	CGO_ENABLED=0 go build -o "$BIN/$t" "./bench/cmd/$t"
done

# Round-robin: the order of the tools rotates every round, so that a noisy
# moment or a warm cache favours none of them.
rotate() { # rotate ROUND WORD... → the words, rotated by ROUND
	local r=$1; shift
	local a=("$@") n=$#
	for ((i = 0; i < n; i++)); do echo "${a[(i + r) % n]}"; done
}

# ---------------------------------------------------------------- P1, P5
if want p1; then
	note "P1: --extcap-interfaces, whole process (n=$P1_RUNS)"
	home=$("$BIN/fixturehome" -o "$work/fixture" -alive $$)
	got=$(env -i PATH="$PATH" HOME="$home" "$BIN/vmdump" --extcap-interfaces | grep -c '^interface ' || true)
	((got >= 12)) || die "vmdump lists $got interfaces in the fixture home, want 12"
	"$BIN/proctime" -metric p1 -n "$P1_RUNS" -home "$home" \
		-cmd "vmdump=$BIN/vmdump --extcap-interfaces" \
		-cmd "vmdump-cold=VMDUMP_CACHE_DIR=/dev/null/nocache $BIN/vmdump --extcap-interfaces" \
		-cmd "sshdump=$SSHDUMP --extcap-interfaces" \
		-cmd "go-hello=$BIN/hello" \
		-cmd "deps-floor=$BIN/depsfloor" \
		-cmd "vmdump-dlts=$BIN/vmdump --extcap-interface x --extcap-dlts" >>"$RESULTS"
	note "P1: in-process Go benchmark"
	go test -run '^$' -bench 'ExtcapInterfaces' -benchtime 300x -count 5 . >>"$GOBENCH"
fi
if want p5; then
	note "P5: pcap→pcapng Go benchmarks"
	go test -run '^$' -bench 'Pump|IOCopy' -benchtime 1s -count 5 -cpu 1 ./pcapng/ >>"$GOBENCH"
fi

# -------------------------------------------------------------------- P7
# Wireshark runs every extcap with --extcap-interfaces, then once more per
# interface it listed with --extcap-config, at every start and interface
# refresh; `tshark -D` does the same. Three homes, the same global extcaps
# (sshdump and the others of the Wireshark package) in each: the 12-VM
# fixture whose running VMs have cached inventories giving 60 NIC and
# container interfaces, a home whose one VM runs 300 containers, and a
# home without vmdump (the baseline). vmdump goes into the first two with
# `vmdump install`, as a user installs it.
if want p7; then
	note "P7: fixture homes with cached inventories, vmdump installed"
	p7=$work/p7
	home12=$("$BIN/fixturehome" -o "$p7/vms12" -alive $$)
	"$BIN/fixtureinv" -home "$home12" -spread 60 >"$p7/vms12.inventories"
	home300=$p7/c300/home
	mkdir -p "$home300/.config/vmdump"
	cat >"$home300/.config/vmdump/config.toml" <<-EOF
		# vmdump configuration
		ssh_config_hosts = false

		[[vm]]
		name = "dockerhost"
		host = "192.0.2.30"
		user = "debian"
		key = "~/.ssh/id_ed25519"
	EOF
	"$BIN/fixtureinv" -home "$home300" -containers 300 >"$p7/c300.inventories"
	# The 12-VM home again with a shorter list (config.toml's
	# list_interfaces): containers only, and VMs only.
	for short in containers vms; do
		h=$("$BIN/fixturehome" -o "$p7/vms12-$short" -alive $$)
		"$BIN/fixtureinv" -home "$h" -spread 60 >/dev/null
		cfg=$h/.config/vmdump/config.toml
		mkdir -p "${cfg%/*}"
		{ echo "list_interfaces = \"$short\""; cat "$cfg" 2>/dev/null || true; } >"$cfg.new" && mv "$cfg.new" "$cfg"
		printf -v "home12_$short" %s "$h"
	done
	homebase=$p7/base/home
	mkdir -p "$homebase"
	inhome() { # inhome HOME COMMAND...: as Wireshark would run it for that user
		local h=$1; shift
		env -i PATH="$PATH" HOME="$h" "$@"
	}
	ext=.config/wireshark/extcap/vmdump # the personal extcap folder of Wireshark ≥ 3.x on Linux
	for h in "$home12" "$home300" "$home12_containers" "$home12_vms"; do
		# install checks its work with tshark, within 5 s: not a failure
		# of the installation when tshark takes longer (the 300-container home).
		inhome "$h" "$BIN/vmdump" install >"$p7/install.out" 2>&1 || true
		[[ -x $h/$ext ]] || die "vmdump install put no vmdump into $h/$ext: $(cat "$p7/install.out")"
	done
	want_ifaces() { # want_ifaces HOME N: vmdump and tshark -D both list N vmdump interfaces
		local got
		got=$(inhome "$1" "$1/$ext" --extcap-interfaces | grep -c '^interface ' || true)
		((got == $2)) || die "vmdump lists $got interfaces in $1, want $2"
		got=$(inhome "$1" tshark -D 2>/dev/null | grep -c '\. vmdump_' || true)
		((got == $2)) || die "tshark -D lists $got vmdump interfaces in $1, want $2"
	}
	want_ifaces "$home12" 72                # 12 VMs + 60 NICs and containers
	want_ifaces "$home12_containers" $((12 + 30)) # 12 VMs + 3 containers on each of the 10 running ones
	want_ifaces "$home12_vms" 12
	want_ifaces "$home300" 4 # the VM, lo, eth0, docker0: the containers and their veths are in the VM's Container selector
	got=$(inhome "$homebase" tshark -D 2>/dev/null | grep -c '\. vmdump_' || true)
	((got == 0)) || die "the baseline home lists vmdump"
	# The floors: replayextcap instead of vmdump, answering what vmdump
	# answered in that home, doing nothing else. What is left above a
	# floor is vmdump's own work; the floor above the baseline is what
	# Wireshark itself spends on that many interfaces (and that much
	# output). floor12-empty: the same interfaces, every --extcap-config
	# answer empty (the cost of their number alone).
	for f in floor12:"$home12":0:72 floor12-empty:"$home12":0:72:-empty-config floor300:"$home300":0:4; do
		IFS=: read -r name src keep n empty <<<"$f"
		fh=$p7/$name/home
		mkdir -p "$fh/.config/wireshark/extcap"
		cp "$BIN/replayextcap" "$fh/.config/wireshark/extcap/"
		inhome "$src" "$BIN/replayextcap" -record "$fh/.cache/replayextcap" -extcap "$src/$ext" -keep "$keep" ${empty:+"$empty"} >/dev/null
		got=$(inhome "$fh" tshark -D 2>/dev/null | grep -c '\. vmdump_' || true)
		((got == n)) || die "tshark -D lists $got vmdump interfaces in $fh, want $n"
		printf -v "home_${name//-/_}" %s "$fh"
	done

	note "P7: tshark -D, whole process, three homes round-robin (n=$P7_RUNS)"
	"$BIN/proctime" -metric p7_tshark -n "$P7_RUNS" -warmup 2 -home "$homebase" \
		-cmd "base=tshark -D" \
		-cmd "vms12=HOME=$home12 tshark -D" \
		-cmd "vms12-containers=HOME=$home12_containers tshark -D" \
		-cmd "vms12-vms=HOME=$home12_vms tshark -D" \
		-cmd "c300=HOME=$home300 tshark -D" \
		-cmd "floor12=HOME=$home_floor12 tshark -D" \
		-cmd "floor12-empty=HOME=$home_floor12_empty tshark -D" \
		-cmd "floor300=HOME=$home_floor300 tshark -D" >>"$RESULTS"

	note "P7: how often tshark -D runs vmdump"
	for h in base:"$homebase" vms12:"$home12" vms12-containers:"$home12_containers" vms12-vms:"$home12_vms" c300:"$home300"; do
		inhome "${h#*:}" strace -f -qq -e trace=execve -o "$p7/execve.${h%%:*}" tshark -D >/dev/null 2>&1
		printf 'p7_execs\t%s\t%s\n' "${h%%:*}" "$(grep -c '^[0-9]* *execve("[^"]*/vmdump"' "$p7/execve.${h%%:*}" || true)" >>"$RESULTS"
		printf 'p7_configs\t%s\t%s\n' "${h%%:*}" "$(grep '^[0-9]* *execve("[^"]*/vmdump"' "$p7/execve.${h%%:*}" | grep -c '"--extcap-config"' || true)" >>"$RESULTS"
	done

	note "P7: one extcap call, whole process, vmdump and sshdump round-robin (n=$P7_CALL_RUNS)"
	cid=$(inhome "$home12" "$home12/$ext" --extcap-interfaces | sed -n 's/^interface {value=\([^}]*__c__[^}]*\)}.*/\1/p' | head -1)
	[[ -n $cid ]] || die "no container interface in $home12"
	vm300=$(sed -n '1s/\t.*//p' "$p7/c300.inventories")
	"$BIN/proctime" -metric p7_call -n "$P7_CALL_RUNS" -home "$home12" \
		-cmd "vmdump-interfaces=$home12/$ext --extcap-interfaces" \
		-cmd "vmdump-config=$home12/$ext --extcap-config --extcap-interface $cid" \
		-cmd "sshdump-interfaces=$SSHDUMP --extcap-interfaces" \
		-cmd "sshdump-config=$SSHDUMP --extcap-config --extcap-interface sshdump" \
		-cmd "go-hello=$BIN/hello" \
		-cmd "vmdump-dlts=$home12/$ext --extcap-interface x --extcap-dlts" \
		-cmd "vmdump-interfaces-c300=HOME=$home300 $home300/$ext --extcap-interfaces" \
		-cmd "vmdump-config-c300-vm=HOME=$home300 $home300/$ext --extcap-config --extcap-interface $vm300" \
		-cmd "vmdump-config-c300-nic=HOME=$home300 $home300/$ext --extcap-config --extcap-interface ${vm300}__eth0" >>"$RESULTS"
fi

# ------------------------------------------------------------------- lab
if want p2 || want p3 || want p4 || want p6; then
	note "building the lab VM"
	coproc LAB { exec "$BIN/labctl" 2>"$work/labctl.err"; }
	labpid=$LAB_PID
	exec {labin}>&"${LAB[1]}"
	while IFS= read -r line <&"${LAB[0]}"; do
		[[ $line == READY ]] && break
		[[ $line =~ ^LAB_[A-Z0-9_]+= ]] || die "labctl: unexpected output: $line"
		eval "$line"
	done
	[[ -n ${LAB_VM:-} ]] || die "the lab did not start: $(cat "$work/labctl.err")"
	lab() { # lab COMMAND... → "ok ..." or die
		local reply
		echo "$*" >&"$labin"
		IFS= read -r reply <&"${LAB[0]}" || die "labctl gone: $(cat "$work/labctl.err")"
		[[ $reply == ok* ]] || die "labctl $*: $reply"
	}

	# vmdump: a user whose vmdump config names the lab VM.
	vhome=$work/vmdump-home
	mkdir -p "$vhome/.config/vmdump" "$vhome/.ssh"
	cat >"$vhome/.config/vmdump/config.toml" <<-EOF
		[[vm]]
		name = "bench"
		host = "$LAB_VM"
		port = $LAB_PORT
		user = "$LAB_USER"
		key = "$LAB_KEY"
		interface = "$LAB_VETH1"
	EOF
	echo "$LAB_KNOWN_HOSTS_LINE" >"$vhome/.ssh/known_hosts"
	VMID=$(env -i PATH="$PATH" HOME="$vhome" "$BIN/vmdump" --extcap-interfaces |
		sed -n 's/^interface {value=\([^}]*\)}{display=Docker VM bench (config.*/\1/p')
	[[ -n $VMID ]] || die "vmdump does not list the lab VM"
	vmdump_capture() { # extra vmdump args...
		echo env -i PATH="$PATH" HOME="$vhome" "$@" "$BIN/vmdump" --capture --extcap-interface "$VMID" --fifo '{fifo}'
	}

	# OpenSSH: the same key and pinned host key, nothing from ~/.ssh.
	echo "$LAB_KNOWN_HOSTS_LINE" >"$work/known_hosts"
	cat >"$BIN/ssh-to-fifo" <<-EOF
		#!/bin/sh
		# ssh-to-fifo FIFO [ssh options] REMOTE-COMMAND: the OpenSSH baselines.
		fifo=\$1; shift
		exec ssh -F /dev/null -i '$LAB_KEY' -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR \\
			-o UserKnownHostsFile='$work/known_hosts' -o StrictHostKeyChecking=yes -p $LAB_PORT \\
			-l '$LAB_USER' "\$@" >"\$fifo"
	EOF
	chmod +x "$BIN/ssh-to-fifo"
	sshdump_home=$work/sshdump-home
	mkdir -p "$sshdump_home"

	# Data segments from container 1 to the echo server: exactly one packet
	# per message.
	FILTER="tcp dst port $LAB_ECHO_PORT and (tcp[tcpflags] & tcp-push != 0)"

	capture_cmd() { # TOOL → the command line (words) that captures FILTER into {fifo}
		case $1 in
		vmdump) echo "$(vmdump_capture ${VMDUMP_EXTRA_ENV:-}) --extcap-capture-filter" ;;
		sshdump) echo "env HOME=$sshdump_home $SSHDUMP --capture --extcap-interface sshdump --fifo {fifo}" \
			"--remote-host $LAB_VM --remote-port $LAB_PORT --remote-username $LAB_USER --sshkey $LAB_KEY" \
			"--remote-interface $LAB_VETH1 --remote-capture-command-select tcpdump --remote-sudo --remote-filter" ;;
		openssh) echo "$BIN/ssh-to-fifo {fifo} $LAB_VM" ;;
		esac
	}
	# measure METRIC TOOL fifolat-flags... : one run, the filter as the last
	# argument (the OpenSSH recipe gets it inside its remote command).
	measure() {
		local metric=$1 tool=$2; shift 2
		local -a cmd
		read -r -a cmd <<<"$(capture_cmd "$tool")"
		if [[ $tool == openssh ]]; then
			cmd+=("sudo -n tcpdump --immediate-mode -U -w - -i $LAB_VETH1 '$FILTER'")
		else
			cmd+=("$FILTER")
		fi
		"$BIN/fifolat" -metric "$metric" -subject "$tool" "$@" -- "${cmd[@]}"
	}
fi

if want p2; then
	note "P2: start → first packet, steady traffic at $P2_RATE/s (n=$RUNS + 1 warm-up)"
	lab traffic "$P2_RATE"
	for ((r = 0; r <= RUNS; r++)); do
		for tool in $(rotate "$r" vmdump sshdump openssh); do
			if ((r == 0)); then # warm-up: first connection, caches
				measure p2 "$tool" -mode first -timeout 60s >/dev/null
			else
				measure p2 "$tool" -mode first -timeout 60s >>"$RESULTS"
			fi
			sleep 1
		done
	done
	lab stop
fi

if want p3; then
	note "P3: latency at 10 packets/s, ${P3_SECONDS}s per run (n=$RUNS), vmdump with an empty cache"
	lab traffic 10
	# Every vmdump run is a first capture of the VM: no cached inventory
	# (issue 13: the first packets must not wait for the inventory).
	VMDUMP_EXTRA_ENV=VMDUMP_CACHE_DIR=/dev/null/nocache
	for ((r = 0; r < RUNS; r++)); do
		for tool in $(rotate "$r" vmdump sshdump openssh); do
			measure p3 "$tool" -mode latency -duration "${P3_SECONDS}s" -timeout 60s >>"$RESULTS"
			sleep 1
		done
	done
	VMDUMP_EXTRA_ENV=
	lab stop
fi

if want p4; then
	note "P4: generating a ${P4_MB} MiB pcap file of 1500-byte packets"
	big=$work/bulk.pcap
	packets=$("$BIN/mkpcap" -o "$big" -mb "$P4_MB" -len 1500)
	cat "$big" >/dev/null # in the page cache for every tool alike
	note "P4: bulk throughput (n=$RUNS)"
	for ((r = 0; r < RUNS; r++)); do
		for tool in $(rotate "$r" vmdump openssh openssh-aes128gcm); do
			case $tool in
			vmdump) read -r -a cmd <<<"$(vmdump_capture "VMDUMP_BENCH_REMOTE_FILE=$big")" ;;
			openssh) cmd=("$BIN/ssh-to-fifo" '{fifo}' "$LAB_VM" "cat $big") ;;
			openssh-aes128gcm) cmd=("$BIN/ssh-to-fifo" '{fifo}' -c aes128-gcm@openssh.com "$LAB_VM" "cat $big") ;;
			esac
			rss=()
			[[ $tool == vmdump ]] && rss=(-rss)
			"$BIN/fifolat" -metric p4 -subject "$tool" -mode drain -expect "$packets" -timeout 600s "${rss[@]}" -- "${cmd[@]}" >>"$RESULTS"
			sleep 1
		done
	done
	rm -f "$big"
fi

if want p6; then
	note "P6: RSS during a ${P6_MINUTES}-minute capture, traffic at $P6_RATE/s"
	lab traffic "$P6_RATE"
	read -r -a cmd <<<"$(vmdump_capture)"
	"$BIN/fifolat" -metric p6 -subject vmdump -mode hold -rss -duration "${P6_MINUTES}m" \
		-timeout "$(awk "BEGIN{print $P6_MINUTES * 60 + 300}")s" -- "${cmd[@]}" >>"$RESULTS"
	printf 'p6_minutes\tvmdump\t%s\n' "$P6_MINUTES" >>"$RESULTS"
	lab stop
fi

# ------------------------------------------------------------------ table
{
	echo "Run of $started, vmdump $rev"
	echo
	echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
		"AES-NI $(grep -qw aes /proc/cpuinfo && echo yes || echo no), Linux $(uname -r)"
	echo "- $(go version | cut -d' ' -f3), $(tshark --version 2>/dev/null | head -1 | cut -d' ' -f1-3)," \
		"sshdump $("$SSHDUMP" --version 2>/dev/null | head -1 | awk '{print $NF}'), $(ssh -V 2>&1 | cut -d, -f1)"
	echo "- runs: P1 $P1_RUNS per tool, P2–P4 $RUNS per tool (P2 after one warm-up round), P3 ${P3_SECONDS} s each," \
		"P4 ${P4_MB} MiB file, P6 ${P6_MINUTES} min at $P6_RATE messages/s, P7 $P7_RUNS \`tshark -D\` per home and $P7_CALL_RUNS per extcap call"
	echo
	"$BIN/benchtable" -results "$RESULTS" -gobench "$GOBENCH"
} | tee "$OUT/table.md"
note "raw results in $OUT"
