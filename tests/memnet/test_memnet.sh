#!/usr/bin/env bash
# test_memnet.sh - MemNet between two host processes: vspace-agent memnet (the writer) and vspace memnet serve (the reader) on
# /dev/shm regions; curl checks bytes and ranges, vspace loadgen --protocol http loads it; quota refusal, eviction, a growing
# object, corrupt regions (random header bytes, out-of-range offsets, a huge count) refused while the other region keeps
# serving; replay against hand-derived quotas; usage errors.
set -u
B=${VS_BUILD:-build}
VS=$B/vspace
AG=$B/vspace-agent
root=$(cd "$(dirname "$0")/../.." && pwd)
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { if eval "$2"; then ok "$1"; else notok "$1" "${@:3}"; fi; }

tmp=$(mktemp -d /tmp/vsmn-test.XXXXXX)
R1=/dev/shm/vsmn-a$$.memnet R2=/dev/shm/vsmn-b$$.memnet
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$tmp" "$R1" "$R2"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- usage errors: exit 2 naming what was wrong -----------------------------------------------
bad() { # name, want rc, fragment, command...
	local name=$1 want=$2 frag=$3 out rc
	shift 3
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ $rc -eq "$want" ] && grep -qF -- "$frag" <<<"$out"; then ok "usage: $name"; else notok "usage: $name" "rc=$rc" "$out"; fi
}
bad "create: size not a power of two" 2 "not a power of two (QEMU's ivshmem-plain needs one)" \
	"$VS" memnet create "$tmp/x" --size-mb 3
bad "create: no size" 2 "--size-mb is required" "$VS" memnet create "$tmp/x"
bad "create: quota above the data area" 2 "more than the" "$VS" memnet create "$tmp/x" --size-mb 1 --quota-mb 2
bad "serve: no region" 2 "--region and --listen are required" "$VS" memnet serve --listen 127.0.0.1:0
bad "serve: bad listen" 2 'expected HOST:PORT' "$VS" memnet serve --region "$R1" --listen nowhere
bad "serve: bad region name" 2 "region name" "$VS" memnet serve --region "bad/x=$R1" --listen 127.0.0.1:0
bad "serve: slo without budget" 2 "--slo-ms is for the orchestrator" \
	"$VS" memnet serve --region "$R1" --listen 127.0.0.1:0 --slo-ms 5
bad "replay: no budget" 2 "--slo-ms and --budget-mb are required" "$VS" memnet replay --slo-ms 1
bad "unknown command" 2 'unknown command "frob"' "$VS" memnet frob
bad "agent: no command" 2 "missing COMMAND" "$AG" memnet --region "$R1"
bad "agent: put without file" 2 "expected NAME and FILE" "$AG" memnet --region "$R1" put x
bad "agent: bad object name" 2 'object name "a/b"' "$AG" memnet --region "$R1" put a/b /dev/null
bad "agent: missing region" 1 "No such file or directory" "$AG" memnet --region "$tmp/none" ls
bad "agent: no PCI devices under the sysroot" 1 "sys/bus/pci/devices: No such file" "$AG" memnet --sysroot "$tmp" ls
mkdir -p "$tmp/sys/bus/pci/devices/0000:00:03.0"
printf '0x8086\n' >"$tmp/sys/bus/pci/devices/0000:00:03.0/vendor"
printf '0x100e\n' >"$tmp/sys/bus/pci/devices/0000:00:03.0/device"
bad "agent: no ivshmem device among the PCI devices" 1 "no ivshmem PCI device (1af4:1110)" "$AG" memnet --sysroot "$tmp" ls
bad "agent: --pci names another device" 1 "PCI device 0000:00:03.0: not found or not an ivshmem device" \
	"$AG" memnet --sysroot "$tmp" --pci 0000:00:03.0 ls

