#!/usr/bin/env bash
# test_live.sh - vspaced on this machine (root): busy threads standing in for an LC workload in
# their own cgroup subtree, a 2-queue veth in a network namespace; vspaced moves the threads into
# its core groups, sets channels and RPS/XPS, follows policy changes, and restores everything on
# SIGTERM and, after kill -9, at the next start before anything else.
# On a host with the v1 cpuset hierarchy the groups are cpuset ones; on a pure cgroup v2 host (the
# e2e guest runs this, tests/e2e/in-guest-cgroup2.sh) the workload starts in a cgroup of its own
# outside any manager and vspaced's groups are a domain with threaded vcpu/nq children.
# VS_BUSY=PATH: a prebuilt tests/daemon/busy.c (else it is built with $CC).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${VS_BUILD:-build}
case $B in /*) ;; *) B=$repo/$B ;; esac
VSD=$B/vspaced
CTL=$B/vspacectl
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip_all() { echo "ok 1 - live test # SKIP $1"; echo "1..1"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
busy_bin=${VS_BUSY:-}
for c in ip ethtool ${busy_bin:-"${CC:-cc}"}; do command -v "$c" >/dev/null || skip_all "needs $c"; done
if [ -f /sys/fs/cgroup/cpuset/cpuset.cpus ]; then
	v2=0 cgroot=/sys/fs/cgroup/cpuset ctrl=cpuset
elif grep -qw cpuset /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	v2=1 cgroot=/sys/fs/cgroup ctrl= # /proc/PID/cgroup: "0::/path"
else
	skip_all "needs the cgroup v1 cpuset hierarchy or cgroup v2 with cpuset at /sys/fs/cgroup"
fi
ncpu=$(nproc --all)
[ "$ncpu" -ge 2 ] || skip_all "needs 2 cpus"

id=$$
ns=vsd-live-$id
ifa=vsdl${id}a
ifb=vsdl${id}b
cg=vsd-test-live$id
wcg=vsd-live-wl$id # v2: the workload's own cgroup
tmp=$(mktemp -d /tmp/vsd-test-live-XXXXXX)
dpid= bpid=
log=$tmp/vspaced.log

cleanup() {
	[ -n "${vpid:-}" ] && kill -9 "$vpid" 2>/dev/null
	[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
	[ -n "$bpid" ] && kill -9 "$bpid" 2>/dev/null
	wait 2>/dev/null
	# whatever vspaced left behind: threads back to the root, then the groups
	for d in $(find /sys/fs/cgroup/cpuset/$cg /sys/fs/cgroup/freezer/$cg -depth -type d 2>/dev/null); do
		for t in $(cat "$d/tasks" 2>/dev/null); do echo "$t" >"${d%%/$cg*}/tasks" 2>/dev/null; done
		rmdir "$d" 2>/dev/null
	done
	if [ "$v2" = 1 ]; then # the processes in them are gone (killed above)
		for d in $(find "$cgroot/$cg" "$cgroot/$wcg" -depth -type d 2>/dev/null); do rmdir "$d" 2>/dev/null; done
	fi
	ip netns del "$ns" 2>/dev/null
	ip link del "$ifb" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -n "$busy_bin" ]; then
	cp "$busy_bin" "$tmp/busy"
else
	"${CC:-cc}" -O2 -pthread "$here/busy.c" -o "$tmp/busy" || skip_all "cannot build the busy helper"
fi
ip netns add "$ns" || skip_all "cannot create a network namespace"
ip link add "$ifa" numtxqueues 2 numrxqueues 2 type veth peer name "$ifb" numtxqueues 2 numrxqueues 2 ||
	skip_all "cannot create a 2-queue veth"
ip link set "$ifa" netns "$ns"
ip netns exec "$ns" ip link set "$ifa" up

nsx() { ip netns exec "$ns" "$@"; }
chan() { nsx ethtool -l "$ifa" | awk '/Current/ { c = 1 } c && /^RX:/ { r = $2 } c && /^TX:/ { t = $2 } END { print r "/" t }'; }
qfile() { nsx cat "/sys/class/net/$ifa/queues/$1" 2>/dev/null | tr -d '\n'; }
cpus_of() { cat "$cgroot/$cg/busy/$1/cpuset.cpus" 2>/dev/null; }
cgroups_of_busy() { cat /proc/"$bpid"/task/*/cgroup 2>/dev/null | awk -F: -v c="$ctrl" '$2 == c { print $3 }' | sort -u | tr '\n' ' '; }
allowed_of_busy() { awk '/Cpus_allowed_list/ { print $2 }' /proc/"$bpid"/task/*/status 2>/dev/null | sort -u | tr '\n' ' '; }
json() { "$CTL" -s "$tmp/sock" status --json 2>/dev/null; }
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$2" | head -1; }
wait_for() { # seconds, command...
	local t=$1
	shift
	for _ in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
start_busy() {
	if [ "$v2" = 1 ]; then # in a cgroup of its own, as a service outside any manager would be
		mkdir -p "$cgroot/$wcg"
		sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 2 20 "$3"' sh "$cgroot/$wcg" "$tmp/busy" "$tmp/busy.pid" >/dev/null &
	else
		"$tmp/busy" 2 20 "$tmp/busy.pid" >/dev/null &
	fi
	bpid=$!
	wait_for 5 test -s "$tmp/busy.pid"
}
start_vspaced() {
	"$VSD" -c "$tmp/vspace.conf" >>"$log" 2>&1 &
	dpid=$!
	wait_for 10 placed
}
placed() { # the workload runs in vspace's groups
	local j
	j=$(json) || return 1
	[ -n "$(field vcpu_cores "$j")" ] && [ "$(cgroups_of_busy)" = "/$cg/busy/vcpu " ]
}

orig_chan=$(chan)
orig_rps0=$(qfile rx-0/rps_cpus) orig_rps1=$(qfile rx-1/rps_cpus)
orig_xps0=$(qfile tx-0/xps_cpus) orig_xps1=$(qfile tx-1/xps_cpus)
start_busy
orig_allowed=$(allowed_of_busy)
orig_cgroups=$(cgroups_of_busy)
[ "$v2" = 1 ] && orig_subtree=$(cat "$cgroot/cgroup.subtree_control")
cat >"$tmp/vspace.conf" <<CONF
[host]
cores=0-1
nic=$ifa
nic_netns=$ns
mode=E
period_ms=100
control_socket=$tmp/sock
state_dir=$tmp/state/deeper
lock_file=$tmp/vspaced.lock
metrics_listen=off
cgroup_parent=$cg
rt_priority=1
coalesce_rx_usecs=20
[workload "busy"]
role=lc
slo_p95_us=1000
pidfile=$tmp/busy.pid
CONF

# --- 1: vspaced places the workload ---
if start_vspaced; then ok "vspaced placed the busy threads in its vCPU group"; else notok "placement" "$(cgroups_of_busy)" "$(tail -5 "$log")"; fi
j=$(json)
vc=$(field vcpu_cores "$j")
nq=$(field nq_cores "$j")
if [ "$v2" = 1 ]; then
	d=$cgroot/$cg/busy
	[ "$(cat "$d/cgroup.procs" 2>/dev/null)" = "$bpid" ] && [ "$(cat "$d/cgroup.type")" = "domain threaded" ] &&
		[ "$(cat "$d/vcpu/cgroup.type")" = threaded ] && [ "$(cat "$d/nq/cgroup.type")" = threaded ] &&
		grep -qw cpuset "$d/cgroup.subtree_control" &&
		ok "cgroup v2: the process in the domain /$cg/busy, vcpu and nq threaded children with cpuset" ||
		notok "v2 layout" "procs $(cat "$d/cgroup.procs" 2>/dev/null) type $(cat "$d/cgroup.type" 2>/dev/null)" \
			"vcpu $(cat "$d/vcpu/cgroup.type" 2>/dev/null) subtree $(cat "$d/cgroup.subtree_control" 2>/dev/null)"
fi
if [ -n "$vc" ] && [ -n "$nq" ] && [ "$vc" != "$nq" ] && [ "$(cpus_of vcpu)" = "$vc" ] && [ "$(cpus_of nq)" = "$nq" ]; then
	ok "disjoint core groups: vcpu [$vc], nq [$nq] (cpuset.cpus)"
else
	notok "core groups" "vcpu $vc nq $nq; cpuset vcpu $(cpus_of vcpu) nq $(cpus_of nq)"
fi
[ "$(allowed_of_busy)" = "$vc " ] && ok "the threads may run only on the vCPU core" || notok "threads' affinity" "$(allowed_of_busy)"
[ "$(chan)" = "1/1" ] && ok "channels set to 1 rx / 1 tx (one NQ core)" || notok "channels" "$(chan)"
mask_nq=$(printf '%x' $((1 << nq)))
[ "$(qfile rx-0/rps_cpus)" = "$mask_nq" ] && ok "RPS of rx-0 on the NQ core (mask $mask_nq)" || notok "rps" "$(qfile rx-0/rps_cpus) want $mask_nq"
[ "$(qfile tx-0/xps_cpus)" = "3" ] && ok "XPS of tx-0: both cores send on the one queue" || notok "xps" "$(qfile tx-0/xps_cpus)"
grep -q "nic $ifa: interrupt coalescing unsupported" "$log" &&
	ok "coalescing: veth has no ETHTOOL_SCOALESCE, said once, the loop goes on" || notok "coalesce" "$(grep -i coalesc "$log")"
# a second vspaced with another state_dir, cgroup_parent and socket is refused
sed -e "s|^state_dir=.*|state_dir=$tmp/state2|" -e "s|^cgroup_parent=.*|cgroup_parent=${cg}x|" \
	-e "s|^control_socket=.*|control_socket=$tmp/sock2|" "$tmp/vspace.conf" >"$tmp/second.conf"
out=$(timeout 10 "$VSD" -c "$tmp/second.conf" --once 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "another vspaced manages this host (pid $dpid, config $tmp/vspace.conf, state_dir $tmp/state/deeper" <<<"$out" &&
	[ ! -e "$tmp/state2/vspaced.state" ] && [ ! -d "/sys/fs/cgroup/cpuset/${cg}x" ] &&
	ok "a second vspaced (other state_dir, cgroup_parent) is refused, naming the holder" || notok "second vspaced" "rc=$rc" "$out"
"$CTL" -s "$tmp/sock" report busy p95=640 >/dev/null && sleep 0.3 &&
	grep -q '"last_report_p95_us":640' <<<"$(json)" && ok "p95 report accepted" || notok "report"

# --- 2: a policy change moves things: time-sharing, then back ---
"$CTL" -s "$tmp/sock" set mode static-ts:2:2 >/dev/null
shared() { [ "$(chan)" = "2/2" ] && [ "$(cpus_of vcpu)" = "0-1" ] && [ "$(allowed_of_busy)" = "0-1 " ]; }
if wait_for 5 shared; then ok "static-ts:2:2: vCPU group widened to 0-1, channels 2/2"; else notok "static-ts" "chan $(chan) vcpu $(cpus_of vcpu)"; fi
[ -n "$(qfile rx-1/rps_cpus)" ] && [ "$(qfile tx-0/xps_cpus)" = "1" ] && [ "$(qfile tx-1/xps_cpus)" = "2" ] &&
	ok "RPS/XPS follow the second queue (tx-0 core 0, tx-1 core 1)" || notok "rps/xps 2 queues" "rx-1 $(qfile rx-1/rps_cpus) tx-0 $(qfile tx-0/xps_cpus) tx-1 $(qfile tx-1/xps_cpus)"
"$CTL" -s "$tmp/sock" set mode E >/dev/null
isolated() { [ "$(chan)" = "1/1" ] && [ "$(cpus_of vcpu)" = "$vc" ] && [ "$(allowed_of_busy)" = "$vc " ]; }
if wait_for 5 isolated; then ok "back to vSPACE-E: isolated again, channels 1/1"; else notok "back to E" "chan $(chan) vcpu $(cpus_of vcpu)"; fi

# --- 3: the workload vanishes and comes back; the loop goes on ---
kill -9 "$bpid"
wait "$bpid" 2>/dev/null
rm -f "$tmp/busy.pid"
wait_for 5 grep -q 'workload busy dropped from the controller' "$log" && "$CTL" -s "$tmp/sock" status >/dev/null &&
	ok "a vanished workload is dropped, the daemon keeps running" || notok "vanish" "$(tail -3 "$log")"
start_busy
if wait_for 10 placed; then ok "a new process behind the pidfile is picked up and placed"; else notok "appear" "$(cgroups_of_busy)" "$(tail -3 "$log")"; fi

# --- 4: threads born after placement; state bounded by what exists ---
nrec() { grep -c '"kind"' "$tmp/state/deeper/vspaced.state" 2>/dev/null || echo 0; }
ntasks() { ls /proc/"$bpid"/task | wc -l; }
rec0=$(nrec)
for _ in $(seq 40); do kill -USR2 "$bpid"; sleep 0.03; done # 40 threads of 200 ms each
sleep 0.5
wait_for 10 test "$(ntasks)" -eq 3 # 2 busy threads + main
# a full rescan is due within 5 s: dead threads' records go then
gone() { [ "$(nrec)" -le "$rec0" ]; }
if wait_for 8 gone; then ok "40 short-lived threads leave no records behind ($(nrec) records, $rec0 before)"; else notok "records of dead threads" "$(nrec) records, $rec0 before"; fi
kill -USR1 "$bpid" # a thread born inside vspace's vCPU group
wait_for 5 test "$(ntasks)" -eq 4
sleep 0.5

# --- 5: SIGTERM restores everything ---
kill -TERM "$dpid"
wait "$dpid"
rc=$?
dpid=
restored() {
	[ "$(cgroups_of_busy)" = "$orig_cgroups" ] && [ ! -d "$cgroot/$cg" ] && [ "$(chan)" = "$orig_chan" ] &&
		[ "$(qfile rx-0/rps_cpus)" = "$orig_rps0" ] && [ "$(qfile rx-1/rps_cpus)" = "$orig_rps1" ] &&
		[ "$(qfile tx-0/xps_cpus)" = "$orig_xps0" ] && [ "$(qfile tx-1/xps_cpus)" = "$orig_xps1" ] &&
		[ "$(allowed_of_busy)" = "$orig_allowed" ] && [ ! -e "$tmp/state/deeper/vspaced.state" ] &&
		{ [ "$v2" = 0 ] || [ "$(cat "$cgroot/cgroup.subtree_control")" = "$orig_subtree" ]; }
}
if [ $rc -eq 0 ] && restored; then
	ok "SIGTERM: threads (one born after placement too), cgroups, channels, RPS, XPS, affinity restored; state file gone"
else
	notok "SIGTERM restore" "rc=$rc cg $(cgroups_of_busy) chan $(chan) rps $(qfile rx-0/rps_cpus) xps $(qfile tx-0/xps_cpus) allowed $(allowed_of_busy)" "$(grep -i restore "$log" | tail -5)"
fi

# --- 6: kill -9, then a restart restores before anything else ---
: >"$log"
if start_vspaced; then ok "placed again"; else notok "second start" "$(tail -5 "$log")"; fi
kill -USR1 "$bpid" # another thread born inside vspace's group, then a crash
wait_for 5 test "$(ntasks)" -eq 5
sleep 0.3
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
dpid=
[ -e "$tmp/state/deeper/vspaced.state" ] && [ "$(cgroups_of_busy)" = "/$cg/busy/vcpu " ] && [ "$(chan)" = "1/1" ] &&
	ok "after kill -9 the changes and the state file remain" || notok "after kill -9" "$(cgroups_of_busy) $(chan)"
"$VSD" -c "$tmp/vspace.conf" --once --period-ms 50 >"$tmp/once.log" 2>&1
rc=$?
first_restore=$(grep -n 'left by an earlier run' "$tmp/once.log" | head -1 | cut -d: -f1)
first_place=$(grep -n 'workload busy: pid' "$tmp/once.log" | head -1 | cut -d: -f1)
if [ $rc -eq 0 ] && [ -n "$first_restore" ] && [ -n "$first_place" ] && [ "$first_restore" -lt "$first_place" ] &&
	[ "$(head -1 "$tmp/once.log" | grep -c 'left by an earlier run')" -eq 1 ]; then
	ok "the restart restored first (line $first_restore), placed after (line $first_place)"
else
	notok "restore first" "rc=$rc" "$(head -5 "$tmp/once.log")"
fi
if restored; then ok "--once with on_exit=restore leaves the host as it was"; else notok "after --once" "cg $(cgroups_of_busy) chan $(chan)"; fi

# --- 6: interrupt-rate control on a NIC without coalescing (veth) ---
# irq_policy=air asks for a rate each period; veth refuses ETHTOOL_GCOALESCE:
# one log line, one status/explain line, no write, no probe again.
sed -e '/^coalesce_rx_usecs/d' -e 's/^\[host\]/[host]\nirq_policy=air\nirq_fanout=on/' "$tmp/vspace.conf" >"$tmp/irq.conf"
: >"$log"
# VS_LIVE_NO_STRACE=1 (the pure-v2 guest: strace -f under TCG slows the run tenfold) leaves the count
# to the host's run of this script
if [ "${VS_LIVE_NO_STRACE:-0}" != 1 ] && command -v strace >/dev/null; then
	strace -f -qq -e trace=ioctl -o "$tmp/ioctl.txt" "$VSD" -c "$tmp/irq.conf" >>"$log" 2>&1 &
else
	"$VSD" -c "$tmp/irq.conf" >>"$log" 2>&1 &
fi
dpid=$!
wait_for 10 placed
# strace -o FILE PROG blocks fatal signals: signals go to vspaced itself
vpid=$(pgrep -P "$dpid" -x vspaced || echo "$dpid")
sleep 2 # 20 periods
j=$(json)
unsup=$(jq -r '.irq.queues[] | select(.queue == "host '"$ifa"'") | .unsupported' <<<"$j" 2>/dev/null)
[ "$(jq -r '.irq.policy' <<<"$j" 2>/dev/null)" = air ] && grep -q 'no interrupt coalescing (ETHTOOL_GCOALESCE: Operation not supported)' <<<"$unsup" &&
	[ "$(jq -r '.irq.queues[0].changes' <<<"$j")" = 0 ] && [ "$(jq -r '.irq.apply_errors' <<<"$j")" = 0 ] &&
	ok "irq_policy=air on veth: status names the driver's refusal, no write" || notok "irq status on veth" "$(jq -c .irq <<<"$j")"
ex=$("$CTL" -s "$tmp/sock" explain)
[ "$(grep -c "host $ifa: coalescing unsupported: the driver has no interrupt coalescing" <<<"$ex")" -eq 1 ] &&
	ok "explain: one line for the unsupported queue" || notok "explain on veth" "$(grep -A4 'interrupt rate' <<<"$ex")"
nlog=$(grep -c 'interrupt coalescing' "$log")
[ "$nlog" -eq 1 ] && ok "logged once in 20 periods" || notok "log lines about coalescing: $nlog" "$(grep coalesc "$log")"
kill -TERM "$vpid"
wait "$dpid"
dpid= vpid=
if [ -s "$tmp/ioctl.txt" ]; then
	# strace does not decode the ethtool command: all SIOCETHTOOL calls (the
	# start's channel and coalescing reads and writes, the probe, restore);
	# one per period would be 20 or more
	neth=$(grep -c 'SIOCETHTOOL' "$tmp/ioctl.txt")
	[ "$neth" -gt 0 ] && [ "$neth" -le 10 ] && ok "no retry storm: $neth ethtool ioctls in 20+ periods, start and exit included" ||
		notok "ethtool ioctls: $neth" "$(grep SIOCETHTOOL "$tmp/ioctl.txt" | head -30)"
elif [ "${VS_LIVE_NO_STRACE:-0}" = 1 ]; then
	echo "# ioctl count: not taken here (VS_LIVE_NO_STRACE=1); the host's run counts them"
else
	ok "ioctl count # SKIP no strace"
fi
restored && ok "irq run: everything restored on SIGTERM" || notok "irq run restore" "cg $(cgroups_of_busy) chan $(chan)"

# --- 7: a tap reads its coalescing (rx-frames) but refuses rx-usecs ---
tap=vsdt${id}
if nsx ip tuntap add dev "$tap" mode tap 2>/dev/null; then
	nsx ip link set "$tap" up
	sed -e "s/^nic=.*/nic=$tap/" -e 's/^irq_policy=air/irq_policy=fir/' "$tmp/irq.conf" >"$tmp/tap.conf"
	: >"$log"
	"$VSD" -c "$tmp/tap.conf" >>"$log" 2>&1 &
	dpid=$!
	wait_for 10 placed
	sleep 1.5
	q=$(json | jq -c '.irq.queues[] | select(.queue == "host '"$tap"'")' 2>/dev/null)
	[ "$(jq -r .unsupported <<<"$q")" = "the driver refused rx-usecs 125 (ETHTOOL_SCOALESCE: Operation not supported)" ] &&
		[ "$(jq -r .rx_usecs <<<"$q")" = null ] && [ "$(grep -c "coalesce $tap rx-usecs" "$log")" -eq 1 ] &&
		ok "tap: the refused rx-usecs write is tried once, the status says why" || notok "tap refusal" "$q" "$(grep -i coalesc "$log")"
	kill -TERM "$dpid"
	wait "$dpid"
	dpid=
	nsx ip link del "$tap"
else
	ok "tap refusal # SKIP cannot create a tap"
fi

echo "1..$n"
[ $fails -eq 0 ]
