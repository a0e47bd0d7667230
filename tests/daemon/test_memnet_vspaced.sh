#!/usr/bin/env bash
# test_memnet_vspaced.sh - vspaced's MemNet orchestrator on a fixture tree: [memnet] budget_mb= slo_ms= and per-workload
# memnet=PATH; configuration errors named by file:line; guests (vspace-agent memnet put with job times) on /dev/shm
# regions get their quotas written within the budget, a waiting put gets room, status (JSON and table) and metrics
# show it; a corrupt region is refused without touching the other; --dry-run writes no quota.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${VS_BUILD:-build}
case $B in /*) ;; *) B=$repo/$B ;; esac
VSD=$B/vspaced CTL=$B/vspacectl VS=$B/vspace AG=$B/vspace-agent
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { if eval "$2"; then ok "$1"; else notok "$1" "${@:3}"; fi; }
tmp=$(mktemp -d /tmp/vsmn-vsd.XXXXXX)
R1=/dev/shm/vsmn-vsd-a$$.memnet R2=/dev/shm/vsmn-vsd-b$$.memnet
dpid= spid= wpids=()
cleanup() {
	for p in "${wpids[@]}" $spid; do kill "$p" 2>/dev/null; done
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$tmp" "$R1" "$R2"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$repo"
command -v jq >/dev/null || { echo "ok 1 - vspaced memnet # SKIP jq not installed"; echo "1..1"; exit 0; }

# --- configuration errors: exit 2, file:line, what is wrong --------------------------------------------
base='[host]\ncores=0-1\n[workload "w"]\npid=1\n'
bad() { # name, expected "LINE: message", config text
	printf '%b' "$3" >"$tmp/bad.conf"
	out=$("$VSD" -n -c "$tmp/bad.conf" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$tmp/bad.conf:$2" <<<"$out"; then ok "config: $1"; else notok "config: $1" "rc=$rc" "$out"; fi
}
bad "memnet= without [memnet]" '5: [workload "w"] memnet: a region needs the orchestrator: [memnet] budget_mb= and slo_ms=' \
	"${base}memnet=/dev/shm/x\n"
bad "[memnet] without slo_ms" '7: [memnet]: slo_ms= is missing' "${base}memnet=/dev/shm/x\n[memnet]\nbudget_mb=64\n"
bad "[memnet] without a region" '6: [memnet] budget_mb: no workload has memnet=PATH' "${base}[memnet]\nbudget_mb=64\nslo_ms=100\n"
bad "relative region path" '5: [workload "w"] memnet: "x.memnet" is not an absolute path' "${base}memnet=x.memnet\n"
bad "memnet= twice in a workload" '6: [workload "w"] memnet: set twice (first at line 5)' "${base}memnet=/a\nmemnet=/b\n"
bad "two workloads, one region" '8: [workload "v"] memnet: /dev/shm/x is already the region of workload "w" (line 5)' \
	"${base}memnet=/dev/shm/x\n[workload \"v\"]\npid=2\nmemnet=/dev/shm/x\n[memnet]\nbudget_mb=8\nslo_ms=5\n"
bad "unknown [memnet] key" '7: [memnet] budget: unknown key (known: budget_mb slo_ms interval_s min_mb)' \
	"${base}memnet=/dev/shm/x\n[memnet]\nbudget=1\n"
bad "budget out of range" '7: [memnet] budget_mb: "0" is not a number' "${base}memnet=/dev/shm/x\n[memnet]\nbudget_mb=0\n"

# --- vspaced on fixture synth-b (a copy: its writes land there) with two regions ------------------------
cp -a tests/fixtures/synth-b/root "$tmp/root"
"$VS" memnet create "$R1" --size-mb 32 && "$VS" memnet create "$R2" --size-mb 32
sock=$tmp/vspaced.sock
mport=$(tests/free-port) || mport=19462
sed -e "s|^control_socket=off|control_socket=$sock|" -e "s|^metrics_listen=off|metrics_listen=127.0.0.1:$mport|" \
	-e "s|^\[host\]|[host]\nstate_dir=$tmp/state\nperiod_ms=50|" \
	-e "s|^agent=vsock:3:7070|agent=vsock:3:7070\nmemnet=$R1|" -e "s|^role=be|role=be\nmemnet=$R2|" \
	tests/fixtures/synth-b/vspace.conf >"$tmp/d.conf"
printf '[memnet]\nbudget_mb=16\nslo_ms=200\ninterval_s=0.2\nmin_mb=1\n' >>"$tmp/d.conf"
out=$("$VSD" -n -c "$tmp/d.conf" --sysroot "$tmp/root" 2>&1)
check "-n: the configuration with [memnet] is valid" 'grep -q "2 MemNet regions in a 16.0 MiB budget" <<<"$out"' "$out"

"$VSD" -c "$tmp/d.conf" --sysroot "$tmp/root" >"$tmp/d.log" 2>&1 &
dpid=$!
# the transmission module beside it, without --budget-mb (vspaced writes the quotas): it serves and
# releases the objects the guests replace
sport=$(tests/free-port) || sport=19463
"$VS" memnet serve --region "vm=$R1,batch=$R2" --listen "127.0.0.1:$sport" -q >"$tmp/serve.log" 2>&1 &
spid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
quota() { "$AG" memnet --region "$1" ls | sed -n 's/^# .*: quota \([0-9]*\),.*/\1/p'; }
for _ in $(seq 40); do [ "$(quota "$R2")" = 1048576 ] && break; sleep 0.05; done
check "no jobs yet: both quotas set to the 1 MiB floor (from the whole 32 MiB)" \
	'[ "$(quota "$R1")" = 1048576 ] && [ "$(quota "$R2")" = 1048576 ]' "$(quota "$R1") $(quota "$R2")" "$(tail -5 "$tmp/d.log")"