# --- two regions, a writer process, the server --------------------------------------------------
"$VS" memnet create "$R1" --size-mb 16 --quota-mb 4 && "$VS" memnet create "$R2" --size-mb 4
check "create: two sparse region files" '[ "$(stat -c %s "$R1")" = 16777216 ] && [ "$(du -k "$R1" | cut -f1)" -le 16 ]'
head -c 1048576 /dev/urandom >"$tmp/obj1m"
head -c 102400 /dev/urandom >"$tmp/obj100k"
: >"$tmp/empty"
"$AG" memnet --region "$R1" put obj1m "$tmp/obj1m" && "$AG" memnet --region "$R1" put obj100k "$tmp/obj100k" &&
	"$AG" memnet --region "$R1" put empty "$tmp/empty" && "$AG" memnet --region "$R2" put other "$tmp/obj100k"
check "vspace-agent memnet put: three objects in vm1, one in vm2" '[ $? -eq 0 ]'
ls=$("$AG" memnet --region "$R1" ls)
check "vspace-agent memnet ls: names, lengths, page-rounded reservations" \
	'grep -qx "obj1m,complete,1048576,1048576,1" <<<"$ls" && grep -qx "obj100k,complete,102400,102400,2" <<<"$ls" && grep -q "quota 4194304, in use 1150976" <<<"$ls"' "$ls"

# the guest's path: the ivshmem device found by its PCI ids, BAR 2 (resource2) mapped; here a
# sysfs-shaped tree whose resource2 is the region file
D=$tmp/sys/bus/pci/devices/0000:00:04.0
mkdir -p "$D"
printf '0x1af4\n' >"$D/vendor"
printf '0x1110\n' >"$D/device"
printf '0\n' >"$D/enable"
ln -s "$R2" "$D/resource2"
out=$("$AG" memnet --sysroot "$tmp" ls 2>&1)
check "agent --sysroot: finds the ivshmem device by its ids, enables it, maps resource2" \
	'grep -q "^other,complete,102400" <<<"$out" && [ "$(cat "$D/enable")" = 1 ]' "$out"
mkdir -p "$tmp/sys/bus/pci/devices/0000:00:05.0" && cp "$D/vendor" "$D/device" "$tmp/sys/bus/pci/devices/0000:00:05.0/"
bad "agent: two ivshmem devices need --pci" 1 "2 ivshmem PCI devices" "$AG" memnet --sysroot "$tmp" ls
check "agent --pci BDF picks one" '"$AG" memnet --sysroot "$tmp" --pci 0000:00:04.0 ls | grep -q "^other,"'

port=$("$root/tests/free-port")
"$VS" memnet serve --region "vm1=$R1,vm2=$R2" --listen "127.0.0.1:$port" --poll-ms 10 >"$tmp/serve.log" 2>&1 &
srv=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
U=http://127.0.0.1:$port
code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }

check "GET: 1 MiB object byte-exact" '[ "$(code $U/vm1/obj1m)" = 200 ] && cmp -s "$tmp/body" "$tmp/obj1m"'
check "GET: empty object" '[ "$(code $U/vm1/empty)" = 200 ] && [ ! -s "$tmp/body" ]'
check "GET: the second region" '[ "$(code $U/vm2/other)" = 200 ] && cmp -s "$tmp/body" "$tmp/obj100k"'
range_ok() { # curl range, first byte, count
	[ "$(code -r "$1" "$U/vm1/obj1m")" = 206 ] &&
		cmp -s "$tmp/body" <(tail -c +$(($2 + 1)) "$tmp/obj1m" | head -c "$3")
}
check "Range 1000-1999: 206, byte-exact" 'range_ok 1000-1999 1000 1000'
check "Range 1048000-: 206, the tail" 'range_ok 1048000- 1048000 576'
check "Range -100 (suffix): 206, the last 100 bytes" 'range_ok -100 1048476 100'
check "Range 5-5: one byte" 'range_ok 5-5 5 1'
h=$(curl -s -D - -o /dev/null -r 0-9 "$U/vm1/obj1m" | tr -d '\r')
check "Content-Range: bytes 0-9/1048576" 'grep -qx "Content-Range: bytes 0-9/1048576" <<<"$h"' "$h"
check "Range beyond the end: 416 with Content-Range: bytes */N" \
	'[ "$(code -r 2000000- $U/vm1/obj1m)" = 416 ] && curl -s -D - -o /dev/null -r 2000000- $U/vm1/obj1m | tr -d "\r" | grep -qx "Content-Range: bytes \*/1048576"'
