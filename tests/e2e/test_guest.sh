#!/usr/bin/env bash
# test_guest.sh - end to end: a Debian-kernel guest (scripts/guest/build) under QEMU with 4 vCPUs, a
# 4-queue virtio-net NIC on a tap in a test netns and a virtio-serial agent channel.
# Part 1: the host drives vspace-agent through `vspace agent` (the proto client library) and checks,
# with what the guest's kernel reports (ethtool channels, online vCPUs, the cgroup's effective cpus,
# queue counters), that queue count and active vCPU set follow the commands.
# Part 2: vspaced manages the QEMU process (qemu_pidfile=, agent=serial:..., the tap as its NIC):
# policy changes (vspacectl set mode) must show in the guest - its queue count and the cpus its
# application may use, read from a second serial port the guest writes its state to - and on the
# host QEMU's vCPU threads (CPU n/TCG) must sit in vspaced's vCPU core group; SIGTERM puts the
# guest and the host back.
# Part 0, in the same boot (the guest runs it before its agent starts): the guest is a pure cgroup v2
# host (cgroup_no_v1=all) running vspaced itself (scripts/guest/build-daemon's layer):
# tests/e2e/in-guest-cgroup2.sh checks that and runs tests/daemon/test_live.sh in the guest; its TAP
# lines come back over a virtio-serial port and are relayed here.
#
# Needs root, qemu-system-x86_64 and the kernel package (apt-get download). KVM is used when it
# works (VS_GUEST_ACCEL=auto|kvm|tcg); here guests hang on KVM and TCG is used.
# Cleans up (vspaced and QEMU by pid, cgroups, tap, netns, temp dir) on any exit.
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
[ -x "$B/vspace-agent" ] && [ -x "$B/vspace" ] && [ -x "$B/vspaced" ] && [ -x "$B/vspacectl" ] ||
	skip_all "build $B/vspace, vspace-agent, vspaced and vspacectl first"
. "$root/tests/e2e/guest.sh"
guest_build guest-build.log
ok "guest assembled: kernel $(cat "$B/guest/kernel-version"), $(du -h "$B/guest/initramfs.gz" | cut -f1) initramfs"
if "$root/scripts/guest/build-daemon" "$B" >>"$B/guest-build.log" 2>&1; then
	ok "daemon layer assembled: $(du -h "$B/guest/daemon.cpio" | cut -f1) (vspaced, its libraries, test_live.sh)"
else
	echo "not ok 2 - scripts/guest/build-daemon: $(tail -1 "$B/guest-build.log")"
	echo "1..2"
	exit 1
fi

NS=vsw-g$$
TAP=vsw-tap0
CG=vsw-e2e$$
mport=$("$root/tests/free-port") || mport=19493 # vspaced's metrics port
dir=$(mktemp -d /tmp/vsw-guest-XXXXXX)
qemu_pid= vsd_pid=
stop_qemu() {
	guest_stop "$qemu_pid"
	qemu_pid=
}
vsd_rc=
stop_vspaced() {
	[ -n "$vsd_pid" ] || return 0
	kill "$vsd_pid" 2>/dev/null
	wait "$vsd_pid" 2>/dev/null
	vsd_rc=$?
	vsd_pid=
}
cleanup() {
	stop_vspaced
	stop_qemu
	# whatever vspaced left behind: threads back to the root, then the groups
	for d in $(find /sys/fs/cgroup/cpuset/$CG -depth -type d 2>/dev/null); do
		for t in $(cat "$d/tasks" 2>/dev/null); do echo "$t" >/sys/fs/cgroup/cpuset/tasks 2>/dev/null; done
		rmdir "$d" 2>/dev/null
	done
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
	rm -f "$dir/console.log" "$dir/agent.sock" "$dir/state.log" "$dir/qemu.pid" "$dir/v2.tap"
	# -name ...,debug-threads=on names the vCPU threads "CPU n/KVM" or "CPU n/TCG";
	# the second serial port (ttyS1) gets the guest's state lines (vsa.state=)
	ip netns exec "$NS" qemu-system-x86_64 -name vsw-guest,debug-threads=on -accel "$1" \
		-m 512 -smp 4 -nodefaults -no-user-config -display none -no-reboot \
		-pidfile "$dir/qemu.pid" \
		-kernel "$B/guest/vmlinuz" -initrd "$B/guest/initramfs-daemon" \
		-append "console=ttyS0 panic=-1 vsa.ip=198.18.5.2/24 vsa.state=ttyS1 cgroup_no_v1=all vsa.test=vspace.test" \
		-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off,queues=4" \
		-device virtio-net-pci,netdev=n0,mq=on,vectors=10,mac=52:54:00:56:00:02 \
		-device virtio-serial-pci,id=vser0 \
		-chardev "socket,id=agent,path=$dir/agent.sock,server=on,wait=off" \
		-device virtserialport,bus=vser0.0,chardev=agent,name=vspace.agent \
		-chardev "file,id=v2test,path=$dir/v2.tap" -device virtserialport,bus=vser0.0,chardev=v2test,name=vspace.test \
		-serial "file:$dir/console.log" -serial "file:$dir/state.log" >"$dir/qemu.log" 2>&1 &
	qemu_pid=$!
}

