#!/usr/bin/env bash
# test_vf_failover.sh - FlexVF end to end in a QEMU guest: a q35 guest whose virtio-net NIC has failover=on gets an
# emulated e1000e hot-plugged as its failover primary (the stand-in for a VF: vfio-pci is impossible here) by vspaced
# ([vf] standin=e1000e, strategy activity; the QMP backend, src/platform/linux/vfplug.c) and taken out again
# (vspacectl vf deny), forced back (vf grant) and released (vf auto), and unplugged at exit (vf_on_exit=unplug); the
# guest's failover master must switch to the e1000e and back, a 100/s ping stream from the test namespace must lose at
# most the stated packets at each switch, and the plug -> link-up and unplug -> gone times are printed
# (docs/BENCHMARKS.md). Then the same guest's second, plain virtio-net NIC (no failover) gets a second e1000e with its MAC
# by hand (`vspace vf plug|unplug`): vspace-agent (--vf-bond) bonds the two (active-backup, the e1000e primary), moving
# the NIC's address to the bond, and releases the bond when it is unplugged; a second stream measures that loss.
#
# The test namespace has a bridge with two taps: the virtio-net standby's and the e1000e's (a netdev made at start, so
# the NIC alone is plugged, as a VF would be). The guest reports its NICs on its second serial port each time one comes,
# goes or changes (scripts/guest/init, vsa.netwatch). Needs root, qemu-system-x86_64 and the guest kernel package; KVM
# where it works, else TCG (tests/e2e/guest.sh, VS_GUEST_ACCEL).
# Cleans up (vspaced, QEMU and ping by pid, the namespace, vspaced's cgroups, the temp dir) on any exit.
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
[ -x "$B/vspace-agent" ] && [ -x "$B/vspace" ] && [ -x "$B/vspaced" ] && [ -x "$B/vspacectl" ] ||
	skip_all "build $B/vspace, vspace-agent, vspaced and vspacectl first"
command -v jq >/dev/null || skip_all "jq is needed"
. "$root/tests/e2e/guest.sh"
guest_build guest-build-vf.log
guest_accel