check "two ranges: the whole object (200)" '[ "$(code -r 0-1,5-6 $U/vm1/obj1m)" = 200 ] && cmp -s "$tmp/body" "$tmp/obj1m"'
h=$(curl -s -I "$U/vm1/obj100k" | tr -d '\r')
check "HEAD: Content-Length, Accept-Ranges, no body" 'grep -qx "Content-Length: 102400" <<<"$h" && grep -qx "Accept-Ranges: bytes" <<<"$h"' "$h"
check "404: unknown object and region" '[ "$(code $U/vm1/nope)" = 404 ] && [ "$(code $U/vm9/x)" = 404 ]'
check "405: POST" '[ "$(code -X POST $U/vm1/obj1m)" = 405 ]'
check "keep-alive: three GETs on one connection" \
	'[ "$(curl -s -v -o /dev/null -o /dev/null -o /dev/null $U/vm1/obj100k $U/vm1/obj1m $U/vm2/other 2>&1 | grep -c "Re-using existing connection")" -ge 2 ]'

# --- load: vspace loadgen over keep-alive connections --------------------------------------------
if command -v jq >/dev/null; then
	out=$("$VS" loadgen --protocol http --server "127.0.0.1:$port" --path /vm1/obj100k --qps 400 \
		--duration 1 --connections 8 --json --max-lag-us 100000 2>&1)
	rc=$?
	check "loadgen: 400 req/s of 100 KiB for 1 s, every request answered, no errors ($(jq -r '.achieved_qps // "?"' <<<"$out" 2>/dev/null) req/s)" \
		'[ $rc -eq 0 ] && [ "$(jq .errors <<<"$out")" = 0 ] && [ "$(jq .completed <<<"$out")" = "$(jq .sent <<<"$out")" ] && [ "$(jq .sent <<<"$out")" -gt 300 ]' "rc=$rc" "$out"
	out=$("$VS" loadgen --protocol http --server "127.0.0.1:$port" --path /vm1/missing --qps 100 \
		--duration 0.3 --json --max-lag-us 100000 2>&1)
	check "loadgen: a missing object is a 404 error" '[ "$(jq -r .first_error <<<"$out")" = "HTTP status 404" ]' "$out"
else
	ok "loadgen # SKIP jq not installed"
fi

# --- an object served while it is written: chunked as it grows ---------------------------------
(for i in $(seq 1 8); do head -c 5000 "$tmp/obj1m" | tail -c +$((i * 100)) | head -c 4000; sleep 0.1; done) >"$tmp/stream.want"
(for i in $(seq 1 8); do head -c 5000 "$tmp/obj1m" | tail -c +$((i * 100)) | head -c 4000; sleep 0.1; done) |
	"$AG" memnet --region "$R1" put live - &
wp=$!
sleep 0.25
curl -s -D "$tmp/live.h" -o "$tmp/live.body" "$U/vm1/live"
wait $wp
wrc=$?
check "growing object: sent chunked while written, byte-exact once complete" \
	'[ $wrc -eq 0 ] && tr -d "\r" <"$tmp/live.h" | grep -qx "Transfer-Encoding: chunked" && cmp -s "$tmp/live.body" "$tmp/stream.want"' \
	"writer rc=$wrc" "$(cat "$tmp/live.h")"
check "the stream's unused reservation was given back at the end" \
	'"$AG" memnet --region "$R1" ls | grep -qx "live,complete,32000,32768,[0-9]*"'