guest_accel
boot "$accel"
start=$(date +%s.%N)

A="$B/vspace agent -c serial:$dir/agent.sock"
j() { tr -d ' \n'; } # compact JSON for matching
hello=$($A -t 180000 hello | j)
boot_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check "agent answers hello over virtio-serial ($accel, ${boot_s} s after start)" \
	'[[ $hello == *"\"proto\":1"* ]]'
check "hello: 4 vCPUs, eth0 with 4 of 4 queues" \
	'[[ $hello == *"\"vcpus\":4"* && $hello == *"{\"name\":\"eth0\",\"queues\":4,\"max_queues\":4}"* ]]'
# Part 0's lines: the guest ran them before its agent answered
if grep -q '^vspace-test: done' "$dir/v2.tap" 2>/dev/null; then
	ok "pure cgroup v2 guest: the in-guest tests ran to the end"
else
	nok "pure cgroup v2 guest: the in-guest tests did not finish (last: $(tail -1 "$dir/v2.tap" 2>/dev/null))"
fi
while IFS= read -r line; do
	case $line in
	"ok "*"# SKIP"*) nok "guest (pure v2): skipped, though the guest has all it needs: ${line#ok [0-9]* - }" ;;
	"ok "*) ok "guest (pure v2): ${line#ok [0-9]* - }" ;;
	"not ok "*) nok "guest (pure v2): ${line#not ok [0-9]* - }" ;;
	"#"*) echo "# guest (pure v2): ${line#\# }" ;;
	esac
done < <(tr -d '\r' <"$dir/v2.tap" 2>/dev/null)
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