NS=vsw-vf$$
MAC=52:54:00:56:00:02  # the failover pair's
MAC2=52:54:00:56:00:03 # the plain NIC's (bonded by the agent)
RATE=100 # pings per second
dir=$(mktemp -d /tmp/vsw-vf-XXXXXX)
qemu_pid= ping_pid= vsd_pid= vsd_rc=
mport=$("$root/tests/free-port") || mport=19497 # vspaced's metrics port
stop_vspaced() {
	[ -n "$vsd_pid" ] || return 0
	kill "$vsd_pid" 2>/dev/null
	wait "$vsd_pid" 2>/dev/null
	vsd_rc=$?
	vsd_pid=
}
cleanup() {
	stop_vspaced
	[ -n "$ping_pid" ] && kill "$ping_pid" 2>/dev/null && wait "$ping_pid" 2>/dev/null
	guest_stop "$qemu_pid"
	ip netns del "$NS" 2>/dev/null
	# whatever vspaced left behind: threads back to the root, then its groups
	for d in $(find /sys/fs/cgroup/cpuset/vsw-vfe2e$$ -depth -type d 2>/dev/null); do
		for t in $(cat "$d/tasks" 2>/dev/null); do echo "$t" >/sys/fs/cgroup/cpuset/tasks 2>/dev/null; done
		rmdir "$d" 2>/dev/null
	done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS" || { nok "ip netns add $NS"; echo "1..$n"; exit 1; }
ip -n "$NS" link set lo up
# br0: the failover pair's network (the standby's tap, the e1000e's); br1: the bond's
for b in "br0 198.18.9.1 vswpv vswvf" "br1 198.18.10.1 vswpv2 vswvf2"; do
	read -r br ip t1 t2 <<<"$b"
	ip -n "$NS" link add $br type bridge
	ip -n "$NS" addr add $ip/24 dev $br
	ip -n "$NS" link set $br up
	for t in $t1 $t2; do
		ip -n "$NS" tuntap add dev $t mode tap
		ip -n "$NS" link set $t master $br
		ip -n "$NS" link set $t up
	done
done

start=$(date +%s.%N)
ip netns exec "$NS" qemu-system-x86_64 -machine q35 -accel "$accel" -m 512 -smp 2 -nodefaults -no-user-config \
	-display none -no-reboot -kernel "$B/guest/vmlinuz" -initrd "$B/guest/initramfs.gz" \
	-append "console=ttyS0 panic=-1 vsa.ip=198.18.9.2/24 vsa.netwatch=ttyS1 vsa.ip2=eth2:198.18.10.2/24 vsa.vfbond=eth2" \
	-device pcie-root-port,id=rp0,chassis=1,slot=1 -device pcie-root-port,id=rp1,chassis=2,slot=2 \
	-device pcie-root-port,id=rp2,chassis=3,slot=3 -device pcie-root-port,id=rp3,chassis=4,slot=4 \
	-netdev tap,id=hn0,ifname=vswpv,script=no,downscript=no,vhost=off \
	-device virtio-net-pci,netdev=hn0,id=net0,mac=$MAC,failover=on,bus=rp0 \
	-netdev tap,id=vfn0,ifname=vswvf,script=no,downscript=no,vhost=off \
	-netdev tap,id=hn1,ifname=vswpv2,script=no,downscript=no,vhost=off \
	-device virtio-net-pci,netdev=hn1,id=net1,mac=$MAC2,bus=rp2 \
	-netdev tap,id=vfn1,ifname=vswvf2,script=no,downscript=no,vhost=off \
	-device virtio-serial-pci,id=vser0 \
	-chardev "socket,id=agent,path=$dir/agent.sock,server=on,wait=off" \
	-device virtserialport,bus=vser0.0,chardev=agent,name=vspace.agent \
	-qmp "unix:$dir/qmp.sock,server=on,wait=off" -pidfile "$dir/qemu.pid" -name vsw-vf,debug-threads=on \
	-serial "file:$dir/console.log" -serial "file:$dir/net.log" >"$dir/qemu.log" 2>&1 &
qemu_pid=$!

A="$B/vspace agent -c serial:$dir/agent.sock"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.2f", b - a }'; }
netline() { tr -d '\r' <"$dir/net.log" 2>/dev/null | grep '^net t=' | tail -1; }
# per NIC [rx, tx] packets from the agent: "eth1 rx tx" lines
counters() { # (a second try when the agent's answer does not come)
	local out
	for _ in 1 2; do
		out=$($A -t 10000 stats 2>>"$dir/agent-err.log" | jq -r '.nics[] | select(.packets) | "\(.name) \(.packets[0]) \(.packets[1])"')
		[ -n "$out" ] && break
	done
	echo "$out"
}
tx_of() { awk -v i="$1" '$1 == i { print $3 }' <<<"$2"; }

nic_state() { # NAME: its "state:master" in the last NIC line, "" when absent
	netline | tr ' ' '\n' | awk -F: -v n="$1" '$1 == n { print $2 ":" $3 }'
}
wait_state() { # seconds, NIC, regex its state:master must match; prints the host time
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -le "$end" ]; do
		if [[ $(nic_state "$2") =~ $3 ]]; then now; return 0; fi
		sleep 0.01
	done
	return 1
}
new_nic() { # NICS-BEFORE: the first NIC of the last line not in the list
	netline | tr ' ' '\n' | sed -n 's/^\(eth[0-9]*\):.*/\1/p' | grep -vxF -f <(tr ' ' '\n' <<<"$1") | head -1
}
nic_names() { netline | tr ' ' '\n' | sed -n 's/^\([a-z0-9]*\):.*/\1/p' | tr '\n' ' '; }
# A ping stream at RATE/s to $1 into $2; each reply line gets the host time it arrived
# ($EPOCHREALTIME, no fork); a lost ping's send time is interpolated from its neighbours.
stream() {
	ip netns exec "$NS" busybox ping -i 0.01 -c "$3" -W 2 "$1" 2>&1 |
		while IFS= read -r l; do echo "$EPOCHREALTIME $l"; done >"$2"
}
# lost pings of log $1 (count $2) falling in window [$3, $4 + $7 s] and [$5, $6 + 0.3 s], and elsewhere
losses() {
	awk -v n="$2" -F'seq=' '/bytes from/ { split($1, h, " "); split($2, a, " "); t[a[1]] = h[1] }
		END { prev = -1
		      for (k = 0; k < n; k++) if (k in t) { for (j = prev + 1; j < k; j++)
				printf "%d %.3f\n", j, prev < 0 ? t[k] : t[prev] + (t[k] - t[prev]) * (j - prev) / (k - prev)
			prev = k }
		      for (j = prev + 1; j < n; j++) printf "%d end\n", j }' "$1" >"$1.lost"
	awk -v p0="$3" -v p1="$4" -v u0="$5" -v u1="$6" -v ps="$7" '
		{ t = $2; if (t != "end" && t >= p0 - 0.05 && t <= p1 + ps) a++; else if (t != "end" && t >= u0 - 0.05 && t <= u1 + 0.3) b++; else c++ }
		END { print a + 0, b + 0, c + 0 }' "$1.lost"
	awk -v p0="$3" -v p1="$4" -v u0="$5" -v u1="$6" -v ps="$7" '
		{ t = $2; if (t == "end" || !((t >= p0 - 0.05 && t <= p1 + ps) || (t >= u0 - 0.05 && t <= u1 + 0.3)))
			printf "seq %d at %s (plug %.3f..%.3f, unplug %.3f..%.3f)\n", $1, t, p0, p1, u0, u1 }' "$1.lost" >"$1.other"
}
sent_of() { grep -o '[0-9]* packets transmitted' "$1" | awk '{ print $1 }'; }

