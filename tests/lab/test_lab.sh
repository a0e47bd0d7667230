#!/usr/bin/env bash
# test_lab.sh - a short lab run (baseline and vspaced in vspace-e): namespaces, veth queues, memcached+nginx, vspaced placing them and putting everything back, the ramp's CSV/table/SVG, tear-down also on SIGINT.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${VS_BUILD:-build}
LAB=$root/scripts/lab
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip_all() { echo "ok 1 - lab # SKIP $1"; echo "1..1"; exit 0; }

# names reserved for the lab start with "vsl"; this test's prefix is its own
prefix=vslt$(($$ % 100000))
tmp=$(mktemp -d /tmp/vsl-labtest.XXXXXX)
mport=$("$root/tests/free-port") || mport=19426 # vspaced's metrics port
bg=
cleanup() {
	local p d t
	[ -n "$bg" ] && kill -TERM "$bg" 2>/dev/null && wait "$bg" 2>/dev/null
	# a failed test must not leave anything behind either: a vspaced the lab
	# did not stop (SIGTERM: it restores), our namespaces, our cgroups
	for p in $(cat "$tmp"/*/lab.log 2>/dev/null | sed -n 's/^lab: vspaced pid \([0-9]*\).*/\1/p'); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = vspaced ] && kill -TERM "$p" 2>/dev/null && sleep 1
	done
	for ns in "$prefix-srv" "$prefix-cli"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	for d in $(find /sys/fs/cgroup/*/"$prefix"-* /sys/fs/cgroup/"$prefix"-* -depth -type d 2>/dev/null); do
		for t in $(cat "$d/cgroup.procs" 2>/dev/null); do echo "$t" >"${d%%/$prefix-*}/cgroup.procs"; done 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
	rm -rf "$tmp" "/run/vspace-lab/$prefix" "/run/vspace-lab/$prefix.lock"
}
trap cleanup EXIT

# --- bad arguments (no root needed) ---
bad() { # name, fragment, args...
	local name=$1 frag=$2 out rc
	shift 2
	out=$("$LAB" --build "$build" "$@" 2>&1)
	rc=$?
	[ $rc -eq 2 ] && grep -qF -- "$frag" <<<"$out" && ok "bad args: $name" || notok "bad args: $name" "rc=$rc" "$out"
}
bad "unknown policy" 'unknown policy "vspace-x"' --policies baseline,vspace-x
bad "prefix outside the reserved names" '--prefix: "lab1" must be "vsl"' --prefix lab1
bad "bad step" '--steps: "fast" is not a positive rate' --steps 1000,fast
bad "bad cores" '--cores: cpu 4096 does not exist' --cores 4096
bad "unknown argument" 'unknown argument "--frob"' --frob
bad "vspaced priority" '--vspaced-rt: "0" is not a SCHED_FIFO priority' --vspaced-rt 0
bad "loadgen cpus" '--loadgen-cpus: "0-x" is not a cpu list' --loadgen-cpus 0-x
# a build without vspaced: the vspaced policies are refused
nod=$tmp/novspaced
mkdir -p "$nod"
ln -s "$(cd "$build" && pwd)/vspace" "$nod/vspace"
out=$("$LAB" --build "$nod" --policies baseline,vspace-e 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "policy vspace-e needs vspaced and vspacectl" <<<"$out" &&
	ok "bad args: vspaced policy without vspaced" || notok "bad args: vspaced policy without vspaced" "rc=$rc" "$out"

# --- the plot alone (--plot DIR, no root): the SLO line inside the frame, failed steps marked ---
pd=$tmp/plot
mkdir -p "$pd"
out=$("$LAB" --build "$build" --plot "$pd" 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q -- "--plot: $pd/steps.csv is missing or empty" <<<"$out" &&
	ok "bad args: --plot without steps.csv" || notok "bad args: --plot without steps.csv" "rc=$rc" "$out"
if command -v gnuplot >/dev/null; then
	# 32 columns as the lab writes them: policy, service, offered, ..., p95 (7th), ..., run, verdict
	plot_row() { # policy qps p95 run verdict
		local a=("$1" memcached "$2" "$2" "$2" 50 "$3")
		while [ ${#a[@]} -lt 30 ]; do a+=(0); done
		a+=("$4" "$5")
		(IFS=,; echo "${a[*]}")
	}
	{
		echo "policy,service,offered_qps,scheduled_qps,achieved_qps,p50_us,p95_us,p99_us,p999_us,errors,timeouts,sender_lag,lag_p99_us,pass,busy_cores,softirq_cores,server_cores,loadgen_cpu_s,server_cpus,rps_masks,reports_acked,reports_rejected,xps_masks,busy_by_core,softirq_by_core,others_cores,vs_vcpu_cores,vs_nq_cores,vs_layout,vs_reports,run,verdict"
		for r in 1 2; do
			plot_row baseline 2000 120 $r ok
			plot_row baseline 5000 400 $r ok
			plot_row baseline 10000 800 $r "p95 over SLO" # a median under the SLO, both runs failed
			plot_row baseline 20000 "" $r errors
			plot_row vspace-e 2000 100 $r ok
			plot_row vspace-e 20000 900 $r "sender lag"
		done
	} >"$pd/steps.csv"
	out=$("$LAB" --build "$build" --plot "$pd" 2>&1)
	rc=$?
	svg=$pd/p95-memcached.svg
	# the p95 axis runs from well below to well above the SLO (1000 us): the line is inside the frame
	axis=$(sed -n 's/^lab: plot memcached: p95 axis \([0-9.e+]*\) \.\. \([0-9.e+]*\) us, SLO 1000 us$/\1 \2/p' <<<"$out")
	[ $rc -eq 0 ] && [ -n "$axis" ] && awk -v a="$axis" 'BEGIN { split(a, x, " "); exit !(x[1] <= 1000 / 2 && x[2] >= 1000 * 2) }' &&
		grep -q '>SLO: p95 1000 us<' "$svg" && grep -q '>baseline<' "$svg" && grep -q '>vspace-e<' "$svg" &&
		grep -q '>S2<' "$svg" && grep -q '>L2<' "$svg" && grep -q '>no p95: E2<' "$svg" && grep -q '>failed runs<' "$svg"
	[ $? -eq 0 ] && ok "--plot: SLO line inside the p95 axis ($axis us) and in the key, failed steps marked (S2, L2, no p95: E2)" ||
		notok "--plot" "rc=$rc axis=$axis" "$out"
else
	n=$((n + 1)); echo "ok $n - --plot # SKIP gnuplot not installed"
fi

[ "$(id -u)" -eq 0 ] || { echo "1..$n"; echo "# lab runs skipped: not root"; [ $fails -eq 0 ]; exit; }
for t in ip ethtool memcached nginx jq; do
	command -v $t >/dev/null || { n=$((n + 1)); echo "ok $n - lab run # SKIP $t not installed"; echo "1..$n"; [ $fails -eq 0 ]; exit; }
done
if ! ip netns add "$prefix-probe" 2>/dev/null; then
	n=$((n + 1)); echo "ok $n - lab run # SKIP cannot create network namespaces"; echo "1..$n"; [ $fails -eq 0 ]; exit
fi
ip netns del "$prefix-probe"

gone() { # out dir: nothing of the run is left
	local out=$1 p d left=()
	ip netns list | grep -q "^$prefix-" && left+=("netns: $(ip netns list | grep "^$prefix-" | tr '\n' ' ')")
	ip link show "$prefix-srv0" >/dev/null 2>&1 && left+=("veth $prefix-srv0")
	[ -e "/run/vspace-lab/$prefix" ] && left+=("/run/vspace-lab/$prefix")
	for p in $(sed -n 's/^lab: \(memcached\|nginx\|vspaced\) pid \([0-9]*\).*/\2/p' "$out/lab.log"); do
		kill -0 "$p" 2>/dev/null && left+=("pid $p ($(cat /proc/$p/comm 2>/dev/null))")
	done
	for d in /sys/fs/cgroup/*/"$prefix"-* /sys/fs/cgroup/"$prefix"-*; do
		[ -e "$d" ] && left+=("cgroup $d")
	done
	[ ${#left[@]} -eq 0 ] || { printf '%s\n' "${left[@]}"; return 1; }
}

# --- a short run over both services: the baseline, then vspaced in vspace-e ---
out=$tmp/run
log=$("$LAB" --build "$build" --prefix "$prefix" --policies baseline,vspace-e --service both --steps 1000,3000 \
	--step-s 1 --max-lag-us 100000 --metrics-port "$mport" --out "$out" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "short lab run exits 0" || notok "short lab run" "rc=$rc" "$log"
grep -q "memcached pid [0-9]* on 198.18.0.1:11211" <<<"$log" && grep -q "nginx pid [0-9]* on 198.18.0.1:80" <<<"$log" &&
	grep -q "2 queues per side" <<<"$log" && ok "testbed: 2-queue veth, memcached and nginx in the server namespace" ||
	notok "testbed" "$log"
rows=$(tail -n +2 "$out/steps.csv" 2>/dev/null)
# (p95 is empty only when the loadgen itself lagged, which the verdict then says)
good=$(awk -F, '$1 == "baseline" && $5 > 0 && ($7 > 0 || $NF == "sender lag") && $15 > 0 && $19 != "" &&
	$NF ~ /^(ok|sender lag|p95 over SLO|errors|server behind|no replies)$/ { k++ } END { print k + 0 }' <<<"$rows")
[ "$good" -eq 4 ] && [ "$(cut -d, -f2 <<<"$rows" | sort -u | paste -sd' ')" = "memcached nginx" ] &&
	ok "steps.csv: 4 baseline rows (2 services x 2 steps) with rates, p95, busy cores, allowed cpus" ||
	notok "steps.csv" "$(cat "$out/steps.csv" 2>/dev/null)"
grep -q '^max QPS' "$out/summary.txt" 2>/dev/null && grep -q "^offered *| baseline *| vspace-e" "$out/summary.txt" &&
	grep -q "^memcached, SLO p95 1000 us" "$out/summary.txt" && grep -q "^nginx, SLO p95 10000 us" "$out/summary.txt" &&
	grep -q "^groups *| all shared *| vCPU 1 + NQ 1" "$out/summary.txt" &&
	ok "comparison table per service, with vspaced's groups" || notok "summary" "$(cat "$out/summary.txt" 2>/dev/null)"
for s in memcached nginx; do
	[ "$(jq -r .sent "$out/loadgen-baseline-$s-3000.json" 2>/dev/null)" -gt 0 ] 2>/dev/null ||
		{ notok "loadgen JSON per step ($s)"; continue; }
	ok "loadgen JSON per step ($s)"
done
if command -v gnuplot >/dev/null; then
	grep -q '<svg' "$out/p95-memcached.svg" 2>/dev/null && grep -q '<svg' "$out/p95-nginx.svg" 2>/dev/null &&
		ok "SVG plots" || notok "SVG plots"
else
	n=$((n + 1)); echo "ok $n - SVG plots # SKIP gnuplot not installed"
fi

# --- vspaced (vspace-e): the real daemon placed each server and put it all back ---
mcpid=$(sed -n 's/^lab: memcached pid \([0-9]*\).*/\1/p' "$out/lab.log")
conf=$out/vspaced-vspace-e-memcached.conf
if [ -s "$conf" ] && grep -qx 'cores=0-1' "$conf" && grep -qx "nic=$prefix-srv0" "$conf" &&
	grep -qx "nic_netns=$prefix-srv" "$conf" && grep -qx 'mode=E' "$conf" && grep -qx 'period_ms=100' "$conf" &&
	grep -qx "control_socket=/run/vspace-lab/$prefix/vspaced.sock" "$conf" && grep -qx 'on_exit=restore' "$conf" &&
	grep -qx 'rt_priority=2' "$conf" && grep -qx "cgroup_parent=$prefix-vspaced" "$conf" &&
	grep -qx '\[workload "memcached"\]' "$conf" && grep -qx 'role=lc' "$conf" &&
	grep -qx 'slo_p95_us=1000' "$conf" && grep -qx "pid=$mcpid" "$conf" &&
	grep -qx "cgroup=/$prefix-nginx" "$out/vspaced-vspace-e-nginx.conf"; then
	ok "vspaced config: the keys of DAEMON.md, memcached by pid, nginx by its cgroup, loop at SCHED_FIFO 2"
else
	notok "vspaced config" "$(cat "$conf" "$out/vspaced-vspace-e-nginx.conf" 2>/dev/null)"
fi
for s in memcached nginx; do
	vlog=$out/vspaced-vspace-e-$s.log
	grep -q "control loop at SCHED_FIFO priority 2" "$vlog" 2>/dev/null &&
		grep -q "workload $s: .* threads (process), placed by cgroup1" "$vlog" &&
		grep -q "restoring [0-9]* recorded settings" "$vlog" && ! grep -q "could not be restored\|failed" "$vlog" &&
		ok "vspaced ($s): found the server, ran at SCHED_FIFO 2, restored on SIGTERM" ||
		notok "vspaced log ($s)" "$(cat "$vlog" 2>/dev/null)"
	# per step, as the kernel saw it: the server threads may run only on the
	# vCPU core, the RPS mask of every active rx queue is the NQ core, XPS
	# covers the NQ core; vspaced's status agrees and counts the reports
	bad_rows=$(awk -F, -v s="$s" '$1 == "vspace-e" && $2 == s' "$out/steps.csv" | while IFS=, read -r -a f; do
		st=$out/vspaced-status-vspace-e-$s-${f[2]}.jsonl
		v=$(jq -rs --arg w "$s" '[.[] | .workloads[]? | select(.name == $w)] | last | .vcpu_cores // ""' "$st" 2>/dev/null)
		q=$(jq -rs --arg w "$s" '[.[] | .workloads[]? | select(.name == $w)] | last | .nq_cores // ""' "$st" 2>/dev/null)
		want_mask=$(printf '%x' $((1 << ${q:-0})))
		why=
		[[ $v =~ ^[0-9]+$ && $q =~ ^[0-9]+$ && $v != "$q" ]] || why="status: vcpu_cores \"$v\", nq_cores \"$q\""
		[ "${f[18]}" = "$v" ] || why="$why; server threads allowed on \"${f[18]}\", vCPU core $v"
		for m in ${f[19]//\// }; do [ "$m" = "$want_mask" ] || why="$why; rps mask $m, NQ core mask $want_mask"; done
		(((0x${f[22]%%/*} >> q) & 1)) 2>/dev/null || why="$why; xps ${f[22]} misses the NQ core"
		[ "${f[26]}" = 1 ] && [ "${f[27]}" = 1 ] && [ "${f[28]}" = isolated ] || why="$why; groups ${f[26]}+${f[27]} ${f[28]}"
		[ "${f[20]:-0}" -ge 5 ] && [ "${f[21]}" = 0 ] && [ "${f[29]:-0}" -ge 5 ] ||
			why="$why; reports acked ${f[20]} rejected ${f[21]}, received by vspaced ${f[29]}"
		[ -z "$why" ] || echo "${f[2]} QPS:$why"
	done)
	nrows=$(awk -F, -v s="$s" '$1 == "vspace-e" && $2 == s' "$out/steps.csv" | wc -l)
	[ "$nrows" -eq 2 ] && [ -z "$bad_rows" ] &&
		ok "vspaced placed $s: threads on the vCPU core, RPS/XPS on the NQ core, p95 reports accepted (2 steps)" ||
		notok "vspaced placement ($s)" "rows=$nrows" "$bad_rows" "$(grep "^vspace-e,$s" "$out/steps.csv")"
	# the restore check: the lab's before/after records agree, and differ
	# from what was in force during the run (not a vacuous comparison)
	rf=$out/restore-vspace-e-$s.txt
	before=$(sed -n 's/^before: //p' "$rf" 2>/dev/null)
	during=$(sed -n 's/^during: //p' "$rf" 2>/dev/null)
	after=$(sed -n 's/^after: //p' "$rf" 2>/dev/null)
	if [ -n "$before" ] && [ "$before" = "$after" ] && [ "$during" != "$before" ] &&
		grep -q "^thread .* allowed 0-1 cpuset /$" <<<"$before" &&
		grep -q "^thread .* cpuset /$prefix-vspaced/$s/vcpu$" <<<"$during" &&
		! grep -q "^thread .* cpuset /$" <<<"$during" &&
		grep -q "vspaced put back the channels, RPS/XPS masks and $s's allowed CPUs and cpusets" "$out/lab.log"; then
		ok "vspaced restored $s: channels, RPS/XPS masks, threads' allowed CPUs and cpusets as before"
	else
		notok "vspaced restore ($s)" "$(cat "$rf" 2>/dev/null)"
	fi
done
left=$(gone "$out") && ok "torn down after a normal run (namespaces, servers, vspaced, cgroups)" ||
	notok "torn down after a normal run" "$left"

# --- --repeat: the ramp twice, files per run, the table's median ---
out=$tmp/rep
log=$("$LAB" --build "$build" --prefix "$prefix" --policies baseline --service memcached --steps 1000 \
	--step-s 0.5 --max-lag-us 100000 --repeat 2 --out "$out" 2>&1)
rc=$?
runs=$(awk -F, 'NR > 1 { print $31 }' "$out/steps.csv" 2>/dev/null | sort | paste -sd' ')
want=$(awk -F, 'NR > 1 && $7 != "" { v[++n] = $7 } END { if (n == 2) printf "%.0f", (v[1] + v[2]) / 2 }' "$out/steps.csv" 2>/dev/null)
got=$(awk '$1 == 1000 { print $3 }' "$out/summary.txt" 2>/dev/null)
[ $rc -eq 0 ] && [ "$runs" = "1 2" ] && [ -s "$out/loadgen-baseline-memcached-1000-r1.json" ] &&
	[ -s "$out/loadgen-baseline-memcached-1000-r2.json" ] && grep -q "median p95 in us per step over 2 runs" "$out/summary.txt" &&
	[ -n "$want" ] && [ "$got" = "$want" ] &&
	ok "--repeat 2: two runs of the ramp, files per run, the table shows the median p95 ($got us)" ||
	notok "--repeat" "rc=$rc runs=\"$runs\" median want=$want got=$got" "$log"

# --- SIGINT in the middle of a step: exit 130, everything torn down; a second
# run with the same prefix meanwhile is refused and does not disturb the first ---
out=$tmp/int
# (a background job of a script starts with SIGINT ignored; give it the default
# disposition, as a terminal's Ctrl-C would find it)
# (vspaced runs too: the interrupt must stop it, and it puts back what it changed)
env --default-signal=INT "$LAB" --build "$build" --prefix "$prefix" --policies vspace-e --service nginx \
	--steps 1000,1000,1000 --step-s 5 --metrics-port "$mport" --out "$out" >"$tmp/int.log" 2>&1 &
bg=$!
for _ in $(seq 150); do grep -q 'vspaced pid' "$tmp/int.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
second=$("$LAB" --build "$build" --prefix "$prefix" --policies baseline --steps 1000 --step-s 1 --out "$tmp/second" 2>&1)
rc2=$?
[ $rc2 -eq 1 ] && grep -q "another lab run with prefix $prefix is active" <<<"$second" &&
	ip netns list | grep -q "^$prefix-srv" && ok "a second run with the same prefix is refused and leaves the first alone" ||
	notok "second run" "rc=$rc2" "$second"
kill -INT $bg
wait $bg
rc=$?
bg=
[ $rc -eq 130 ] && grep -q "interrupted; tearing down" "$tmp/int.log" &&
	grep -q "restoring [0-9]* recorded settings" "$out/vspaced-vspace-e-nginx.log" 2>/dev/null &&
	ok "SIGINT: exit 130, vspaced stopped and restored" ||
	notok "SIGINT" "rc=$rc" "$(cat "$tmp/int.log" "$out/vspaced-vspace-e-nginx.log" 2>/dev/null)"
left=$(gone "$out") && ok "torn down after SIGINT" || notok "torn down after SIGINT" "$left"

echo "1..$n"
[ $fails -eq 0 ]
