#!/usr/bin/env bash
# test_memnet_guest.sh - MemNet end to end with the test guest (scripts/guest/build): an ivshmem-plain device backed by a
# host region file; in the guest vspace-agent memnet finds it by its PCI ids and puts objects (files, a compressed job result
# counted as a job, a growing stream, one over the quota, one waiting for eviction); on the host vspace memnet serve, in a
# test network namespace, serves them and a second (host-process) region to curl and vspace loadgen. Then the guest's region
# is corrupted (random header bytes, a huge count, out-of-range offsets): refused with a clear error while the other keeps
# serving. The guest runs the commands the host sends over a serial port (scripts/guest/run-lines).
#
# Needs root (netns), qemu-system-x86_64, socat, curl and the kernel package; skips otherwise. KVM where it works, else TCG
# (tests/e2e/guest.sh, VS_GUEST_ACCEL; guests hang on KVM here).
# Cleans up (QEMU and the server by pid, netns, region files, temp dir) on any exit.
set -u
B=${VS_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${@:3}"; fi; }
skip_all() { echo "ok 1 - memnet guest # SKIP $1"; echo "1..1"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root (netns)"
for c in qemu-system-x86_64 socat curl; do command -v $c >/dev/null || skip_all "$c not installed"; done
[ -x "$B/vspace-agent" ] && [ -x "$B/vspace" ] || skip_all "build $B/vspace and $B/vspace-agent first"
. "$root/tests/e2e/guest.sh"
guest_build guest-build-memnet.log
guest_accel

NS=vsm-g$$
R=/dev/shm/vsm-guest$$.memnet   # the guest's region (its ivshmem BAR)
R2=/dev/shm/vsm-host$$.memnet   # a host process's region, served by the same server
dir=$(mktemp -d /tmp/vsm-guest-XXXXXX)
qemu_pid= srv_pid=
cleanup() {
	for p in $srv_pid $qemu_pid; do kill "$p" 2>/dev/null; done
	for p in $srv_pid $qemu_pid; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$dir" "$R" "$R2"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# 16 MiB region, 5 MiB quota for the guest
"$B/vspace" memnet create "$R" --size-mb 16 --quota-mb 5 && "$B/vspace" memnet create "$R2" --size-mb 1 ||
	{ nok "vspace memnet create"; echo "1..$n"; exit 1; }
printf 'from a host process\n' >"$dir/hello"
"$B/vspace-agent" memnet --region "$R2" put hello "$dir/hello"

start=$(date +%s.%N)
qemu-system-x86_64 -name vsm-guest -accel "$accel" -m 256 -smp 1 -nodefaults -no-user-config -display none -no-reboot \
	-kernel "$B/guest/vmlinuz" -initrd "$B/guest/initramfs.gz" -append "console=ttyS0 panic=-1 vsa.run=ttyS1" \
	-object "memory-backend-file,id=mn0,share=on,mem-path=$R,size=16M" -device ivshmem-plain,memdev=mn0 \
	-serial "file:$dir/console.log" -chardev "socket,id=run,path=$dir/run.sock,server=on,wait=off" \
	-serial chardev:run >"$dir/qemu.log" 2>&1 &
qemu_pid=$!

ip netns add "$NS" || { nok "ip netns add $NS"; echo "1..$n"; exit 1; }
ip -n "$NS" link set lo up
NX="ip netns exec $NS"
$NX "$B/vspace" memnet serve --region "vm=$R,host=$R2" --listen 127.0.0.1:8090 --poll-ms 10 >"$dir/serve.log" 2>&1 &
srv_pid=$!
U=http://127.0.0.1:8090
code() { $NX curl -s -o "$dir/body" -w '%{http_code}' "$@"; }

# run a command line in the guest; its exit status comes back on the console ("run: SEQ rc=N")
seq=0
grun() { # timeout_s, command line
	seq=$((seq + 1))
	printf '%d %s\n' "$seq" "${2//$'\n'/ }" | socat - "UNIX-CONNECT:$dir/run.sock" 2>/dev/null || return 125
	local l
	for _ in $(seq $(($1 * 20))); do
		l=$(tr -d '\r' <"$dir/console.log" 2>/dev/null | grep -a "^run: $seq rc=" | tail -1)
		[ -n "$l" ] && return "${l##*rc=}"
		sleep 0.05
	done
	return 124
}
console() { tr -d '\r' <"$dir/console.log" | grep -av '^\[' | tail -"${1:-5}"; }
# what the last command printed: the console between its predecessor's "run:" line and its own
# (the guest's init and kernel may print between them too)
out_of_last() {
	tr -d '\r' <"$dir/console.log" | awk -v s="$seq" '$1 == "run:" && $2 == s - 1 { on = 1; next }
		$1 == "run:" && $2 == s { exit } on'
}

# the guest is up when its runner answers
up=0
for _ in $(seq 600); do # 60 s at most
	[ -S "$dir/run.sock" ] && grun 1 true && { up=1; break; }
	kill -0 "$qemu_pid" 2>/dev/null || break
	sleep 0.1
done
boot_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ $up -eq 1 ] || { nok "the guest boots and runs commands" "$(console 20)" "$(cat "$dir/qemu.log")"; echo "1..$n"; exit 1; }
ok "the guest ($accel, kernel $(cat "$B/guest/kernel-version")) runs commands from the host, ${boot_s} s after start"

grun 20 'vspace-agent memnet ls'
rc=$?
check "guest: vspace-agent memnet finds the ivshmem device by its PCI ids and maps BAR 2 ($(out_of_last | grep -o '/sys/bus/pci/devices/[^:]*:[^:]*:[^/]*' | head -1))" \
	'[ $rc -eq 0 ] && out_of_last | grep -q "^# /sys/bus/pci/devices/.*/resource2: quota 5242880"' "rc=$rc" "$(console 5)"

grun 30 'vspace-agent memnet put agent /usr/sbin/vspace-agent && vspace-agent memnet put busybox /bin/busybox'
rc=$?
check "guest: puts two files (its vspace-agent and busybox)" '[ $rc -eq 0 ]' "rc=$rc" "$(console 5)"
check "host: the guest's vspace-agent served byte-exact from the region" \
	'[ "$(code $U/vm/agent)" = 200 ] && cmp -s "$dir/body" "$B/vspace-agent"'
check "host: busybox byte-exact; ranges 206 byte-exact" \
	'[ "$(code $U/vm/busybox)" = 200 ] && cmp -s "$dir/body" "$(command -v busybox)" &&
	 [ "$(code -r 1000000-1000999 $U/vm/busybox)" = 206 ] && cmp -s "$dir/body" <(tail -c +1000001 "$(command -v busybox)" | head -c 1000) &&
	 [ "$(code -r -4096 $U/vm/busybox)" = 206 ] && cmp -s "$dir/body" <(tail -c 4096 "$(command -v busybox)")'
check "host: the host process's region is served by the same server" \
	'[ "$(code $U/host/hello)" = 200 ] && cmp -s "$dir/body" "$dir/hello"'

# a job: compress, put the result, count it (service and response time from /proc/uptime)
grun 60 'a=$(cut -d" " -f1 /proc/uptime); gzip -c /usr/sbin/vspace-agent >/tmp/agent.gz; b=$(cut -d" " -f1 /proc/uptime);
	ms=$(awk -v a=$a -v b=$b "BEGIN { print (b - a) * 1000 }");
	vspace-agent memnet put agent.gz /tmp/agent.gz --job-service-ms $ms --job-response-ms $ms'
rc=$?
check "guest: a gzip job's result put and counted as a job" '[ $rc -eq 0 ]' "rc=$rc" "$(console 5)"
check "host: the job's result decompresses to the agent" \
	'[ "$(code $U/vm/agent.gz)" = 200 ] && gunzip -c "$dir/body" | cmp -s - "$B/vspace-agent"'
check "host: the server reads the guest's job counter" \
	'[ "$($NX curl -s $U/ | jq ".regions[0].jobs_done")" = 1 ]'

# a growing object: the host streams it (chunked) while the guest writes it
for i in $(seq 0 19); do echo "chunk $i of an object the guest writes while the host sends it"; done >"$dir/stream.want"
grun 10 '(i=0; while [ $i -lt 20 ]; do echo "chunk $i of an object the guest writes while the host sends it"; i=$((i + 1)); sleep 0.2; done) | vspace-agent memnet put stream - &'
sleep 0.5
$NX curl -s -D "$dir/stream.h" -o "$dir/stream.body" "$U/vm/stream"
check "host: the growing object streamed chunked, byte-exact when complete" \
	'tr -d "\r" <"$dir/stream.h" | grep -qx "Transfer-Encoding: chunked" && cmp -s "$dir/stream.body" "$dir/stream.want"' \
	"$(cat "$dir/stream.h")"

if command -v jq >/dev/null; then
	out=$($NX "$B/vspace" loadgen --protocol http --server 127.0.0.1:8090 --path /vm/agent.gz --qps 100 \
		--duration 1 --connections 4 --json --max-lag-us 100000 2>&1)
	rc=$?
	check "loadgen in the netns: 100 req/s for the guest's result, all answered ($(jq -r '.achieved_qps // "?"' <<<"$out" 2>/dev/null) req/s, p95 $(jq -r '.p95_us // "?"' <<<"$out" 2>/dev/null) us)" \
		'[ $rc -eq 0 ] && [ "$(jq .errors <<<"$out")" = 0 ] && [ "$(jq .completed <<<"$out")" = "$(jq .sent <<<"$out")" ]' "$out"
fi

# the quota: in use agent 1220608 + busybox 1982464 + agent.gz + stream of 5242880
grun 30 'head -c 3000000 /dev/zero | vspace-agent memnet put toobig -'
rc=$?
check "guest: a put over the quota fails with exit 3 and says so" \
	'[ $rc -eq 3 ] && out_of_last | grep -q "quota exceeded: \"toobig\" outgrew"' "rc=$rc" "$(console 3)"
# room for 1982464 more comes from evicting the least recently served objects (agent first)
grun 30 'vspace-agent memnet put last /bin/busybox --wait 20'
rc=$?
check "guest: put --wait gets room once the host evicts served objects" '[ $rc -eq 0 ]' "rc=$rc" "$(console 3)"
check "host: the new object byte-exact; the least recently served one (agent) evicted: 404" \
	'[ "$(code $U/vm/last)" = 200 ] && cmp -s "$dir/body" "$(command -v busybox)" && [ "$(code $U/vm/agent)" = 404 ]'

# corruption of the guest's region (the bytes a hostile guest could write), the other region keeps serving
wait_log() { for _ in $(seq 60); do grep -qF -- "$1" "$dir/serve.log" && return 0; sleep 0.05; done; return 1; }
dd if="$R" of="$dir/head" bs=4096 count=2 2>/dev/null
dd if=/dev/urandom of="$R" bs=64 count=1 conv=notrunc 2>/dev/null
check "random header bytes: the guest's region refused, the log says why" \
	'wait_log "memnet region vm ($R): refused: header: bad magic"'
check "refused: 503 naming the reason; the host region still serves byte-exact" \
	'[ "$(code $U/vm/busybox)" = 503 ] && grep -q "region vm is refused" "$dir/body" && [ "$(code $U/host/hello)" = 200 ] && cmp -s "$dir/body" "$dir/hello"'
grun 20 'vspace-agent memnet ls'
rc=$?
check "guest: its writer refuses the corrupt region too (exit 1, the reason)" \
	'[ $rc -eq 1 ] && out_of_last | grep -q "resource2: header: bad magic"' "rc=$rc" "$(console 4)"
dd if="$dir/head" of="$R" bs=4096 count=2 conv=notrunc 2>/dev/null
printf '\xff\xff\xff\xff' | dd of="$R" bs=1 seek=32 conv=notrunc 2>/dev/null
check "a huge slot count: refused" 'wait_log "refused: header: slot_count 4294967295 out of range"'
dd if="$dir/head" of="$R" bs=4096 count=2 conv=notrunc 2>/dev/null
sleep 0.1
# out-of-range offsets in the slots of busybox and agent.gz (vspace memnet ls: slot,state,...,name)
bad_slots=$("$B/vspace" memnet ls "$R" | awk -F, '$6 == "busybox" || $6 == "agent.gz" { print $1 }')
for s in $bad_slots; do
	printf '\x00\x00\x00\x00\x00\x00\x00\x40' | dd of="$R" bs=1 seek=$((4096 + s * 128 + 24)) conv=notrunc 2>/dev/null
done
check "out-of-range offsets in slots $(echo $bad_slots): those slots refused, named in the log" \
	'[ "$(wc -w <<<"$bad_slots")" = 2 ] && wait_log "memnet region vm: slot $(echo $bad_slots | cut -d" " -f1) refused: object" &&
	 wait_log "memnet region vm: slot $(echo $bad_slots | cut -d" " -f2) refused" && [ "$(code $U/vm/busybox)" = 404 ]'
check "the region's intact objects still served; the host region too" \
	'[ "$(code $U/vm/last)" = 200 ] && cmp -s "$dir/body" "$(command -v busybox)" && [ "$(code $U/host/hello)" = 200 ]'
dd if=/dev/urandom of="$R" bs=4096 count=2 conv=notrunc 2>/dev/null
check "random bytes over header and table: refused; the server runs and serves the host region" \
	'sleep 0.1; [ "$(code $U/vm/last)" = 503 ] && [ "$(code $U/host/hello)" = 200 ] && kill -0 $srv_pid'
check "QEMU is still running (no guest crash)" 'kill -0 $qemu_pid'
total=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "# boot ${boot_s} s, whole test ${total} s"
if [ "$failed" -gt 0 ]; then
	echo "# server log:"
	tail -20 "$dir/serve.log" | sed 's/^/#   /'
	echo "# guest console:"
	console 30 | sed 's/^/#   /'
fi
echo "1..$n"
[ "$failed" -eq 0 ]