hello=$($A -t 180000 hello 2>&1 | tr -d ' \n')
check "guest up: the agent answers ($(since "$start") s after start)" '[[ $hello == *"\"proto\":1"* ]]'
check "the guest made a failover pair: master eth0, standby eth1 (net_failover); eth2 the plain NIC" \
	'wait_state 20 eth1 "^up:eth0$" >/dev/null && [ "$(nic_state eth0)" = "up:" ] && [ "$(nic_state eth2)" = "up:" ]'
ip netns exec "$NS" busybox ping -c 3 -W 5 198.18.9.2 >/dev/null 2>&1 # ARP: the bridges learn the PV taps
ip netns exec "$NS" busybox ping -c 3 -W 5 198.18.10.2 >/dev/null 2>&1

# ---- 1. vspaced's FlexVF: the e1000e stand-in plugged as the primary of net0 and taken out -------
# [vf] standin=e1000e vfs=1, strategy activity every 1 s with min_pps 20 and a minimum hold of 3 intervals
# (the switch's own loss must not make the rate dip and the VF flap): the stream (100 pings/s, ~200
# packets/s on the taps) earns the VM the VF; `vspacectl vf deny` takes it away; with the stream over,
# `vspacectl vf grant` forces it back; `vf auto` lets the strategy take it away again (below min_pps).
CTL="$B/vspacectl -s $dir/vspaced.sock"
vfj() { $CTL status --json 2>/dev/null | jq -c ".vf.vms[0]$1"; }
cat >"$dir/vspace.conf" <<CONF
[host]
cores=0-1
nic=vswpv
nic_netns=$NS
mode=E
period_ms=100
halt_poll_accounting=off
control_socket=$dir/vspaced.sock
state_dir=$dir/state
metrics_listen=127.0.0.1:$mport
cgroup_parent=vsw-vfe2e$$
[vf]
standin=e1000e
vfs=1
strategy=activity
interval_s=1
min_pps=20
min_hold=3
vf_on_exit=unplug
[workload "vm"]
role=lc
slo_p95_us=1000
qemu_pidfile=$dir/qemu.pid
tap=vswpv
vf=on
vf_qmp=$dir/qmp.sock
vf_standby=net0
vf_mac=$MAC
vf_bus=rp1
vf_netdev=vfn0
vf_tap=vswvf
CONF
count=1400
stream 198.18.9.2 "$dir/ping.log" $count &
ping_pid=$!
sleep 1
before=$(nic_names)
t_plug=$(now)
"$B/vspaced" -c "$dir/vspace.conf" >"$dir/vspaced.log" 2>&1 &
vsd_pid=$!
for _ in $(seq 1500); do P=$(new_nic "$before"); [ -n "$P" ] && break; sleep 0.01; done
t_reg=$(wait_state 15 "${P:-none}" ":eth0$") &&
	ok "vspaced (activity, the stream above min_pps) plugs the e1000e: $P joins eth0 $(since "$t_plug" "$t_reg") s after start" ||
	nok "no VF plugged by vspaced: $(netline); vf: $(vfj '')"
t_up=$(wait_state 15 "${P:-none}" "^up:eth0$") &&
	ok "the primary's link is up $(since "$t_plug" "$t_up") s after vspaced started" ||
	{ nok "$P link not up: $(netline)"; t_up=$(now); }
