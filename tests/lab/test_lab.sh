#!/usr/bin/env bash
# test_lab.sh - a short lab run (baseline): namespaces, veth queues, memcached+nginx, the ramp's CSV/table/SVG, tear-down also on SIGINT.
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
bg=
cleanup() {
	[ -n "$bg" ] && kill -TERM "$bg" 2>/dev/null && wait "$bg" 2>/dev/null
	# a failed test must not leave anything behind either
	for ns in "$prefix-srv" "$prefix-cli"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
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
if [ ! -x "$build/vspaced" ]; then
	bad "vspaced policy without vspaced" "policy vspace-e needs vspaced" --policies baseline,vspace-e
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
	local out=$1 p left=()
	ip netns list | grep -q "^$prefix-" && left+=("netns: $(ip netns list | grep "^$prefix-" | tr '\n' ' ')")
	ip link show "$prefix-srv0" >/dev/null 2>&1 && left+=("veth $prefix-srv0")
	[ -e "/run/vspace-lab/$prefix" ] && left+=("/run/vspace-lab/$prefix")
	for p in $(sed -n 's/^lab: \(memcached\|nginx\) pid \([0-9]*\).*/\2/p' "$out/lab.log"); do
		kill -0 "$p" 2>/dev/null && left+=("pid $p ($(cat /proc/$p/comm 2>/dev/null))")
	done
	[ ${#left[@]} -eq 0 ] || { printf '%s\n' "${left[@]}"; return 1; }
}

# --- a short baseline run over both services ---
out=$tmp/run
log=$("$LAB" --build "$build" --prefix "$prefix" --policies baseline --service both --steps 1000,3000 \
	--step-s 1 --max-lag-us 100000 --out "$out" 2>&1)
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
	ok "steps.csv: 4 rows (2 services x 2 steps) with rates, p95, busy cores, allowed cpus" ||
	notok "steps.csv" "$(cat "$out/steps.csv" 2>/dev/null)"
grep -q '^max QPS' "$out/summary.txt" 2>/dev/null && grep -q "^offered *| baseline" "$out/summary.txt" &&
	grep -q "^memcached, SLO p95 1000 us" "$out/summary.txt" && grep -q "^nginx, SLO p95 10000 us" "$out/summary.txt" &&
	ok "comparison table per service" || notok "summary" "$(cat "$out/summary.txt" 2>/dev/null)"
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
left=$(gone "$out") && ok "torn down after a normal run" || notok "torn down after a normal run" "$left"

# --- the vspaced wiring, against a stand-in daemon (tests/lab/fake-vspaced:
# it answers {"ok":true} and manages nothing; these are not vspaced results) ---
if command -v socat >/dev/null; then
	fb=$tmp/fakebuild
	mkdir -p "$fb"
	ln -s "$(cd "$build" && pwd)/vspace" "$fb/vspace"
	ln -s "$here/fake-vspaced" "$fb/vspaced"
	out=$tmp/fake
	log=$(FAKE_VSPACED_LOG=$tmp/fake.log "$LAB" --build "$fb" --prefix "$prefix" --policies vspace-e \
		--service memcached --steps 1000 --step-s 1 --max-lag-us 100000 --out "$out" 2>&1)
	rc=$?
	conf=$tmp/fake.log.conf
	mcpid=$(sed -n 's/^lab: memcached pid \([0-9]*\).*/\1/p' "$out/lab.log")
	if [ $rc -eq 0 ] && [ -s "$conf" ] && grep -qx 'cores=0-1' "$conf" && grep -qx "nic=$prefix-srv0" "$conf" &&
		grep -qx "nic_netns=$prefix-srv" "$conf" && grep -qx 'mode=E' "$conf" && grep -qx 'period_ms=100' "$conf" &&
		grep -qx "control_socket=/run/vspace-lab/$prefix/vspaced.sock" "$conf" && grep -qx 'on_exit=restore' "$conf" &&
		grep -qx '\[workload "memcached"\]' "$conf" && grep -qx 'role=lc' "$conf" &&
		grep -qx 'slo_p95_us=1000' "$conf" && grep -qx "pid=$mcpid" "$conf"; then
		ok "vspaced run: the config carries the contract's keys (mode=E, nic in its netns, the memcached pid)"
	else
		notok "vspaced config" "rc=$rc" "$log" "$(cat "$conf" 2>/dev/null)"
	fi
	nrep=$(grep -c '"cmd":"report","workload":"memcached","p95_us":' "$tmp/fake.log" 2>/dev/null)
	acked=$(awk -F, 'NR > 1 { print $21 }' "$out/steps.csv" 2>/dev/null)
	[ "${nrep:-0}" -ge 5 ] && [ "${acked:-0}" -ge 5 ] &&
		ok "vspaced run: the loadgen's 100 ms p95 reports reach the control socket ($nrep) and are acknowledged ($acked)" ||
		notok "vspaced reports" "reports=$nrep acked=$acked" "$(head -3 "$tmp/fake.log" 2>/dev/null)"
	pgrep -f "UNIX-LISTEN:/run/vspace-lab/$prefix/" >/dev/null && notok "vspaced stopped after its run" ||
		ok "vspaced stopped after its run"
	left=$(gone "$out") && ok "torn down after a vspaced run" || notok "torn down after a vspaced run" "$left"
else
	n=$((n + 1)); echo "ok $n - vspaced wiring # SKIP socat not installed"
fi

# --- SIGINT in the middle of a step: exit 130, everything torn down; a second
# run with the same prefix meanwhile is refused and does not disturb the first ---
out=$tmp/int
# (a background job of a script starts with SIGINT ignored; give it the default
# disposition, as a terminal's Ctrl-C would find it)
env --default-signal=INT "$LAB" --build "$build" --prefix "$prefix" --policies baseline \
	--steps 1000,1000,1000 --step-s 5 --out "$out" >"$tmp/int.log" 2>&1 &
bg=$!
for _ in $(seq 100); do grep -q 'policy baseline' "$tmp/int.log" 2>/dev/null && break; sleep 0.1; done
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
[ $rc -eq 130 ] && grep -q "interrupted; tearing down" "$tmp/int.log" && ok "SIGINT: exit 130" ||
	notok "SIGINT" "rc=$rc" "$(cat "$tmp/int.log")"
left=$(gone "$out") && ok "torn down after SIGINT" || notok "torn down after SIGINT" "$left"

echo "1..$n"
[ $fails -eq 0 ]