# --- quota: refusal, then eviction of a served object makes room -------------------------------
head -c 2000000 /dev/urandom >"$tmp/obj2m"
"$AG" memnet --region "$R1" put big "$tmp/obj2m" 2>/dev/null # 2 MiB of the 4 MiB quota
out=$("$AG" memnet --region "$R1" put big2 "$tmp/obj2m" 2>&1)
rc=$?
check "quota refusal: exit 3 naming the quota and what is in use" \
	'[ $rc -eq 3 ] && grep -q "quota exceeded: \"big2\" needs 2002944 bytes, the quota is 4194304" <<<"$out"' "rc=$rc" "$out"
blocks0=$(du -k "$R1" | cut -f1)
code "$U/vm1/big" >/dev/null # served once: may be evicted
out=$("$AG" memnet --region "$R1" put big2 "$tmp/obj2m" --wait 5 2>&1)
rc=$?
check "put --wait: the host evicts served objects for the room, the put succeeds" '[ $rc -eq 0 ]' "rc=$rc" "$out"
# in use: empty 0, obj1m 1048576, obj100k 102400, live 32768, big 2002944 = 3186688 of 4194304;
# 2002944 more fit once 995328 are freed: the least recently served go first (empty, obj1m)
check "eviction is LRU: obj1m (served long ago) is gone (404), big (served just now) stays" \
	'[ "$(code $U/vm1/obj1m)" = 404 ] && [ "$(code $U/vm1/big)" = 200 ] && cmp -s "$tmp/body" "$tmp/obj2m"'
check "the new object is byte-exact" '[ "$(code $U/vm1/big2)" = 200 ] && cmp -s "$tmp/body" "$tmp/obj2m"'
st=$(curl -s "$U/")
check "status: 2 evictions counted, the evicted pages punched out of the file" \
	'[ "$(jq ".regions[0].evictions" <<<"$st")" = 2 ] && [ "$(jq ".regions[0].punched_bytes" <<<"$st")" = 1048576 ]' "$st"
check "the file does not grow past the quota (resident $(du -k "$R1" | cut -f1) KiB, before $blocks0 KiB)" \
	'[ "$(du -k "$R1" | cut -f1)" -le 4100 ]'
"$AG" memnet --region "$R1" rm obj100k
sleep 0.1
check "rm: the object is withdrawn (404) and released to the guest" \
	'[ "$(code $U/vm1/obj100k)" = 404 ] && ! "$AG" memnet --region "$R1" ls | grep -q "^obj100k,"'

# --- corrupt regions: refused with a clear error, the other region keeps serving ---------------
dd if="$R2" of="$tmp/r2.head" bs=4096 count=2 2>/dev/null
wait_refused() { # fragment of the log line
	for _ in $(seq 60); do grep -qF -- "$1" "$tmp/serve.log" && return 0; sleep 0.05; done
	return 1
}
restore_r2() {
	dd if="$tmp/r2.head" of="$R2" bs=4096 count=2 conv=notrunc 2>/dev/null
	for _ in $(seq 60); do [ "$(code "$U/vm2/other")" = 200 ] && return 0; sleep 0.05; done
	return 1
}
# 1. random bytes over the header
dd if=/dev/urandom of="$R2" bs=64 count=1 conv=notrunc 2>/dev/null
check "random header bytes: vm2 refused (log: $(grep -o 'region vm2 .*refused: .*' "$tmp/serve.log" | tail -1))" \
	'wait_refused "memnet region vm2 ($R2): refused: header: bad magic"'
check "refused region answers 503 naming the reason; vm1 still byte-exact" \
	'[ "$(code $U/vm2/other)" = 503 ] && grep -q "region vm2 is refused: header: bad magic" "$tmp/body" && [ "$(code $U/vm1/big2)" = 200 ] && cmp -s "$tmp/body" "$tmp/obj2m"'
out=$("$VS" memnet ls "$R2" 2>&1)
check "vspace memnet ls on the corrupt region: exit 1 with the reason" \
	'! "$VS" memnet ls "$R2" >/dev/null 2>&1 && grep -q "refused: header: bad magic" <<<"$out"' "$out"