v=$(vfj '')
check "vspacectl status: vm holds VF 0, by its rate or its minimum hold ($v)" \
	'[[ $v == *"\"holds\":true"* && $v == *"\"vf\":0"* && ($v == *"rank 1 of 1 by packet rate"* || $v == *"of the minimum 3 intervals"*) ]]'
sleep 0.8
c1=$(counters)
sleep 1
c2=$(counters)
pri=$(($(tx_of "$P" "$c2") - $(tx_of "$P" "$c1")))
sby=$(($(tx_of eth1 "$c2") - $(tx_of eth1 "$c1")))
check "the failover master sends through the e1000e: in 1 s $P sent $pri packets, the standby eth1 $sby" \
	'[ "$pri" -ge 50 ] && [ "$sby" -le 5 ]'
t_unplug=$(now)
out=$($CTL vf deny vm 2>&1)
check "vspacectl vf deny vm ($out)" '[[ $out == *"\"denied\":true"* ]]'
for _ in $(seq 1000); do [ -z "$(nic_state "$P")" ] && break; sleep 0.01; done
t_gone=$(now)
[ -z "$(nic_state "$P")" ] && ok "vspaced unplugs it: $P is gone from the guest $(since "$t_unplug" "$t_gone") s after the request" ||
	nok "$P still there: $(netline)"
sleep 0.8
c3=$(counters)
sleep 1
c4=$(counters)
sby=$(($(tx_of eth1 "$c4") - $(tx_of eth1 "$c3")))
check "back on the standby: in 1 s eth1 sent $sby packets" '[ "$sby" -ge 50 ]'
wait "$ping_pid"
ping_pid=
read -r lost_plug lost_unplug lost_other <<<"$(losses "$dir/ping.log" $count "$t_plug" "$t_up" "$t_unplug" "$t_gone" 2)"
sent=$(sent_of "$dir/ping.log")
check "the stream ran: ${sent:-0} of $count pings sent" '[ "${sent:-0}" -eq $count ]'
# Plug: net_failover accepts only the primary's frames once the primary is registered
# (drivers/net/net_failover.c, net_failover_handle_frame: RX_HANDLER_EXACT on the standby), and the
# learning bridge sends to the primary only after the guest's first frame from it, at its link-up (IPv6
# MLD/ND); a frame the standby still sends in the next seconds (IPv6 neighbour discovery) draws the MAC
# back until the next frame from the primary. The window: plug -> link-up + 2 s; the bound stated: the
# pings of plug -> link-up + 0.3 s.
plug_bound=$(awk -v a="$t_plug" -v b="$t_up" -v r=$RATE 'BEGIN { printf "%d", (b - a + 0.3) * r }')
check "plug: $lost_plug pings lost across the switch to the e1000e (bound: plug -> link-up + 0.3 s = $plug_bound)" \
	'[ "$lost_plug" -le "$plug_bound" ]'
# Unplug: the guest falls back to the standby when the primary goes; the bridge sends to the e1000e's
# port until QEMU's announce-self on the standby, right after DEVICE_DELETED, moves the MAC back to the PV
# tap: pings sent while the guest releases the device are lost. The bound stated: those of the
# request -> gone in the guest, plus 0.3 s.
unplug_bound=$(awk -v a="$t_unplug" -v b="$t_gone" -v r=$RATE 'BEGIN { printf "%d", (b - a + 0.3) * r }')
check "unplug: $lost_unplug pings lost across the switch back to the standby (bound: request -> gone + 0.3 s = $unplug_bound)" \
	'[ "$lost_unplug" -le "$unplug_bound" ]'
# Away from the switches the stream should lose nothing; a TCG guest on a loaded 2-core machine
# stalls now and then (its receive ring overflows): 0.5 s of the stream allowed.
check "$lost_other pings lost away from the switches (bound: 50, 0.5 s)" '[ "$lost_other" -le 50 ]'
v=$(vfj '')
echo "# failover (vspaced): start -> $P registered $(since "$t_plug" "$t_reg") s, -> link up $(since "$t_plug" "$t_up") s;" \
	"deny -> gone in the guest $(since "$t_unplug" "$t_gone") s; vspaced: device_add accepted in" \
	"$(jq .plug_ms <<<"$v") ms, device_del -> DEVICE_DELETED $(jq .unplug_ms <<<"$v") ms;" \
	"lost pings (100/s): plug $lost_plug, unplug $lost_unplug"