# ---- Part 2: vspaced manages the VM -------------------------------------------------------------
# The agent's serial channel takes one host at a time: from here on vspaced holds it. What the
# guest's kernel says comes from the second serial port (state lines, scripts/guest/init).
gstate() { tr -d '\r' <"$dir/state.log" 2>/dev/null | grep '^state seq=' | tail -1; }
gfield() { gstate | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
guest_has() { # queues cpus: eth0's rx and tx queues, the application's cgroup and one of its tasks
	[ "$(gfield rxq)" = "$1" ] && [ "$(gfield txq)" = "$1" ] && [ "$(gfield app)" = "$2" ] &&
		[ "$(gfield task)" = "$2" ]
}
wait_until() { # seconds, condition (evaluated each time)
	for _ in $(seq $(($1 * 20))); do eval "$2" && return 0; sleep 0.05; done
	return 1
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
vcpu_tids() { grep -l '^CPU [0-9]*/' /proc/$qemu_pid/task/*/comm 2>/dev/null | cut -d/ -f5; }
allowed() { awk '/^Cpus_allowed_list/ { print $2 }' /proc/$qemu_pid/task/$1/status 2>/dev/null; }
cpuset_of() { awk -F: '$2 == "cpuset" { print $3 }' /proc/$qemu_pid/task/$1/cgroup 2>/dev/null; }
threads_state() { for t in /proc/$qemu_pid/task/*; do t=${t##*/}; echo "$t $(cpuset_of "$t") $(allowed "$t")"; done; }
vcpus_in() { # cgroup cpus: every vCPU thread is in that cpuset group and may run on those cpus only
	local t k=0
	for t in $(vcpu_tids); do
		[ "$(cpuset_of "$t")" = "$1" ] && [ "$(allowed "$t")" = "$2" ] || return 1
		k=$((k + 1))
	done
	[ "$k" -eq 4 ]
}
tap_rx() { ip netns exec "$NS" ls "/sys/class/net/$TAP/queues" | grep -c rx-; }
tap_rps_set() { # every rx queue of the tap has an RPS mask
	local m
	for m in $(ip netns exec "$NS" sh -c "cat /sys/class/net/$TAP/queues/rx-*/rps_cpus"); do
		[ "$((16#${m//,/}))" -ne 0 ] || return 1
	done
}
CTL="$B/vspacectl -s $dir/vspaced.sock"
wl() { $CTL status --json 2>/dev/null | jq -c ".workloads[0]$1"; }

if [ "$(nproc --all)" -lt 2 ] || [ ! -d /sys/fs/cgroup/cpuset ] || ! command -v jq >/dev/null; then
	ok "vspaced manages the VM # SKIP needs 2 cpus, the cgroup v1 cpuset hierarchy and jq"
elif ! wait_until 30 'guest_has 4 0-3'; then
	nok "the guest writes its state to the second serial port (last: $(gstate))"
else
	orig_threads=$(threads_state)
	cat >"$dir/vspace.conf" <<CONF
[host]
cores=0-1
nic=$TAP
nic_netns=$NS
mode=E
period_ms=100
control_socket=$dir/vspaced.sock
state_dir=$dir/state
lock_file=$dir/vspaced.lock
metrics_listen=127.0.0.1:$mport
cgroup_parent=$CG
[workload "vm"]
role=lc
slo_p95_us=1000
qemu_pidfile=$dir/qemu.pid
agent=serial:$dir/agent.sock
CONF
	t0=$(date +%s.%N)
	"$B/vspaced" -c "$dir/vspace.conf" >"$dir/vspaced.log" 2>&1 &
	vsd_pid=$!
	if wait_until 60 'guest_has 1 0'; then
		ok "vspaced (E mode) starts: the guest follows to 1 queue and vCPU 0 in $(since "$t0") s"
	else
		nok "vspaced start: guest $(gstate); agent $(wl .agent_link.state)"
	fi
	check "plan: 1 vCPU core + 1 NQ core, 1 vCPU and 1 queue in the guest" \
		'[ "$(wl "| [.n_vcpu, .n_nq, .vcpus, .queues] | map(tostring) | join(\" \")")" = "\"1 1 1 1\"" ]'
	check "status: the agent link is ready, 1 vCPU and 1 queue applied, guest NIC eth0 from hello" \
		'[ "$(wl ".agent_link | [.state, .vcpus.applied, .queues.applied, .ifname] | map(tostring) | join(\" \")")" = "\"ready 1 1 eth0\"" ]'
	vc=$(wl .vcpu_cores | tr -d '"') nq=$(wl .nq_cores | tr -d '"')
	check "host: the 4 vCPU threads (CPU n/${accel^^}) sit in the vCPU group /$CG/vm/vcpu, cpus [$vc] (NQ group [$nq])" \
		'[ -n "$vc" ] && [ "$vc" != "$nq" ] && vcpus_in "/$CG/vm/vcpu" "$vc"'
	check "host: QEMU's main thread sits in the NQ group /$CG/vm/nq, cpus [$nq]" \
		'[ "$(cpuset_of $qemu_pid)" = "/$CG/vm/nq" ] && [ "$(allowed $qemu_pid)" = "$nq" ]'
	out=$($CTL status)
	check "vspacectl status shows the agent link" \
		'grep -q "^  agent serial:$dir/agent.sock: ready .* NIC eth0, vCPUs 1/4 (plan 1), queues 1/4 (plan 1)" <<<"$out"'

	# KVM halt polling: read from the VM's debugfs directory under KVM, else (TCG, or
	# debugfs not mounted) not subtracted, with the reason in status and one log line
	hp=$(wl .halt_poll)
	check "status: the halt-poll accounting says what it does ($(jq -r '.state + ": " + (.note // .source)' <<<"$hp"))" \
		'jq -e "(.state == \"active\" and .source != null) or (.state == \"unavailable\" and (.note | length) > 0)" <<<"$hp" >/dev/null &&
		[ "$(grep -c "workload vm: KVM halt polling" "$dir/vspaced.log")" -eq 1 ]'
	apply_errors() { $CTL status --json 2>/dev/null | jq .daemon.apply_errors; }
	e0=$(apply_errors) # (the first period's channel change on the tap is refused: tuntap has none)
	# policy changes: mode, guest queues, guest cpus, host vCPU group layout
	for step in "static-ts:4:4 4 0-3" "static-ts:2:3 3 0-1" "E 1 0"; do
		read -r mode q cpus <<<"$step"
		t0=$(date +%s.%N)
		$CTL set mode "$mode" >/dev/null
		if wait_until 30 "guest_has $q $cpus"; then
			dt=$(since "$t0")
			# when the agent confirmed set_vnq: now - the reply's age
			rep=$(wl .agent_link.replies.set_vnq)
			ack=$(awk -v a="$t0" -v b="$(date +%s.%N)" -v age="$(jq .age_s <<<"$rep")" \
				'BEGIN { printf "%.3f", b - age - a }')
			ok "set mode $mode: the guest follows to $q queues, application on vCPUs $cpus (${dt} s)"
			echo "# $accel guest, set mode $mode: agent confirmed set_vnq $q after $ack s" \
				"(its round trip $(jq '.rtt_us / 1000' <<<"$rep") ms); the guest's state port" \
				"showed $q queues after $dt s"
		else
			nok "set mode $mode: guest $(gstate); plan $(wl '| [.vcpus, .queues]'); agent $(wl .agent_link.replies)"
		fi
		# QEMU attaches as many tap queues as the guest's virtio-net uses; vspaced
		# steers each one's receive processing (RPS) into the NQ group
		check "host: $TAP follows with $q queues, each steered by RPS (next period)" \
			'wait_until 5 "[ \"\$(tap_rx)\" = $q ] && tap_rps_set"'
		vc=$(wl .vcpu_cores | tr -d '"')
		if [ "$mode" = E ]; then
			check "host: vCPU threads back on the one vCPU core [$vc]" \
				'[ "$(wl .n_vcpu)" = 1 ] && vcpus_in "/$CG/vm/vcpu" "$vc"'
		else
			check "host: $mode time-shares both cores: vCPU threads on [$vc]" \
				'[ "$vc" = 0-1 ] && vcpus_in "/$CG/vm/vcpu" 0-1'
		fi
	done
	# Figures for docs/BENCHMARKS.md (not pass/fail): VS_E2E_PLAN_ROUNDS more E <-> static-ts:4:4
	# round trips; per change, when the agent confirmed set_vnq and when the state port showed it.
	for ((i = 0; i < ${VS_E2E_PLAN_ROUNDS:-0}; i++)); do
		for step in "static-ts:4:4 4 0-3" "E 1 0"; do
			read -r mode q cpus <<<"$step"
			t0=$(date +%s.%N)
			$CTL set mode "$mode" >/dev/null
			wait_until 30 "guest_has $q $cpus" || { echo "# round $i: $mode not followed" >&2; continue; }
			dt=$(since "$t0")
			rep=$(wl .agent_link.replies.set_vnq)
			echo "$(awk -v a="$t0" -v b="$(date +%s.%N)" -v age="$(jq .age_s <<<"$rep")" \
				'BEGIN { printf "%.3f", b - age - a }') $(jq '.rtt_us / 1000' <<<"$rep") $dt"
		done
	done >"$dir/plan-times"
	if [ -s "$dir/plan-times" ]; then
		for col in 1 2 3; do
			cut -d' ' -f$col "$dir/plan-times" | sort -g >"$dir/col"
			c=$(wc -l <"$dir/col")
			echo "$(sed -n 1p "$dir/col") $(sed -n "$(((c + 1) / 2))p" "$dir/col") $(sed -n "$(((c * 9 + 9) / 10))p" "$dir/col") $(tail -1 "$dir/col")"
		done | paste -sd' ' | awk -v n="$(wc -l <"$dir/plan-times")" -v a="$accel" '{
			printf "# %s guest, %d plan changes (E <-> static-ts:4:4), min/p50/p90/max:\n", a, n
			printf "#   set mode -> agent confirmed set_vnq: %s / %s / %s / %s s\n", $1, $2, $3, $4
			printf "#   set_vnq round trip (vspaced -> agent -> vspaced): %s / %s / %s / %s ms\n", $5, $6, $7, $8
			printf "#   set mode -> guest state port shows the queues: %s / %s / %s / %s s\n", $9, $10, $11, $12 }'
	fi
	check "no host write failed meanwhile (vspaced follows the tap's queues as they come and go)" \
		'[ "$(apply_errors)" = "$e0" ]'
	check "the agent link stayed up (1 connect, 0 disconnects) and no request failed" \
		'[ "$(wl ".agent_link | [.connects, .disconnects, ([.requests[] | .refused + .timeout + .disconnected] | add)] | map(tostring) | join(\" \")")" = "\"1 0 0\"" ]'

	# SIGTERM: the agent restores the guest, vspaced the host
	stop_vspaced
	wait_until 20 'guest_has 4 0-3' && ok "vspaced stops: the agent restores the guest (4 queues, vCPUs 0-3)" ||
		nok "guest restore: $(gstate)"
	check "vspaced exits 0: every setting it recorded was put back" '[ "$vsd_rc" = 0 ]'
	check "host: every QEMU thread back in its cgroup with its cpus" '[ "$(threads_state)" = "$orig_threads" ]'
	check "host: vspaced's cgroups are gone" '[ ! -e /sys/fs/cgroup/cpuset/$CG ]'
	check "vspaced logged each guest change with its round trip" \
		'[ "$(grep -c "agent: set_vnq eth0 [0-9]* done" "$dir/vspaced.log")" -ge 4 ]'
	if [ "$failed" -gt 0 ]; then
		echo "# vspaced log (last 20 lines):"
		tail -20 "$dir/vspaced.log" | sed 's/^/#   /'
	fi
fi

check "QEMU is still running (no guest crash)" 'kill -0 $qemu_pid'
if [ "$failed" -gt 0 ]; then
	echo "# guest console (last 30 lines):"
	tail -30 "$dir/console.log" | sed 's/^/#   /'
fi
stop_qemu
echo "1..$n"
[ "$failed" -eq 0 ]