check "header put back: vm2 serves again" 'restore_r2'
# 2. a huge slot count
printf '\xff\xff\xff\x7f' | dd of="$R2" bs=1 seek=32 conv=notrunc 2>/dev/null
check "huge slot count: vm2 refused" 'wait_refused "refused: header: slot_count 2147483647 out of range"'
check "vm1 unaffected" '[ "$(code $U/vm1/big2)" = 200 ] && cmp -s "$tmp/body" "$tmp/obj2m"'
restore_r2
# 3. an out-of-range offset in the table: that object refused, the region serves the rest
"$AG" memnet --region "$R2" put second "$tmp/obj100k"
sleep 0.1
printf '\x00\x00\x00\x00\x00\x00\x00\x7f' | dd of="$R2" bs=1 seek=$((4096 + 24)) conv=notrunc 2>/dev/null
check "out-of-range offset in slot 0: that slot refused (log names it)" \
	'wait_refused "memnet region vm2: slot 0 refused: object \"other\": extent [9151314442816847872"'
check "its object is not served (404); the region's other object is" \
	'[ "$(code $U/vm2/other)" = 404 ] && [ "$(code $U/vm2/second)" = 200 ] && cmp -s "$tmp/body" "$tmp/obj100k"'
# 4. random bytes over the whole table and header: refused, vm1 fine, the server alive
dd if=/dev/urandom of="$R2" bs=4096 count=2 conv=notrunc 2>/dev/null
check "random header and table: vm2 refused, vm1 serves, the server runs" \
	'sleep 0.1; [ "$(code $U/vm2/second)" = 503 ] && [ "$(code $U/vm1/big2)" = 200 ] && kill -0 $srv'

kill "$srv"
wait "$srv"
rc=$?
srv=
check "serve stops on SIGTERM with status 0" '[ $rc -eq 0 ]' "rc=$rc" "$(tail -5 "$tmp/serve.log")"

# --- replay: hand-derived quotas (tests/memnet/data/README.md) ---------------------------------
for b in 64 16; do
	out=$("$VS" memnet replay --slo-ms 200 --budget-mb $b <"$root/examples/memnet/two-vms.csv" 2>&1)
	check "replay, budget $b MiB: the hand-derived quotas" '[ "$out" = "$(cat "$root/tests/memnet/data/two-vms.b$b.expected")" ]' "$out"
done
out=$(printf 'interval,vm,arrivals,service_ms,object_bytes,response_ms\n1,vm1,1,1,1,1\n0,vm1,1,1,1,1\n' |
	"$VS" memnet replay --slo-ms 1 --budget-mb 1 2>&1)
check "replay: an interval going back is refused, naming the line" \
	'[ $? -eq 2 ] && grep -q "stdin:3: interval 0 after 1" <<<"$out"' "$out"
out=$(printf 'interval,vm,arrivals,service_ms,object_bytes,response_ms\n1,vm1,5,0,1,1\n' |
	"$VS" memnet replay --slo-ms 1 --budget-mb 1 2>&1)
check "replay: jobs without a service time are refused" 'grep -q "stdin:2: service_ms must be > 0" <<<"$out"' "$out"
out=$(printf 'interval,vm,arrivals\n' | "$VS" memnet replay --slo-ms 1 --budget-mb 1 2>&1)
check "replay: a header without a column is refused" 'grep -q "lacks column \"service_ms\"" <<<"$out"' "$out"
out=$(printf 'interval,vm,arrivals,service_ms,object_bytes,response_ms\n1,vm1,1,1,1,1\0junk\n' |
	"$VS" memnet replay --slo-ms 1 --budget-mb 1 2>&1)
check "replay: a NUL byte is refused, naming the line" \
	'[ $? -eq 2 ] && grep -q "stdin:2: a NUL byte in the line" <<<"$out"' "$out"

echo "1..$n"
[ $fails -eq 0 ]