# no traffic now (below min_pps): a forced grant plugs anyway; back to the strategy, it goes
t0=$(now)
out=$($CTL vf grant vm 2>&1)
t_reg=$(wait_state 15 "${P:-none}" ":eth0$") &&
	ok "vspacectl vf grant vm: plugged although the VM is idle, $(since "$t0" "$t_reg") s after the request ($out)" ||
	nok "forced grant: $(netline); vf: $(vfj '')"
v=$(vfj '')
check "vspacectl status says why: forced ($v)" '[[ $v == *"forced by the operator"* ]]'
t0=$(now)
$CTL vf auto vm >/dev/null 2>&1
for _ in $(seq 1000); do [ -z "$(nic_state "$P")" ] && break; sleep 0.01; done
[ -z "$(nic_state "$P")" ] && ok "vspacectl vf auto vm: below min_pps the strategy takes it out ($(since "$t0") s)" ||
	nok "not unplugged after vf auto: $(netline); vf: $(vfj '')"
for _ in $(seq 50); do v=$(vfj ''); [[ $v == *"\"op\":null"* ]] && break; sleep 0.1; done
check "status: 2 plugs, 2 unplugs, no failure, the reason given ($v)" \
	'[[ $v == *"\"plugs\":2"* && $v == *"\"unplugs\":2"* && $v == *"\"failures\":0"* && $v == *"below min_pps"* ]]'
check "metrics: vspace_vf_operations_total counts them" \
	'curl -s "http://127.0.0.1:$mport/metrics" | grep -q "vspace_vf_operations_total{workload=\"vm\",op=\"plug\",result=\"ok\"} 2"'
# vf_on_exit=unplug: a VF held at exit is taken out; force one, then stop vspaced
$CTL vf grant vm >/dev/null 2>&1
wait_state 15 "${P:-none}" ":eth0$" >/dev/null
stop_vspaced
for _ in $(seq 1000); do [ -z "$(nic_state "$P")" ] && break; sleep 0.01; done
check "SIGTERM with vf_on_exit=unplug: the VF is unplugged, vspaced exits $vsd_rc" \
	'[ -z "$(nic_state "$P")" ] && [ "$vsd_rc" = 0 ] && grep -q "VF 0 unplugged" "$dir/vspaced.log"'
check "the grants' record is empty after the exit" \
	'[ "$(jq -c .grants "$dir/state/vf-grants.json")" = "[]" ]'
if [ "$failed" -gt 0 ]; then
	echo "# vspaced log (last 25 lines):"
	tail -25 "$dir/vspaced.log" | sed 's/^/#   /'
	echo "# agent errors: $(tail -3 "$dir/agent-err.log" 2>/dev/null)"
	echo "# counters: c1 [$c1] c2 [$c2] c3 [$c3] c4 [$c4]" | tr '\n' ' '; echo
fi

# ---- 2. no failover standby: vspace-agent bonds eth2 with an e1000e carrying its MAC ---------------
bond() { $A -t 10000 stats | jq -c '.vf_bond // {}'; }
stream 198.18.10.2 "$dir/ping2.log" $count &
ping_pid=$!
sleep 1
before=$(nic_names)
t_plug=$(now)
out=$("$B/vspace" vf plug --qmp "$dir/qmp.sock" --id vf1 --nic e1000e --netdev vfn1 --mac $MAC2 --bus rp3 2>&1)
check "vspace vf plug: an e1000e with eth2's MAC, no failover pair ($out)" '[[ $out == *"vf1 plugged"* ]]'
for _ in $(seq 1500); do V=$(new_nic "$before"); [ -n "$V" ] && break; sleep 0.01; done
t_bond=$(wait_state 15 "${V:-none}" ":vsbond0$") &&
	ok "the agent enslaves the new NIC ($V) to vsbond0 $(since "$t_plug" "$t_bond") s after device_add" ||
	nok "no bond: $(netline); agent: $(bond)"
check "eth2 is the bond's other slave" '[ "$(nic_state eth2)" = "up:vsbond0" ]'
t_up=$(wait_state 15 "${V:-none}" "^up:vsbond0$") &&
	ok "$V's link is up $(since "$t_plug" "$t_up") s after device_add" || { nok "$V not up"; t_up=$(now); }
for _ in $(seq 50); do [[ $(bond) == *"\"active\":\"$V\""* ]] && break; sleep 0.1; done
b=$(bond)
check "the agent reports the bond: vf $V active ($b)" \
	'[[ $b == *"\"built\":true"* && $b == *"\"vf\":\"$V\""* && $b == *"\"active\":\"$V\""* ]]'
