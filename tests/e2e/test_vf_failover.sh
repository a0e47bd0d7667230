#!/usr/bin/env bash
# test_vf_failover.sh - FlexVF end to end in a QEMU guest: a q35 guest whose virtio-net NIC has failover=on gets an
# emulated e1000e hot-plugged as its failover primary (the stand-in for a VF: vfio-pci is impossible here) and unplugged
# again over QMP (`vspace vf plug|unplug`, src/platform/linux/vfplug.c); the guest's failover master must switch to the
# e1000e and back, a 100/s ping stream from the test namespace must lose at most the stated packets at each switch, and
# the plug -> link-up and unplug -> gone times are printed (docs/BENCHMARKS.md).
#
# The test namespace has a bridge with two taps: the virtio-net standby's and the e1000e's (a netdev made at start, so
# the NIC alone is plugged, as a VF would be). The guest reports its NICs on its second serial port each time one comes,
# goes or changes (scripts/guest/init, vsa.netwatch). Needs root, qemu-system-x86_64 and the guest kernel package.
# Cleans up (QEMU and ping by pid, the namespace, the temp dir) on any exit.
set -u
B=${VS_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
skip_all() { echo "ok 1 - FlexVF failover in a guest # SKIP $1"; echo "1..1"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root (netns, tap)"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
[ -x "$B/vspace-agent" ] && [ -x "$B/vspace" ] || skip_all "build $B/vspace and vspace-agent first"
if ! "$root/scripts/guest/build" "$B" >"$B/guest-build-vf.log" 2>&1; then
	grep -q "download" "$B/guest-build-vf.log" && skip_all "cannot download the guest kernel"
	echo "not ok 1 - scripts/guest/build: $(tail -1 "$B/guest-build-vf.log")"
	echo "1..1"
	exit 1
fi

NS=vsw-vf$$
MAC=52:54:00:56:00:02
RATE=100 # pings per second
dir=$(mktemp -d /tmp/vsw-vf-XXXXXX)
qemu_pid= ping_pid=
cleanup() {
	[ -n "$ping_pid" ] && kill "$ping_pid" 2>/dev/null && wait "$ping_pid" 2>/dev/null
	if [ -n "$qemu_pid" ]; then
		kill "$qemu_pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS" || { nok "ip netns add $NS"; echo "1..$n"; exit 1; }
ip -n "$NS" link set lo up
ip -n "$NS" link add br0 type bridge
ip -n "$NS" addr add 198.18.9.1/24 dev br0
ip -n "$NS" link set br0 up
for t in vswpv vswvf; do # the standby's tap, the e1000e's tap
	ip -n "$NS" tuntap add dev $t mode tap
	ip -n "$NS" link set $t master br0
	ip -n "$NS" link set $t up
done

start=$(date +%s.%N)
ip netns exec "$NS" qemu-system-x86_64 -machine q35 -accel tcg -m 512 -smp 2 -nodefaults -no-user-config \
	-display none -no-reboot -kernel "$B/guest/vmlinuz" -initrd "$B/guest/initramfs.gz" \
	-append "console=ttyS0 panic=-1 vsa.ip=198.18.9.2/24 vsa.netwatch=ttyS1" \
	-device pcie-root-port,id=rp0,chassis=1,slot=1 -device pcie-root-port,id=rp1,chassis=2,slot=2 \
	-netdev tap,id=hn0,ifname=vswpv,script=no,downscript=no,vhost=off \
	-device virtio-net-pci,netdev=hn0,id=net0,mac=$MAC,failover=on,bus=rp0 \
	-netdev tap,id=vfn0,ifname=vswvf,script=no,downscript=no,vhost=off \
	-device virtio-serial-pci,id=vser0 \
	-chardev "socket,id=agent,path=$dir/agent.sock,server=on,wait=off" \
	-device virtserialport,bus=vser0.0,chardev=agent,name=vspace.agent \
	-qmp "unix:$dir/qmp.sock,server=on,wait=off" \
	-serial "file:$dir/console.log" -serial "file:$dir/net.log" >"$dir/qemu.log" 2>&1 &
qemu_pid=$!

A="$B/vspace agent -c serial:$dir/agent.sock"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.2f", b - a }'; }
netline() { tr -d '\r' <"$dir/net.log" 2>/dev/null | grep '^net t=' | tail -1; }
wait_net() { # seconds, regex the last NIC line must match; prints the host time it matched
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		if [[ $(netline) =~ $2 ]]; then now; return 0; fi
		sleep 0.01
	done
	return 1
}
# per NIC [rx, tx] packets from the agent: "eth1 rx tx" lines
counters() { $A -t 10000 stats | jq -r '.nics[] | select(.packets) | "\(.name) \(.packets[0]) \(.packets[1])"'; }
tx_of() { awk -v i="$1" '$1 == i { print $3 }' <<<"$2"; }

hello=$($A -t 180000 hello 2>&1 | tr -d ' \n')
check "guest up: the agent answers ($(since "$start") s after start)" '[[ $hello == *"\"proto\":1"* ]]'
check "the guest made a failover pair: master eth0, standby eth1 (net_failover)" \
	'wait_net 20 " eth0:up: eth1:up:eth0$" >/dev/null'
if ! command -v jq >/dev/null; then
	nok "jq is needed to read the agent's counters"
	echo "1..$n"
	exit 1
fi
ip netns exec "$NS" busybox ping -c 3 -W 5 198.18.9.2 >/dev/null 2>&1 # ARP, the bridge learns the standby

# The stream: 100 pings/s for the whole plug/unplug cycle. Each reply line gets the host time it
# arrived ($EPOCHREALTIME, no fork); a lost ping's send time is interpolated from its neighbours.
count=1500
ip netns exec "$NS" busybox ping -i 0.01 -c $count -W 2 198.18.9.2 2>&1 |
	while IFS= read -r l; do echo "$EPOCHREALTIME $l"; done >"$dir/ping.log" &
ping_pid=$!
sleep 2

c0=$(counters)
t_plug=$(now)
out=$("$B/vspace" vf plug --qmp "$dir/qmp.sock" --id vf0 --nic e1000e --netdev vfn0 --mac $MAC \
	--standby net0 --bus rp1 2>&1)
check "vspace vf plug: QEMU accepts the e1000e as failover primary of net0 ($out)" \
	'[[ $out == *"vf0 plugged: device_add accepted"* ]]'
t_reg=$(wait_net 15 " eth2:[a-z]*:eth0") &&
	ok "the guest registers the e1000e (eth2) as the primary slave of eth0 after $(since "$t_plug" "$t_reg") s" ||
	nok "eth2 does not join eth0: $(netline)"
t_up=$(wait_net 15 " eth2:up:eth0") &&
	ok "the primary's link is up $(since "$t_plug" "$t_up") s after device_add" ||
	{ nok "eth2 link not up: $(netline)"; t_up=$(now); }
sleep 1.5
c1=$(counters)
sleep 1
c2=$(counters)
pri=$(($(tx_of eth2 "$c2") - $(tx_of eth2 "$c1")))
sby=$(($(tx_of eth1 "$c2") - $(tx_of eth1 "$c1")))
check "the failover master sends through the e1000e: in 1 s eth2 sent $pri packets, the standby eth1 $sby" \
	'[ "$pri" -ge 50 ] && [ "$sby" -le 5 ]'

t_unplug=$(now)
out=$("$B/vspace" vf unplug --qmp "$dir/qmp.sock" --id vf0 --announce net0 --timeout-ms 10000 2>&1)
check "vspace vf unplug: DEVICE_DELETED came ($out)" '[[ $out == *"vf0 gone after"* ]]'
t_gone=$(wait_net 10 " eth0:up: eth1:up:eth0$") &&
	ok "eth2 is gone from the guest $(since "$t_unplug" "$t_gone") s after device_del" ||
	{ nok "eth2 still there: $(netline)"; t_gone=$(now); }
sleep 1.5
c3=$(counters)
sleep 1
c4=$(counters)
sby=$(($(tx_of eth1 "$c4") - $(tx_of eth1 "$c3")))
check "back on the standby: in 1 s eth1 sent $sby packets" '[ "$sby" -ge 50 ]'

wait "$ping_pid"
ping_pid=
# lost pings and when they were sent: between the arrival times of the replies around them
awk -v n=$count -F'seq=' '/bytes from/ { split($1, h, " "); split($2, a, " "); t[a[1]] = h[1] }
	END { prev = -1
	      for (k = 0; k < n; k++) if (k in t) { for (j = prev + 1; j < k; j++)
			printf "%d %.3f\n", j, prev < 0 ? t[k] : t[prev] + (t[k] - t[prev]) * (j - prev) / (k - prev)
		prev = k }
	      for (j = prev + 1; j < n; j++) printf "%d end\n", j }' "$dir/ping.log" >"$dir/lost"
sent=$(grep -o '[0-9]* packets transmitted' "$dir/ping.log" | awk '{ print $1 }')
# a lost ping belongs to the switch whose window it was sent in (0.3 s slack past each)
read -r lost_plug lost_unplug lost_other <<<"$(awk -v p0="$t_plug" -v p1="$t_up" -v u0="$t_unplug" -v u1="$t_gone" '
	{ t = $2; if (t != "end" && t >= p0 - 0.05 && t <= p1 + 0.3) a++; else if (t != "end" && t >= u0 - 0.05 && t <= u1 + 0.3) b++; else c++ }
	END { print a + 0, b + 0, c + 0 }' "$dir/lost")"
p0=0 p1=$(since "$t_plug" "$t_up")
check "the stream ran: $sent of $count pings sent" '[ "${sent:-0}" -eq $count ]'
# Plug: net_failover accepts only the primary's frames once the primary is registered
# (drivers/net/net_failover.c, net_failover_handle_frame: RX_HANDLER_EXACT on the standby), and the switch
# sends to the primary only after its first frame, at its link-up: pings sent between the primary's
# registration and its link-up are lost. The bound stated: those of device_add -> link-up, plus 0.3 s.
plug_bound=$(awk -v a="$p0" -v b="$p1" -v r=$RATE 'BEGIN { printf "%d", (b - a + 0.3) * r }')
check "plug: $lost_plug pings lost across the switch to the e1000e (bound: device_add -> link-up + 0.3 s = $plug_bound)" \
	'[ "$lost_plug" -le "$plug_bound" ]'
# Unplug: the guest falls back to the standby when the primary goes; QEMU's announce-self on the
# standby tells the bridge the MAC is back on the PV tap. Bound stated: 0.3 s of the stream.
check "unplug: $lost_unplug pings lost across the switch back to the standby (bound: 30, 0.3 s)" \
	'[ "$lost_unplug" -le 30 ]'
check "no ping lost away from the switches ($lost_other)" '[ "$lost_other" -eq 0 ]'
echo "# plug: device_add -> eth2 registered $(since "$t_plug" "$t_reg") s, -> link up $(since "$t_plug" "$t_up") s;" \
	"unplug: device_del -> gone in the guest $(since "$t_unplug" "$t_gone") s; lost pings (100/s): plug $lost_plug, unplug $lost_unplug"
check "QEMU is still running (no guest crash)" 'kill -0 $qemu_pid'
if [ "$failed" -gt 0 ]; then
	echo "# guest NIC lines:"
	tr -d '\r' <"$dir/net.log" | sed 's/^/#   /' | tail -10
	echo "# lost pings (seq time): $(head -c 400 "$dir/lost" | tr '\n' ' ')"
	echo "# switch windows: plug $t_plug..$t_up, unplug $t_unplug..$t_gone"
	echo "# guest console (last 15 lines):"
	tail -15 "$dir/console.log" | sed 's/^/#   /'
fi
echo "1..$n"
[ "$failed" -eq 0 ]