# vm: 300 KiB results, each a job of 50 ms answered in 300 ms (over the 200 ms target);
# batch: 100 KiB results, 20 ms jobs answered in 40 ms (well under)
head -c 307200 /dev/urandom >"$tmp/r300k"
head -c 102400 /dev/urandom >"$tmp/r100k"
(for i in $(seq 40); do
	"$AG" memnet --region "$R1" put "v$((i % 12))" "$tmp/r300k" --wait 10 --job-service-ms 50 --job-response-ms 300 || exit 1
	sleep 0.03
done) >"$tmp/w1.log" 2>&1 &
wpids+=($!)
(for i in $(seq 40); do
	"$AG" memnet --region "$R2" put "b$((i % 5))" "$tmp/r100k" --wait 10 --job-service-ms 20 --job-response-ms 40 || exit 1
	sleep 0.03
done) >"$tmp/w2.log" 2>&1 &
wpids+=($!)
wait "${wpids[0]}"
w1=$?
wait "${wpids[1]}"
w2=$?
wpids=()
# (12 objects of 300 KiB need 3.6 MiB: over the 1 MiB floor the first puts wait, asking for room)
check "guests: every put got room in time (puts that waited asked through need_bytes)" '[ $w1 -eq 0 ] && [ $w2 -eq 0 ]' \
	"$(tail -3 "$tmp/w1.log")" "$(tail -3 "$tmp/w2.log")"
check "vspaced logged the growth a waiting put asked for" 'grep -q "memnet region vm: quota [0-9]* -> [0-9]* bytes: .*a put waits for" "$tmp/d.log"' \
	"$(grep memnet "$tmp/d.log" | tail -5)"
sleep 0.5
st=$("$CTL" -s "$sock" status --json)
mv=$(jq -c '.workloads[] | select(.name == "vm") | .memnet' <<<"$st")
mb=$(jq -c '.workloads[] | select(.name == "batch") | .memnet' <<<"$st")
check "status: both regions serving, the guests' jobs counted (40 each)" \
	'[ "$(jq -r ".state + \" \" + (.jobs_done | tostring)" <<<"$mv")" = "serving 40" ] && [ "$(jq -r ".state + \" \" + (.jobs_done | tostring)" <<<"$mb")" = "serving 40" ]' "$mv" "$mb"
check "quotas: what vspaced granted is in each region's header, within the budget" \
	'[ "$(jq .quota_bytes <<<"$mv")" = "$(quota "$R1")" ] && [ "$(jq .quota_bytes <<<"$mb")" = "$(quota "$R2")" ] &&
	 [ $(($(quota "$R1") + $(quota "$R2"))) -le 16777216 ]' "$mv" "$mb"
