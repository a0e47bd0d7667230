#!/usr/bin/env bash
# test_qmpstats_live.sh - vspaced reads a real KVM VM's halt-polling counters over QMP query-stats (QEMU -accel kvm with a QMP socket): the source and why, values that parse, one connection shared with discovery, status/metrics, a monitor another client holds.
#
# Needs root, qemu-system-x86_64 (>= 7.1), /dev/kvm, jq; skipped otherwise. The
# guest need not run (it does not here): KVM keeps the vCPUs' statistics from
# the moment QEMU creates them, so they parse and read 0. QEMU runs without
# thread names (no debug-threads), so discovery asks QMP for the vCPU threads
# too. debugfs is mounted only inside a private mount namespace. vspaced
# runs --dry-run; QEMU, vspaced and socat are stopped by pid at the end.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${VS_BUILD:-build}
case $B in /*) ;; *) B=$repo/$B ;; esac
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip_all() { echo "ok 1 - KVM statistics over QMP, live # SKIP $1"; echo "1..1"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
[ -c /dev/kvm ] || skip_all "no /dev/kvm"
command -v jq >/dev/null || skip_all "no jq"
[ -x "$B/vspaced" ] && [ -x "$B/vspacectl" ] || skip_all "build $B/vspaced and $B/vspacectl first"

tmp=$(mktemp -d /tmp/vsq-live-XXXXXX)
qpid= dpid= spid=
cleanup() {
	for p in $dpid $spid $qpid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# a 2-vCPU KVM VM without thread names, its QMP monitor on a Unix socket
qemu-system-x86_64 -accel kvm -name vsq-live -m 64 -smp 2 -nodefaults -display none \
	-serial none -monitor none -qmp "unix:$tmp/qmp.sock,server=on,wait=off" \
	-pidfile "$tmp/qemu.pid" >"$tmp/qemu.log" 2>&1 &
qpid=$!
for _ in $(seq 100); do
	[ -S "$tmp/qmp.sock" ] && [ -s "$tmp/qemu.pid" ] && break
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.05
done
[ -S "$tmp/qmp.sock" ] || skip_all "QEMU could not start a KVM VM here: $(head -2 "$tmp/qemu.log")"
ver=$(qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r vmaj vmin <<<"$ver"
[ "${vmaj:-0}" -gt 7 ] || { [ "${vmaj:-0}" -eq 7 ] && [ "${vmin:-0}" -ge 1 ]; } ||
	skip_all "QEMU $vmaj.$vmin has no query-stats (7.1 or later needed)"

conf() { # conf MODE
	cat >"$tmp/v-$1.conf" <<CONF
[host]
cores=0-1
mode=E
control_socket=$tmp/sock
metrics_listen=off
metrics_textfile=$tmp/metrics.prom
cgroup_parent=vsq-live
halt_poll_accounting=$1
halt_poll_qmp_wait_ms=100
[workload "vm"]
role=lc
slo_p95_us=1000
qemu_pidfile=$tmp/qemu.pid
qmp=$tmp/qmp.sock
CONF
}
# one --once run (a 400 ms period, so that a loaded machine's slow answer
# still fits the 100 ms wait of these configurations)
once() { # once CONF LOG
	"$B/vspaced" -c "$1" --dry-run --once --period-ms 400 2>"$2"
}
sock_re=$(sed 's/[.[\*^$]/\\&/g' <<<"$tmp/qmp.sock")

# 1. halt_poll_accounting=qmp: read over QMP, values parse (0: the guest does not run here)
conf qmp
out=$(once "$tmp/v-qmp.conf" "$tmp/once-qmp.log")
rc=$?
if [ $rc -eq 0 ] && grep -Eq "^  vm: U_v [0-9.]+ = busy [0-9.]+ - polling [0-9]+\.[0-9]{3}, from qmp:$sock_re \(QEMU [0-9]+\.[0-9]+\.[0-9]+, 2 vCPUs\)$" <<<"$out" &&
	grep -q '^    via qmp: halt_poll_accounting=qmp$' <<<"$out"; then
	ok "halt_poll_accounting=qmp: the counters of both vCPUs read over QMP and subtracted: $(grep '^  vm: ' <<<"$out" | cut -c1-100)"
else
	notok "halt_poll_accounting=qmp reads query-stats" "rc=$rc" "$out" "$(tail -5 "$tmp/once-qmp.log")"
fi
grep -Eq "^    QMP query-stats on $sock_re: 2 answers, 0 slow \(wait 100 ms\), 0 bad; round trip last [0-9]+ us" <<<"$out" &&
	ok "two answers (the baseline at start, the period), none slow: $(grep -o 'round trip.*' <<<"$out")" ||
	notok "the QMP line of explain" "$out"
cnt=$(grep -c "workload vm: KVM halt polling is subtracted from the vCPU group's busy time: reading QMP query-stats on $tmp/qmp.sock (QEMU" "$tmp/once-qmp.log")
[ "$cnt" -eq 1 ] && ok "one log line names the source" ||
	notok "one log line names the source" "count=$cnt" "$(cat "$tmp/once-qmp.log")"
# discovery found the vCPU threads through the same (single) connection
"$B/vspaced" -c "$tmp/v-qmp.conf" --dry-run --once -v --period-ms 400 >/dev/null 2>"$tmp/once-v.log"
grep -Eq 'discovery:   compute 2: [0-9]+,[0-9]+$' "$tmp/once-v.log" &&
	ok "discovery: the 2 vCPU threads from query-cpus-fast on the shared connection" ||
	notok "discovery over QMP" "$(grep 'discovery:' "$tmp/once-v.log" | head -12)"

# 2. auto, as this namespace has debugfs (not mounted here, or mounted): debugfs if readable, else QMP
conf auto
out=$(once "$tmp/v-auto.conf" "$tmp/once-auto.log")
via=$(grep -o '^    via [a-z]*' <<<"$out" | awk '{print $2}')
if [ "$via" = qmp ] && grep -q '^    via qmp: halt_poll_accounting=auto: debugfs cannot be read (.*), so QEMU is asked over qmp=$' <<<"$out"; then
	ok "auto: debugfs unreadable here, QMP instead, and the reason: $(grep -o 'cannot be read (.\{0,60\}' <<<"$out")"
elif [ "$via" = debugfs ] && grep -q '^    via debugfs: halt_poll_accounting=auto: debugfs is readable$' <<<"$out"; then
	ok "auto: debugfs readable here, so read there"
else
	notok "auto picks debugfs or QMP and says why" "$out"
fi

# 3. auto with debugfs mounted (a private mount namespace): on a locked-down
#    kernel the files are refused and QMP serves; otherwise debugfs does
if command -v unshare >/dev/null; then
	out=$(unshare -m --propagation private bash -c '
		[ -d /sys/kernel/debug/kvm ] || mount -t debugfs none /sys/kernel/debug || exit 3
		"$1" -c "$2" --dry-run --once --period-ms 400 2>"$3"' _ "$B/vspaced" "$tmp/v-auto.conf" "$tmp/once-dfs.log")
	rc=$?
	if [ $rc -eq 3 ]; then
		ok "auto with debugfs mounted # SKIP cannot mount debugfs"
	elif grep -Eq "^    via qmp: halt_poll_accounting=auto: debugfs cannot be read \(sys/kernel/debug/kvm/$qpid-[0-9]+/halt_poll_success_ns: Operation not permitted: kernel lockdown" <<<"$out" &&
		grep -Eq "^  vm: U_v [0-9.]+ = busy [0-9.]+ - polling [0-9.]+, from qmp:" <<<"$out"; then
		ok "auto, debugfs mounted but locked down: QMP serves, and says why # $(dmesg 2>/dev/null | grep -m1 -o 'Kernel is locked down.*')"
	elif grep -Eq "^  vm: U_v [0-9.]+ = busy [0-9.]+ - polling [0-9.]+, from sys/kernel/debug/kvm/$qpid-" <<<"$out"; then
		ok "auto, debugfs mounted and readable (no lockdown): debugfs serves"
	else
		notok "auto with debugfs mounted" "rc=$rc" "$out" "$(tail -3 "$tmp/once-dfs.log")"
	fi
fi

# 4. a running vspaced: status, explain and metrics name the source; one connection
conf qmp
"$B/vspaced" -c "$tmp/v-qmp.conf" --dry-run --period-ms 100 2>"$tmp/run.log" &
dpid=$!
for _ in $(seq 40); do [ -S "$tmp/sock" ] && break; sleep 0.05; done
sleep 2.2
st=$("$B/vspacectl" -s "$tmp/sock" status --json 2>&1)
hp=$(jq -c '.workloads[0].halt_poll' <<<"$st" 2>/dev/null)
if [ "$(jq -r '.via + " " + .state + " " + .qmp.connection' <<<"$hp" 2>/dev/null)" = "qmp active ready" ] &&
	[ "$(jq -r '.source' <<<"$hp")" = "qmp:$tmp/qmp.sock" ] &&
	[ "$(jq -r '.qmp.connects' <<<"$hp")" = 1 ] &&
	[ "$(jq -r '.qmp.answers >= 10 and .qmp.rtt_us.count >= 10 and .qmp.vcpus == 2' <<<"$hp")" = true ] &&
	[ "$(jq -r '.workloads[0].threads.compute' <<<"$st")" = 2 ]; then
	ok "status: via qmp, active, one connection for discovery and statistics, $(jq -r '.qmp.answers' <<<"$hp") answers, round trip p50 $(jq -r '.qmp.rtt_us.p50' <<<"$hp") us, max $(jq -r '.qmp.rtt_us.max' <<<"$hp") us, $(jq -r '.qmp.slow' <<<"$hp") slow"
else
	notok "status --json names the QMP source" "$hp" "$(tail -5 "$tmp/run.log")"
fi
tbl=$("$B/vspacectl" -s "$tmp/sock" status 2>&1)
grep -Eq "^    via qmp: halt_poll_accounting=qmp; QEMU [0-9.]+ answers in [0-9]+ us \(p50; max [0-9]+ us\), [0-9]+ of [0-9]+ requests slow$" <<<"$tbl" &&
	ok "vspacectl status: $(grep -o 'via qmp.*' <<<"$tbl")" || notok "vspacectl status shows the source" "$tbl"
ex=$("$B/vspacectl" -s "$tmp/sock" explain 2>&1)
grep -q '^    via qmp: halt_poll_accounting=qmp$' <<<"$ex" && ok "vspacectl explain names the source" ||
	notok "vspacectl explain" "$ex"
if [ -s "$tmp/metrics.prom" ] && grep -q '^vspace_halt_poll_source{workload="vm",source="qmp"} 1$' "$tmp/metrics.prom" &&
	grep -Eq '^vspace_qmp_stats_rtt_seconds_count\{workload="vm"\} [1-9][0-9]*$' "$tmp/metrics.prom" &&
	grep -Eq '^vspace_qmp_stats_periods_total\{workload="vm",result="ok"\} [1-9][0-9]*$' "$tmp/metrics.prom"; then
	ok "metrics: source, periods by outcome, round trips"
else
	notok "metrics" "$(grep -E 'halt_poll|qmp' "$tmp/metrics.prom" 2>&1)"
fi
chk=$(/usr/bin/python3 "$here/../daemon/promcheck.py" "$tmp/metrics.prom" 2>&1)
case $? in
0) ok "metrics with the QMP families parse with prometheus_client ($(tail -1 <<<"$chk"))" ;;
77) ok "metrics format # SKIP $chk" ;;
*) notok "metrics format (prometheus_client)" "$chk" ;;
esac
kill -TERM "$dpid"
wait "$dpid"
rc=$?
dpid=
[ $rc -eq 0 ] && ok "vspaced stops cleanly (exit 0)" || notok "vspaced exit" "rc=$rc" "$(tail -5 "$tmp/run.log")"

# 5. another client holds the monitor (QEMU serves one at a time): no
#    greeting; vspaced says so, goes on uncorrected, and the loop is not held up
if command -v socat >/dev/null; then
	socat -u "UNIX-CONNECT:$tmp/qmp.sock" OPEN:/dev/null &
	spid=$!
	sleep 0.3
	t0=$(date +%s%N)
	out=$(once "$tmp/v-qmp.conf" "$tmp/once-busy.log")
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ $rc -eq 0 ] && grep -Eq "^  vm: unavailable, not subtracted: QMP socket $sock_re: no greeting \(QEMU serves one client per QMP socket: is another connected\?\) within [0-9]+ ms$" <<<"$out"; then
		ok "a monitor held by another client: unavailable, said why, run done in $ms ms"
	else
		notok "a monitor held by another client" "rc=$rc" "$out" "$(tail -3 "$tmp/once-busy.log")"
	fi
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	spid=
fi

kill -0 "$qpid" 2>/dev/null && ok "QEMU (pid $qpid) still up: stopped by pid at the end" || notok "QEMU still up" "$(tail -3 "$tmp/qemu.log")"
echo "1..$n"
[ $fails -eq 0 ]
