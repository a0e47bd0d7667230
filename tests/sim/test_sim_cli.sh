#!/usr/bin/env bash
# test_sim_cli.sh - `vspace sim`: same seed gives byte-identical CSV, parallel runs equal serial ones, scenarios write what they say, bad input exits 2 naming it.
set -u
VS=${VS_BUILD:-build}/vspace
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift
	for l in "$@"; do echo "# $l"; done
}
check() { # name, command... (success = exit 0)
	local name=$1; shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

header=time_s,offered_qps,achieved_qps,p95_us,p99_us,n_vcpu,n_nq,n_be,u_vcpu,u_nq,th_vcpu,th_nq,energy_j,pirqs,virqs,ctx_switches,migrations,vm_exits,busy_vcpu_raw,halt_poll_cores,host_irqs,res_ipis,cal_ipis,wakeups,wake_idle,ibpbs,l1d_flushes,vcpu_migrations,refill_cores,mitigation_cores

# --- determinism ---------------------------------------------------------------------------
"$VS" sim run --policy vspace-e --qps 150k --duration 1 --seed 7 --csv "$tmp/a.csv" >"$tmp/a.out" 2>&1
rc=$?
"$VS" sim run --policy vspace-e --qps 150k --duration 1 --seed 7 --csv "$tmp/b.csv" >/dev/null 2>&1
"$VS" sim run --policy vspace-e --qps 150k --duration 1 --seed 8 --csv "$tmp/c.csv" >/dev/null 2>&1
[ $rc -eq 0 ] && ok "run exits 0" || notok "run exits 0" "rc=$rc" "$(cat "$tmp/a.out")"
if cmp -s "$tmp/a.csv" "$tmp/b.csv"; then ok "same seed: byte-identical CSV"; else notok "same seed: byte-identical CSV"; fi
if ! cmp -s "$tmp/a.csv" "$tmp/c.csv"; then ok "another seed: another CSV"; else notok "another seed: another CSV"; fi
[ "$(head -1 "$tmp/a.csv")" = "$header" ] && ok "CSV header" || notok "CSV header" "$(head -1 "$tmp/a.csv")"
rows=$(tail -n +2 "$tmp/a.csv" | wc -l)
[ "$rows" -eq 10 ] && ok "one row per 100 ms period" || notok "one row per 100 ms period" "rows=$rows"
bad=$(tail -n +2 "$tmp/a.csv" | awk -F, 'NF != 30 || $2 != 150000 || $3 < 100000 || $3 > 200000 || $6 + $7 > 20 { print NR }' | head -3)
[ -z "$bad" ] && ok "rows well-formed, achieved load near offered, groups fit 20 cores" ||
	notok "rows well-formed" "bad rows: $bad"
grep -q 'p95 [0-9.]* us' "$tmp/a.out" && ok "summary names the p95" || notok "summary names the p95" "$(cat "$tmp/a.out")"

# halt-poll accounting: auto (the default) subtracts the VM's polling from U_v, off does not
"$VS" sim run --policy vspace-e --qps 150k --duration 1 --seed 7 --halt-poll-accounting auto \
	--csv "$tmp/hp-auto.csv" >"$tmp/hp-auto.out" 2>&1
"$VS" sim run --policy vspace-e --qps 150k --duration 1 --seed 7 --halt-poll-accounting off \
	--csv "$tmp/hp-off.csv" >"$tmp/hp-off.out" 2>&1
cmp -s "$tmp/a.csv" "$tmp/hp-auto.csv" && ok "--halt-poll-accounting auto is the default" ||
	notok "--halt-poll-accounting auto is the default"
# every row: u_vcpu * n_vcpu = busy_vcpu_raw - halt_poll_cores (auto) or = busy_vcpu_raw (off)
bad=$(tail -n +2 "$tmp/hp-auto.csv" | awk -F, '{ d = $9 * $6 - ($19 - $20); if ($20 < 0 || $20 > $19 + 1e-3 || d > 0.01 || d < -0.01) print NR }' | head -3)
poll=$(tail -n +2 "$tmp/hp-auto.csv" | awk -F, '{ s += $20 } END { print s + 0 }')
[ -z "$bad" ] && awk -v p="$poll" 'BEGIN { exit !(p > 0) }' && ok "auto: U_v = busy - KVM halt polling in every row" ||
	notok "auto: U_v = busy - polling" "bad rows: $bad, polling $poll"
bad=$(tail -n +2 "$tmp/hp-off.csv" | awk -F, '{ d = $9 * $6 - $19; if (d > 0.01 || d < -0.01) print NR }' | head -3)
[ -z "$bad" ] && ok "off: U_v = busy, polling included" || notok "off: U_v = busy" "bad rows: $bad"
grep -q 'counted in U_v (--halt-poll-accounting off)' "$tmp/hp-off.out" &&
	grep -q 'subtracted from U_v (--halt-poll-accounting auto)' "$tmp/hp-auto.out" &&
	ok "the summary says how halt polling was treated" || notok "summary names the accounting" "$(cat "$tmp/hp-off.out")"

# the packet paths of es2 and sriov are accepted and change the outcome
for p in es2 sriov; do
	if "$VS" sim run --policy $p --qps 100k --duration 0.5 --csv "$tmp/$p.csv" >/dev/null 2>&1 &&
		[ "$(tail -n +2 "$tmp/$p.csv" | wc -l)" -eq 5 ]; then ok "policy $p runs"; else notok "policy $p runs"; fi
done
"$VS" sim run --policy static-ts:20:2 --qps 100k --duration 0.5 --csv "$tmp/ts2.csv" >/dev/null 2>&1
if ! cmp -s "$tmp/sriov.csv" "$tmp/ts2.csv"; then ok "sriov differs from virtio under the same allocation"; else notok "sriov differs from virtio"; fi
sriov_pirqs=$(tail -n +2 "$tmp/sriov.csv" | awk -F, '{ s += $14 } END { print s }')
[ "$sriov_pirqs" = 0 ] && ok "sriov: no host NIC interrupts" || notok "sriov: no host NIC interrupts" "pirqs=$sriov_pirqs"

# physical and virtio queue counts set apart: the policy form and the options are the same configuration
"$VS" sim run --policy static-ts:20:1:20 --qps 100k --duration 0.5 --csv "$tmp/q1.csv" >/dev/null 2>&1
"$VS" sim run --policy static-ts:20:20 --pnqs 1 --vnqs 20 --qps 100k --duration 0.5 --csv "$tmp/q2.csv" >/dev/null 2>&1
"$VS" sim run --policy static-ts:20:20 --qps 100k --duration 0.5 --csv "$tmp/q3.csv" >/dev/null 2>&1
if [ -s "$tmp/q1.csv" ] && cmp -s "$tmp/q1.csv" "$tmp/q2.csv" && ! cmp -s "$tmp/q1.csv" "$tmp/q3.csv"; then
	ok "static-ts:20:1:20 = static-ts:20:20 --pnqs 1 --vnqs 20, and differs from 20 + 20"
else
	notok "1 pNQ + 20 vNQ two ways"
fi
"$VS" sim run --policy static-ts:20:20 --mitigations off --qps 100k --duration 0.5 --csv "$tmp/nomit.csv" >/dev/null 2>&1
ibpb_on=$(tail -n +2 "$tmp/q3.csv" | awk -F, '{ s += $26 } END { print s + 0 }')
ibpb_off=$(tail -n +2 "$tmp/nomit.csv" | awk -F, '{ s += $26 + $27 } END { print s + 0 }')
[ "$ibpb_on" -gt 0 ] && [ "$ibpb_off" = 0 ] && ok "--mitigations off: no IBPB, no L1D flush ($ibpb_on IBPBs with them)" ||
	notok "--mitigations off" "on $ibpb_on off $ibpb_off"

# --- sweep: parallel equals serial; table and CSV --------------------------------------------
"$VS" sim sweep --policies vspace-p,static-ts:20:1 --loads 50k,300k --duration 0.6 --warmup 0.2 --jobs 2 \
	--csv "$tmp/sw2.csv" >"$tmp/sw2.out" 2>&1
rc=$?
"$VS" sim sweep --policies vspace-p,static-ts:20:1 --loads 50k,300k --duration 0.6 --warmup 0.2 --jobs 1 \
	--csv "$tmp/sw1.csv" >/dev/null 2>&1
[ $rc -eq 0 ] && ok "sweep exits 0" || notok "sweep exits 0" "$(cat "$tmp/sw2.out")"
# everything but the wall-clock column is deterministic
if diff <(cut -d, -f1-21,23- "$tmp/sw1.csv") <(cut -d, -f1-21,23- "$tmp/sw2.csv") >/dev/null; then
	ok "sweep in 2 processes = sweep in 1"
else
	notok "sweep in 2 processes = sweep in 1" "$(diff <(cut -d, -f1-21,23- "$tmp/sw1.csv") <(cut -d, -f1-21,23- "$tmp/sw2.csv") | head -4)"
fi
[ "$(tail -n +2 "$tmp/sw1.csv" | wc -l)" -eq 4 ] && ok "sweep CSV: one row per policy x load" || notok "sweep CSV rows"
grep -q 'max load within SLO' "$tmp/sw2.out" && grep -q '^static-ts:20:1' "$tmp/sw2.out" &&
	ok "sweep table" || notok "sweep table" "$(cat "$tmp/sw2.out")"
# one queue cannot carry 300k: the last column must flag static-ts:20:1 over the SLO
over=$(awk '/^static-ts:20:1/ { print ($3 ~ /\*$/) ? "yes" : "no"; exit }' "$tmp/sw2.out")
[ "$over" = yes ] && ok "sweep flags static-ts:20:1 at 300k over the SLO" || notok "sweep flags 20:1 at 300k" "$(grep '^static-ts' "$tmp/sw2.out")"

# --- dynamic and colocate -------------------------------------------------------------------------
"$VS" sim dynamic --phase-s 0.3 --out "$tmp/dyn" >"$tmp/dyn.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "dynamic exits 0" || notok "dynamic exits 0" "$(cat "$tmp/dyn.out")"
for p in vspace-p vspace-e static-ts_20_20; do
	f=$tmp/dyn/dynamic-$p.csv
	if [ -f "$f" ] && [ "$(head -1 "$f")" = "$header" ] && [ "$(tail -n +2 "$f" | wc -l)" -eq 27 ]; then
		ok "dynamic writes $p CSV (9 steps x 3 periods)"
	else
		notok "dynamic writes $p CSV" "$(ls "$tmp/dyn" 2>&1)"
	fi
done
loads=$(tail -n +2 "$tmp/dyn/dynamic-vspace-e.csv" | cut -d, -f2 | uniq | tr '\n' ' ')
[ "$loads" = "50000 100000 150000 200000 250000 200000 150000 100000 50000 " ] &&
	ok "dynamic load steps 50 -> 250 -> 50 kQPS" || notok "dynamic load steps" "$loads"
grep -q 'SLO-violating periods' "$tmp/dyn.out" && grep -q 'energy J' "$tmp/dyn.out" &&
	ok "dynamic summary table" || notok "dynamic summary table" "$(cat "$tmp/dyn.out")"

# plots: an SVG with gnuplot; without it a note and exit 0
plot=$(dirname "$0")/../../scripts/sim-plot
if command -v gnuplot >/dev/null 2>&1; then
	out=$("$plot" "$tmp/dyn" 2>&1)
	if [ $? -eq 0 ] && grep -q '<svg' "$tmp/dyn/dynamic.svg" 2>/dev/null && grep -q 'vspace-e' "$tmp/dyn/dynamic.svg"; then
		ok "sim-plot writes dynamic.svg"
	else
		notok "sim-plot writes dynamic.svg" "$out"
	fi
else
	echo "ok $((n += 1)) - sim-plot writes dynamic.svg # SKIP gnuplot not installed"
fi
mkdir -p "$tmp/nognuplot"
ln -s "$(command -v bash)" "$tmp/nognuplot/bash"
ln -s "$(command -v basename)" "$tmp/nognuplot/basename"
out=$(PATH=$tmp/nognuplot bash "$plot" "$tmp/dyn" 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q 'gnuplot not installed' <<<"$out" && ok "sim-plot without gnuplot: a note, exit 0" ||
	notok "sim-plot without gnuplot" "rc=$rc" "$out"

"$VS" sim colocate --phase-s 0.3 --policies vspace-r --out "$tmp/co" >"$tmp/co.out" 2>&1
rc=$?
be=$(tail -n +2 "$tmp/co/colocate-vspace-r.csv" 2>/dev/null | awk -F, 'NR <= 3 { s += $8 } END { print s + 0 }')
[ $rc -eq 0 ] && [ "$be" -gt 0 ] && ok "colocate: vspace-r gives BE cores at low load" ||
	notok "colocate" "rc=$rc be=$be" "$(cat "$tmp/co.out")"

"$VS" sim energy --policies vspace-e,static-ts:20:20 --loads 50k --duration 0.5 --warmup 0.1 >"$tmp/en.out" 2>&1
rc=$?
e_vs=$(awk '/^vspace-e/ { sub(/\(.*/, "", $2); print $2; exit }' "$tmp/en.out")
e_ts=$(awk '/^static-ts/ { sub(/\(.*/, "", $2); print $2; exit }' "$tmp/en.out")
[ $rc -eq 0 ] && awk -v a="$e_vs" -v b="$e_ts" 'BEGIN { exit !(a > 0 && b > a) }' &&
	ok "energy: vspace-e draws less power than static-ts at 50k ($e_vs W < $e_ts W)" ||
	notok "energy table" "rc=$rc" "$(cat "$tmp/en.out")"

# --- sensitivity: a short version (the full one is a documented command) -------------------------
"$VS" sim sensitivity --policies vspace-p,static-ts:20:1 --knobs host-pkt --factors 0.5,4 --step 100k --max-qps 300k \
	--duration 0.5 --warmup 0.2 --energy-qps 100k --jobs 2 --csv "$tmp/sens.csv" >"$tmp/sens.out" 2>&1
rc=$?
rows=$(tail -n +2 "$tmp/sens.csv" 2>/dev/null | wc -l)
[ $rc -eq 0 ] && [ "$rows" -eq 6 ] && grep -q '^(costs.h)' "$tmp/sens.out" && grep -q '^host-pkt' "$tmp/sens.out" &&
	ok "sensitivity: a reference row and one per scale, CSV per policy" || notok "sensitivity" "rc=$rc rows=$rows" "$(cat "$tmp/sens.out")"
# one queue: the single core doing softirq and vhost saturates sooner when packets cost 4x
q_ref=$(awk -F, '$1 == "none" && $3 == "static-ts:20:1" { print $4 }' "$tmp/sens.csv")
q_x4=$(awk -F, '$1 == "host-pkt" && $2 == 4 && $3 == "static-ts:20:1" { print $4 }' "$tmp/sens.csv")
awk -v a="$q_ref" -v b="$q_x4" 'BEGIN { exit !(b < a) }' && ok "sensitivity moves the knee with the constant ($q_ref -> $q_x4)" ||
	notok "sensitivity moves the knee" "ref $q_ref x4 $q_x4"

# --- bad input: exit 2 and name what was wrong -----------------------------------------------------
bad() { # name, expected fragment, args...
	local name=$1 frag=$2 out rc
	shift 2
	out=$("$VS" sim "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$frag" <<<"$out"; then ok "$name"; else notok "$name" "rc=$rc" "$out"; fi
}
bad "unknown policy" 'unknown policy "nope"' run --policy nope --qps 1k --duration 1
bad "bad load" '--qps: "12x"' run --policy vspace-e --qps 12x --duration 1
bad "missing arguments" 'needs --policy NAME --qps N --duration S' run --policy vspace-e
bad "option of another command" 'option --loads does not apply to run' run --policy vspace-e --qps 1k --duration 1 --loads 1k
bad "unknown command" 'unknown command "walk"' walk
bad "bad workload" '--workload: "redis"' run --policy vspace-e --qps 1k --duration 1 --workload redis
bad "static-iso larger than the host" 'needs 24 cores, only 20 managed' sweep --policies static-iso:20:4 --loads 1k
bad "empty list entry" 'empty entry' sweep --policies vspace-e,,corenap --loads 1k
bad "zero load in a sweep" '--loads: "0"' sweep --policies vspace-e --loads 0
bad "bad halt-poll accounting" '--halt-poll-accounting: "sometimes" is not auto or off' run --policy vspace-e --qps 1k --duration 1 --halt-poll-accounting sometimes
bad "duration shorter than a period" 'must be at least one period' run --policy vspace-e --qps 1k --duration 0.05
bad "more pNQs than queues" '30 pNQs: more than the 20 queues' run --policy static-ts:20:20 --pnqs 30 --qps 1k --duration 1
bad "bad NV:NP:NVQ form" 'expected static-ts:NV:NP:NVQ' run --policy static-ts:20:1:x --qps 1k --duration 1
bad "unknown knob" 'unknown constant "foo"' run --policy vspace-e --knob foo=2 --qps 1k --duration 1
bad "bad knob scale" '--knob ibpb: "0"' run --policy vspace-e --knob ibpb=0 --qps 1k --duration 1
bad "bad mitigations" '--mitigations: "maybe"' run --policy vspace-e --mitigations maybe --qps 1k --duration 1
bad "sensitivity: unknown constant" '--knobs: unknown constant "nope"' sensitivity --knobs nope
bad "sensitivity: max below step" 'is below --step' sensitivity --step 100k --max-qps 50k
out=$("$VS" sim run --policy vspace-e --qps 1k --duration 0.2 --csv /nonexistent/dir/x.csv 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q 'cannot write /nonexistent/dir/x.csv' <<<"$out" && ok "unwritable CSV: exit 1 naming the file" ||
	notok "unwritable CSV" "rc=$rc" "$out"
help=$("$VS" sim --help)
grep -q "$header" <<<"$help" && grep -q 'colocate' <<<"$help" && ok "--help lists commands and the CSV columns" || notok "--help"

echo "1..$n"
[ $fails -eq 0 ]
