#!/usr/bin/env bash
# test_guest.sh - end to end: a Debian-kernel guest (scripts/guest/build) under QEMU with 4 vCPUs, a
# 4-queue virtio-net NIC on a tap in a test netns and a virtio-serial agent channel; the host drives
# vspace-agent through `vspace agent` (the proto client library) and checks, with what the guest's
# kernel reports (ethtool channels, online vCPUs, the cgroup's effective cpus, queue counters), that
# queue count and active vCPU set follow the commands.
#
# Needs root, qemu-system-x86_64 and the kernel package (apt-get download). KVM is used when it
# works (VS_GUEST_ACCEL=auto|kvm|tcg); here guests hang on KVM and TCG is used.
# Cleans up (QEMU by pid, tap, netns, temp dir) on any exit.
set -u
B=${VS_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
skip_all() { echo "ok 1 - e2e guest # SKIP $1"; echo "1..1"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root (netns, tap)"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
[ -x "$B/vspace-agent" ] && [ -x "$B/vspace" ] || skip_all "build $B/vspace and $B/vspace-agent first"
if ! "$root/scripts/guest/build" "$B" >"$B/guest-build.log" 2>&1; then
	if grep -q "download" "$B/guest-build.log"; then
		skip_all "cannot download the guest kernel: $(tail -1 "$B/guest-build.log")"
	fi
	echo "not ok 1 - scripts/guest/build: $(tail -1 "$B/guest-build.log")"
	echo "1..1"
	exit 1
fi
ok "guest assembled: kernel $(cat "$B/guest/kernel-version"), $(du -h "$B/guest/initramfs.gz" | cut -f1) initramfs"

NS=vsa-g$$
TAP=vsa-tap0
dir=$(mktemp -d /tmp/vsa-guest-XXXXXX)
qemu_pid=
stop_qemu() {
	[ -n "$qemu_pid" ] || return 0
	kill "$qemu_pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$qemu_pid" 2>/dev/null
	wait "$qemu_pid" 2>/dev/null
	qemu_pid=
}
cleanup() {
	stop_qemu
	ip netns del "$NS" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS" || { nok "ip netns add $NS"; echo "1..$n"; exit 1; }
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev "$TAP" mode tap multi_queue
ip -n "$NS" addr add 198.18.5.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up

boot() { # accel
	rm -f "$dir/console.log" "$dir/agent.sock"
	# -name ...,debug-threads=on names the vCPU threads "CPU n/KVM" or "CPU n/TCG"
	ip netns exec "$NS" qemu-system-x86_64 -name vsa-guest,debug-threads=on -accel "$1" \
		-m 512 -smp 4 -nodefaults -no-user-config -display none -no-reboot \
		-kernel "$B/guest/vmlinuz" -initrd "$B/guest/initramfs.gz" \
		-append "console=ttyS0 panic=-1 vsa.ip=198.18.5.2/24" \
		-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off,queues=4" \
		-device virtio-net-pci,netdev=n0,mq=on,vectors=10,mac=52:54:00:56:00:02 \
		-device virtio-serial-pci,id=vser0 \
		-chardev "socket,id=agent,path=$dir/agent.sock,server=on,wait=off" \
		-device virtserialport,bus=vser0.0,chardev=agent,name=vspace.agent \
		-serial "file:$dir/console.log" >"$dir/qemu.log" 2>&1 &
	qemu_pid=$!
}

accel=${VS_GUEST_ACCEL:-auto}
if [ "$accel" = auto ]; then
	accel=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		# KVM is usable when the kernel starts printing within a few seconds
		boot kvm
		for _ in $(seq 80); do
			grep -q "Linux version" "$dir/console.log" 2>/dev/null && { accel=kvm; break; }
			kill -0 "$qemu_pid" 2>/dev/null || break
			sleep 0.1
		done
		[ "$accel" = kvm ] || stop_qemu
		[ "$accel" = kvm ] || echo "# KVM: no console output within 8 s, using TCG"
	fi
fi
[ -n "$qemu_pid" ] || boot "$accel"
start=$(date +%s.%N)

A="$B/vspace agent -c serial:$dir/agent.sock"
j() { tr -d ' \n'; } # compact JSON for matching
hello=$($A -t 180000 hello | j)
boot_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check "agent answers hello over virtio-serial ($accel, ${boot_s} s after start)" \
	'[[ $hello == *"\"proto\":1"* ]]'
check "hello: 4 vCPUs, eth0 with 4 of 4 queues" \
	'[[ $hello == *"\"vcpus\":4"* && $hello == *"{\"name\":\"eth0\",\"queues\":4,\"max_queues\":4}"* ]]'
check "QEMU's vCPU threads are named CPU n/${accel^^} (what vspaced looks for)" \
	'[ "$(grep -l "^CPU [0-9]/" /proc/$qemu_pid/task/*/comm 2>/dev/null | wc -l)" -eq 4 ]'

stats() { $A -t 10000 stats eth0 | j; }
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
nic_queues() { sed -n 's/.*"name":"eth0","queues":\([0-9]*\).*/\1/p'; }

r=$($A -t 10000 set_vnq eth0 2 | j)
s=$(stats)
check "set_vnq eth0 2: the guest kernel reports 2 channels" '[ "$(echo "$s" | nic_queues)" = 2 ]'
check "set_vnq eth0 2: IRQs of queues 0-1 pointed at the active vCPUs" '[[ $r == *"\"irqs\":4"* ]]'
check "set_vnq eth0 2: per-queue counters for 2 queues" \
	'[[ $s =~ \"rx_packets\":\[[0-9]+,[0-9]+\] ]]'

r=$($A -t 10000 set_vcpus 2 | j)
s=$(stats)
check "set_vcpus 2 (cpuset): the application's cgroup may use vCPUs 0-1" \
	'[ "$(echo "$s" | field app_cpus)" = 0-1 ] && [ "$(echo "$s" | field active)" = 0-1 ]'
check "set_vcpus 2 (cpuset): all 4 vCPUs stay online" '[ "$(echo "$s" | field online)" = 0-3 ]'

r=$($A -t 10000 set_vcpus 3 hotplug | j)
s=$(stats)
check "set_vcpus 3 hotplug: vCPU 3 offline in the guest" '[ "$(echo "$s" | field online)" = 0-2 ]'
check "set_vcpus 3 hotplug: the application follows (0-2)" '[ "$(echo "$s" | field app_cpus)" = 0-2 ]'
check "set_vcpus 3 hotplug: offline vCPU 3 has no busy time (null)" '[[ $s == *"null]"* ]]'

r=$($A -t 10000 set_vnq eth0 3 | j)
s=$(stats)
check "set_vnq eth0 3 with 3 vCPUs: 3 channels" '[ "$(echo "$s" | nic_queues)" = 3 ]'

# traffic from the test netns reaches the guest through the multi-queue tap
before=$(echo "$s" | sed -n 's/.*"rx_packets":\[\([0-9,]*\)\].*/\1/p' | tr ',' '+')
ip netns exec "$NS" busybox ping -c 5 -W 5 198.18.5.2 >"$dir/ping.log" 2>&1
s=$(stats)
after=$(echo "$s" | sed -n 's/.*"rx_packets":\[\([0-9,]*\)\].*/\1/p' | tr ',' '+')
check "ping from the netns is answered; guest rx counters grew ($((before)) -> $((after)))" \
	'grep -q " 0% packet loss" "$dir/ping.log" && [ $((after)) -gt $((before)) ]'

r=$($A -t 10000 set_vcpus 4 | j)
s=$(stats)
check "set_vcpus 4 (cpuset): vCPU 3 back online, application on 0-3" \
	'[ "$(echo "$s" | field online)" = 0-3 ] && [ "$(echo "$s" | field app_cpus)" = 0-3 ]'
r=$($A -t 10000 set_vnq eth0 4 | j)
check "set_vnq eth0 4: back to 4 channels" '[ "$(stats | nic_queues)" = 4 ]'

# bad requests over the serial channel: error replies, and the agent keeps serving
printf '%s\n' '{"v":1,"id":1,"cmd":"set_vnq","args":{"ifname":"eth0","n":5}}' \
	'{"v":1,"id":2,"cmd":"set_vcpus","args":{"n":0}}' 'garbage' \
	'{"v":1,"id":3,"cmd":"set_vnq","args":{"ifname":"eth9","n":1}}' |
	$A -t 10000 raw >"$dir/bad.out" 2>&1
check "4 bad requests over virtio-serial: 4 error replies" \
	'[ "$(grep -c "\"ok\":false" "$dir/bad.out")" -eq 4 ] && grep -q "above the maximum of eth0 (4 queues)" "$dir/bad.out"'
check "the agent still answers" '$A -t 10000 hello >/dev/null'

# Round-trip times (figures for docs/BENCHMARKS.md, not pass/fail criteria): host writes the
# request -> agent applies -> host reads the reply. VS_E2E_RTT_ROUNDS sets the count.
rounds=${VS_E2E_RTT_ROUNDS:-30}
for cmd in hello stats "set_vnq eth0 4"; do
	# shellcheck disable=SC2086
	echo "# $accel guest, $($A -t 10000 -r "$rounds" $cmd 2>&1)"
done
# set_vnq that really changes the channel count (2 <-> 4), one command per connection
for ((i = 0; i < rounds / 2 + 1; i++)); do
	for q in 2 4; do
		out=$($A -t 10000 -r 1 set_vnq eth0 $q 2>&1)
		[[ $out == *" min "* ]] || echo "# set_vnq $q failed: $out" >&2
		echo "$out" | sed -n 's/.* min \([0-9]*\) .*/\1/p'
	done
done | sort -n >"$dir/chg"
cnt=$(wc -l <"$dir/chg")
if [ "$cnt" -gt 0 ]; then
	echo "# $accel guest, set_vnq changing 2<->4 queues, $cnt round trips: rtt_us" \
		"min $(sed -n 1p "$dir/chg") p50 $(sed -n "$(((cnt + 1) / 2))p" "$dir/chg")" \
		"p95 $(sed -n "$(((cnt * 95 + 99) / 100))p" "$dir/chg") max $(tail -1 "$dir/chg")"
fi

check "QEMU is still running (no guest crash)" 'kill -0 $qemu_pid'
if [ "$failed" -gt 0 ]; then
	echo "# guest console (last 30 lines):"
	tail -30 "$dir/console.log" | sed 's/^/#   /'
fi
stop_qemu
echo "1..$n"
[ "$failed" -eq 0 ]