# the last intervals had no jobs: both back to the floor unless something is held (the objects
# stay: vspaced does not evict, so the quota may sit below what is in use)
out=$("$CTL" -s "$sock" status)
check "vspacectl status shows the regions and the sizing" \
	'grep -q "^  memnet $R1: quota [0-9.]* MiB of 31.9, in use [0-9.]* MiB, [0-9]* objects, 40 jobs" <<<"$out" && grep -q "^    sizing: lambda" <<<"$out"' "$out"
exec 3<>/dev/tcp/127.0.0.1/$mport
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
met=$(cat <&3)
exec 3<&-
check "metrics: budget, quotas, used, jobs, regions ok" \
	'grep -q "^vspace_memnet_budget_bytes 16777216$" <<<"$met" && grep -q "^vspace_memnet_quota_bytes{workload=\"vm\"} [0-9]*$" <<<"$met" &&
	 grep -q "^vspace_memnet_jobs_total{workload=\"batch\"} 40$" <<<"$met" && grep -q "^vspace_memnet_region_ok{workload=\"vm\"} 1$" <<<"$met"' \
	"$(grep memnet <<<"$met")"
# the sizing while the jobs ran, from the log: vm's response time (300 ms) raised its factor
# (when the factor moved the quota is logged: 300 ms against 200 multiplies it by 1.125)
steps=$(grep -o "memnet region vm: quota .*response 300.0 ms vs slo 200.0 ms: factor [0-9.]*->[0-9.]*" "$tmp/d.log" |
	sed 's/.*factor //' | awk -F'->' '($2 / $1 < 1.124 || $2 / $1 > 1.126) && $2 != 16 { bad = 1 } { n++ }
		END { print bad ? "bad" : n }')
check "the log gives each quota change's arithmetic (responses over the target: factor x1.125 up to 16, $steps changes)" \
	'[ "$steps" != bad ] && [ "$steps" -gt 0 ]' \
	"$(grep -o "factor [0-9.]*->[0-9.]*" "$tmp/d.log" | tr "\n" " ")"

# a corrupt region: refused, the other one still sized
q2=$(quota "$R2")
printf '\xff\xff\xff\x7f' | dd of="$R1" bs=1 seek=32 conv=notrunc 2>/dev/null
sleep 0.5
st=$("$CTL" -s "$sock" status --json)
check "a corrupt header: vm's region refused (status and log say why), vspaced runs on" \
	'[ "$(jq -r ".workloads[] | select(.name == \"vm\") | .memnet.state" <<<"$st")" = refused ] &&
	 grep -q "memnet region vm ($R1): refused: header: slot_count 2147483647" "$tmp/d.log" && kill -0 $dpid' \
	"$(jq -c '.workloads[].memnet' <<<"$st")"
check "batch's region still serving and sized" \
	'[ "$(jq -r ".workloads[] | select(.name == \"batch\") | .memnet.state" <<<"$st")" = serving ]'
kill "$dpid"
wait "$dpid"
rc=$?
dpid=
check "vspaced stops with status 0" '[ $rc -eq 0 ]' "rc=$rc" "$(tail -5 "$tmp/d.log")"
kill "$spid"
wait "$spid"
rc=$?
spid=
check "memnet serve beside it released the replaced objects and stops with 0" \
	'[ $rc -eq 0 ] && ! grep -q "quota" "$tmp/serve.log"' "rc=$rc" "$(tail -3 "$tmp/serve.log")"

# --- --dry-run: decided and logged, no quota written ---------------------------------------------------
printf '\xff\xff\xff\xff' | dd of="$R1" bs=1 seek=32 conv=notrunc 2>/dev/null # (refused again; R2 tells)
"$VS" memnet create "$R2" --size-mb 32 --force
"$AG" memnet --region "$R2" put b0 "$tmp/r100k" --job-service-ms 20 --job-response-ms 40
"$VSD" -c "$tmp/d.conf" --sysroot "$tmp/root" --dry-run >"$tmp/dry.log" 2>&1 &
dpid=$!
sleep 1
kill "$dpid"
wait "$dpid"
dpid=
check "--dry-run: the quota change is logged as one it would make, the header keeps its quota" \
	'grep -q "memnet region batch: dry-run: would set quota 33484800 -> 1048576 bytes" "$tmp/dry.log" && [ "$(quota "$R2")" = 33484800 ]' \
	"$(grep memnet "$tmp/dry.log")"

echo "1..$n"
[ $fails -eq 0 ]