sleep 0.5
c1=$(counters)
sleep 1
c2=$(counters)
pri=$(($(tx_of "$V" "$c2") - $(tx_of "$V" "$c1")))
sby=$(($(tx_of eth2 "$c2") - $(tx_of eth2 "$c1")))
check "the bond sends through the e1000e: in 1 s $V sent $pri packets, eth2 $sby" '[ "$pri" -ge 50 ] && [ "$sby" -le 5 ]'
t_unplug=$(now)
out=$("$B/vspace" vf unplug --qmp "$dir/qmp.sock" --id vf1 --announce net1 --timeout-ms 10000 2>&1)
check "vspace vf unplug: the second e1000e is gone ($out)" '[[ $out == *"vf1 gone after"* ]]'
t_rel=$(wait_state 10 eth2 "^up:$") &&
	ok "the agent releases the bond: eth2 stands alone again $(since "$t_unplug" "$t_rel") s after device_del" ||
	{ nok "eth2: $(nic_state eth2); $(netline)"; t_rel=$(now); }
sleep 0.8
b=$(bond)
check "the agent reports it released ($b)" '[[ $b == *"\"built\":false"* && $b == *"\"releases\":1"* ]]'
c3=$(counters)
sleep 1
c4=$(counters)
sby=$(($(tx_of eth2 "$c4") - $(tx_of eth2 "$c3")))
check "eth2 carries the stream again: in 1 s it sent $sby packets" '[ "$sby" -ge 50 ]'
wait "$ping_pid"
ping_pid=
read -r lost_plug2 lost_unplug2 lost_other2 <<<"$(losses "$dir/ping2.log" $count "$t_plug" "$t_up" "$t_unplug" "$t_rel" 2)"
sent=$(sent_of "$dir/ping2.log")
check "the second stream ran: ${sent:-0} of $count pings sent" '[ "${sent:-0}" -eq $count ]'
# The bond's switches: eth2 goes down and into the bond and its address moves, then the bond makes the
# e1000e active once its link monitor sees the link up (miimon 100 ms; on a loaded TCG guest later) and
# announces it (arp_notify): the window is device_add -> link-up + 2 s, the bound the pings of device_add
# -> bond built, plus 1 s. Unplug: the bond fails over to eth2 and the agent gives eth2 its address back
# (the pings of device_del -> bond released, plus 0.5 s).
plug_bound=$(awk -v a="$t_plug" -v b="$t_bond" -v r=$RATE 'BEGIN { printf "%d", (b - a + 1.0) * r }')
check "bond plug: $lost_plug2 pings lost (bound: device_add -> bond built + 1 s = $plug_bound)" \
	'[ "$lost_plug2" -le "$plug_bound" ]'
unplug_bound=$(awk -v a="$t_unplug" -v b="$t_rel" -v r=$RATE 'BEGIN { printf "%d", (b - a + 0.5) * r }')
check "bond unplug: $lost_unplug2 pings lost (bound: device_del -> bond released + 0.5 s = $unplug_bound)" \
	'[ "$lost_unplug2" -le "$unplug_bound" ]'
check "$lost_other2 pings lost away from the bond's switches (bound: 50, 0.5 s)" '[ "$lost_other2" -le 50 ]'
echo "# bond: device_add -> $V in vsbond0 $(since "$t_plug" "$t_bond") s, -> link up $(since "$t_plug" "$t_up") s;" \
	"device_del -> bond released $(since "$t_unplug" "$t_rel") s; lost pings (100/s): plug $lost_plug2, unplug $lost_unplug2"

check "QEMU is still running (no guest crash)" 'kill -0 $qemu_pid'
if [ "$failed" -gt 0 ]; then
	echo "# guest NIC lines:"
	tr -d '\r' <"$dir/net.log" | sed 's/^/#   /' | tail -14
	for f in ping ping2; do
		echo "# $f lost (seq time): $(head -c 300 "$dir/$f.log.lost" 2>/dev/null | tr '\n' ' ')"
		sed "s/^/# $f lost away from the switches: /" "$dir/$f.log.other" 2>/dev/null | head -5
		tail -3 "$dir/$f.log" | sed 's/^/#   /'
	done
	echo "# guest console (last 15 lines):"
	tail -15 "$dir/console.log" | sed 's/^/#   /'
fi
echo "1..$n"
[ "$failed" -eq 0 ]
