#!/usr/bin/env bash
# test_irqrate.sh - end to end on a real driver: the e2e guest (scripts/guest/build) with QEMU's emulated
# e1000e (82574) as its NIC on a tap in a test netns. A steady UDP stream (`vspace irq send`) runs into
# the guest while the host sets the NIC's interrupt rate through vspace-agent (set_coalesce: Linux's
# e1000e maps rx-usecs onto the 82574's ITR); the guest's interrupt count for the NIC's receive vector
# (its /proc/interrupts, read by the agent's stats) over ~2.5 s gives the rate, which must follow the
# setting; `restore` must put back ethtool -c (ETHTOOL_GCOALESCE, through the agent). Then vspaced
# manages the VM (qemu_pidfile=, agent=) with irq_policy=fir at irq_fir_rate=2000: it measures the
# guest NIC from the agent's stats and sets rx-usecs 500 through the agent (the rates are then read
# from the agent's stats as vspaced shows them: the guest's serial port takes one client); `vspacectl set irq_policy
# cgr` moves the sparse stream to 100,000 int/s (rx-usecs 10: unthrottled); its exit puts the
# driver's setting back, and the rate follows. Then `vspace irq calibrate` measures C_pkt and C_int
# inside the guest.
#
# QEMU 7.2's e1000e starts a throttle interval only for an interrupt sent outside one: the interrupt
# held back to the end of an interval opens none, so the next packet raises one at once. A steady
# stream of P packets/s at interval T = 1/R gets up to 2 interrupts per interval: more than R, at most
# min(2R, P). Fewer come when the guest is slow to unmask the vector after its NAPI poll: a TCG guest on
# a busy host is (measured here: at 4,000/s set, 4,768/s on a quiet host and 2,360/s with the host's two
# cores loaded by other tests). So the test accepts [0.4 R, 1.1 min(2R, P)] for R = 500 and 2,000,
# asks that 4 times the rate gives at least 1.25 times the interrupts, and that no moderation and the
# restored setting are not throttled to 500/s. QEMU also enforces the 82574's floor of 500 x 256 ns
# between interrupts (at most 7,812/s): the rates tested stay below it.
#
# Needs root, qemu-system-x86_64 and the kernel package (apt-get download); TCG (KVM when it works,
# VS_GUEST_ACCEL). Cleans up (QEMU and the sender by pid, netns, temp dir) on any exit.
set -u
B=${VS_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
skip_all() { echo "ok 1 - e2e interrupt rate # SKIP $1"; echo "1..1"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root (netns, tap)"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
[ -x "$B/vspace-agent" ] && [ -x "$B/vspace" ] && [ -x "$B/vspaced" ] || skip_all "build $B/vspace, vspaced and vspace-agent first"
command -v jq >/dev/null || skip_all "needs jq"
. "$root/tests/e2e/guest.sh"
guest_build guest-build-irq.log
t_start=$(date +%s.%N)

NS=vsi-g$$
TAP=vsi-t$$
GUEST=198.18.6.2
PPS=${VS_IRQ_PPS:-2000}   # packets/s of the stream: light enough for a TCG guest on a loaded host
                          # (at 3,000/s and load 10 one kept polling: no interrupts to count)
BYTES=${VS_IRQ_BYTES:-64} # UDP payload
dir=$(mktemp -d /tmp/vsi-irq-XXXXXX)
qemu_pid= send_pid= vsd_pid=
cleanup() {
	guest_stop "$send_pid"
	guest_stop "$vsd_pid"
	guest_stop "$qemu_pid"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS" || { nok "ip netns add $NS"; echo "1..$n"; exit 1; }
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev "$TAP" mode tap
ip -n "$NS" addr add 198.18.6.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up

boot() { # accel
	rm -f "$dir/console.log" "$dir/agent.sock"
	ip netns exec "$NS" qemu-system-x86_64 -name vsi-guest,debug-threads=on -accel "$1" \
		-m 512 -smp 2 -nodefaults -no-user-config -display none -no-reboot \
		-kernel "$B/guest/vmlinuz" -initrd "$B/guest/initramfs.gz" \
		-append "console=ttyS0 panic=-1 vsa.ip=$GUEST/24" \
		-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off" \
		-device e1000e,netdev=n0,mac=52:54:00:56:00:06 \
		-device virtio-serial-pci,id=vser0 \
		-chardev "socket,id=agent,path=$dir/agent.sock,server=on,wait=off" \
		-device virtserialport,bus=vser0.0,chardev=agent,name=vspace.agent \
		-pidfile "$dir/qemu.pid" -serial "file:$dir/console.log" >"$dir/qemu.log" 2>&1 &
	qemu_pid=$!
}
guest_accel
boot "$accel"

A="$B/vspace agent -c serial:$dir/agent.sock"
j() { tr -d ' \n'; }
hello=$($A -t 120000 hello | j)
check "the guest's agent answers ($accel, $(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)" \
	'[[ $hello == *"\"name\":\"eth0\""* ]]'
grep -q "e1000e" "$dir/console.log" && ok "eth0 is the guest's e1000e (driver log on the console)" ||
	nok "e1000e driver in the guest"

num() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p"; }
orig=$($A -t 10000 get_coalesce eth0 | j)
orig_usecs=$(num rx_usecs <<<"$orig")
check "get_coalesce eth0: the driver's rx-usecs ($orig_usecs; 3 = e1000e's dynamic conservative mode)" \
	'[ -n "$orig_usecs" ]'

# The guest's interrupts of eth0's receive vector per second while the stream runs: stats (the
# agent's reading of the guest's /proc/interrupts) 0.3 s into a 2.6 s stream and 2 s later.
measure() {
	ip netns exec "$NS" "$B/vspace" irq send --to "$GUEST:9" --pps "$PPS" --bytes "$BYTES" \
		--seconds 2.6 >"$dir/send.out" 2>&1 &
	send_pid=$!
	sleep 0.3
	local s1 s2
	s1=$($A -t 10000 stats eth0 | j)
	sleep 2
	s2=$($A -t 10000 stats eth0 | j)
	wait "$send_pid"
	send_pid=
	local i1 i2 t1 t2 p1 p2
	i1=$(sed -n 's/.*"rx_irqs":\[\([0-9]*\)\].*/\1/p' <<<"$s1") i2=$(sed -n 's/.*"rx_irqs":\[\([0-9]*\)\].*/\1/p' <<<"$s2")
	t1=$(num t_ms <<<"$s1") t2=$(num t_ms <<<"$s2")
	p1=$(num rx_total_packets <<<"$s1") p2=$(num rx_total_packets <<<"$s2")
	if [ -z "$i1" ] || [ -z "$i2" ] || [ -z "$t1" ] || [ "$t2" = "$t1" ]; then
		echo "0 0"
		return
	fi
	awk -v i="$((i2 - i1))" -v p="$((p2 - p1))" -v t="$((t2 - t1))" \
		'BEGIN { printf "%.0f %.0f\n", i * 1000 / t, p * 1000 / t }'
}
set_usecs() { # rx-usecs
	$A -t 10000 set_coalesce eth0 "$1" >"$dir/set.out" 2>&1
}
# A window says nothing about the interrupt rate when the guest did not keep up: it took in less
# than 60 % of the stream (its vCPUs did not run: a TCG guest on a host loaded by other work stalls
# for seconds; seen once: 443 of 3,000 packets/s in a 7.6 s window), or it took the packets with
# fewer than one interrupt in 20 (NAPI kept polling, the vector masked: a saturated receiver, as
# the simulator shows; seen at load 10: 134 interrupts for 2,092 packets/s, where every setting
# tested gives at least one in 10). Such a window is measured again, up to twice.
steady() { # measure | measure_vsd
	local r p
	for try in 1 2 3; do
		read -r r p <<<"$("$1")"
		if [ "${p:-0}" -lt $((PPS * 6 / 10)) ]; then
			echo "# the guest took in $p of $PPS packets/s (starved): measured again" >&2
		elif [ "$((${r:-0} * 20))" -lt "${p:-0}" ]; then
			echo "# $r interrupts for $p packets/s: the guest kept polling (saturated): measured again" >&2
		else
			break
		fi
	done
	echo "$r $p"
}
in_band() { # measured rate, R: within [0.4 R, 1.1 min(2R, P)]
	awk -v m="$1" -v r="$2" -v p="$PPS" 'BEGIN { u = 2 * r < p ? 2 * r : p; exit !(m >= 0.4 * r && m <= 1.1 * u) }'
}
band() { awk -v r="$1" -v p="$PPS" 'BEGIN { u = 2 * r < p ? 2 * r : p; printf "[%.0f, %.0f]", 0.4 * r, 1.1 * u }'; }
times() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { exit !(a > f * b) }'; } # a > f x b

# ARP and the guest's first packets before anything is measured
ip netns exec "$NS" "$B/vspace" irq send --to "$GUEST:9" --pps "$PPS" --bytes "$BYTES" --seconds 0.5 >/dev/null 2>&1
read -r r_base p_base <<<"$(steady measure)"
# (a TCG guest just booted on a loaded host takes in less at first: 1,945 of 3,000/s seen once at load 10)
check "the stream reaches the guest: $p_base of $PPS packets/s; rx-usecs $orig_usecs gives $r_base int/s" \
	'[ "$p_base" -ge $((PPS * 6 / 10)) ]'
set_usecs 2000
read -r r500 p500 <<<"$(steady measure)"
c=$($A -t 10000 get_coalesce eth0 | j)
check "set_coalesce 2000 (500 int/s): ethtool -c shows rx-usecs 2000, adaptive-rx off" \
	'[ "$(num rx_usecs <<<"$c")" = 2000 ] && [[ $c == *"\"adaptive_rx\":false"* ]]'
check "rx-usecs 2000 (500 int/s): $r500 int/s, in $(band 500)" 'in_band "$r500" 500'
r=$($A -t 10000 restore | j)
c=$($A -t 10000 get_coalesce eth0 | j)
check "agent restore: ethtool -c back to rx-usecs $orig_usecs, adaptive-rx as it was" \
	'[[ $r == *"\"coalesce\":1"* ]] && [ "$(num rx_usecs <<<"$c")" = "$orig_usecs" ] &&
	 [ "$(sed -n "s/.*\"adaptive_rx\":\([a-z]*\).*/\1/p" <<<"$c")" = "$(sed -n "s/.*\"adaptive_rx\":\([a-z]*\).*/\1/p" <<<"$orig")" ]'

# vspaced drives the guest NIC's rate: FIR at 2,000/s, then CGR, then its exit restores (static-ts:
# the VM keeps both vCPUs and both host cores, as before: the rates depend on the interrupt setting only)
cat >"$dir/vspace.conf" <<CONF
[host]
cores=0-1
policy=static-ts:2:1
period_ms=100
placement=affinity
control_socket=$dir/vspaced.sock
state_dir=$dir/state
metrics_listen=off
irq_policy=fir
irq_fir_rate=2000
[workload "vm"]
role=lc
slo_p95_us=1000
qemu_pidfile=$dir/qemu.pid
agent=serial:$dir/agent.sock
guest_nic=eth0
CONF
CTL="$B/vspacectl -s $dir/vspaced.sock"
# QEMU's socket chardev serves one client: while vspaced holds the agent, its status shows what the
# agent's stats said last (once a second), the guest's ethtool -c (rx_usecs) among them
vsd_stats() { $CTL status --json 2>/dev/null | jq -c '.workloads[] | select(.name == "vm") | .agent_link.stats // empty'; }
vsd_usecs() { vsd_stats | jq -r '.nics[] | select(.name == "eth0") | .rx_usecs // empty'; }
fresh_stats() { # guest time (ms) not before: the first stats taken then or later (8 s at most)
	local st
	for _ in $(seq 80); do
		st=$(vsd_stats)
		[ -n "$st" ] && [ "$(jq .t_ms <<<"$st")" -ge "$1" ] && { echo "$st"; return; }
		sleep 0.1
	done
}
measure_vsd() { # as measure(), from vspaced's stats: ~2 s of the guest's clock (stream stopped after)
	ip netns exec "$NS" "$B/vspace" irq send --to "$GUEST:9" --pps "$PPS" --bytes "$BYTES" \
		--seconds 20 >/dev/null 2>&1 &
	send_pid=$!
	sleep 0.3
	local s1 s2 t1
	t1=$(vsd_stats | jq .t_ms)
	s1=$(fresh_stats $((${t1:-0} + 1)))
	s2=$(fresh_stats $(($(jq .t_ms <<<"$s1") + 1900)))
	# vspaced's own reading of the queue, from the stats before s2 and s2
	$CTL status --json 2>/dev/null | jq -c '.irq.queues[] | select(.queue == "guest vm eth0")' >"$dir/gq.json"
	guest_stop "$send_pid"
	send_pid=
	echo "# vspaced's stats: guest t_ms $(jq .t_ms <<<"$s1") -> $(jq .t_ms <<<"$s2")" >&2
	jq -rn --argjson a "$s1" --argjson b "$s2" '($b.t_ms - $a.t_ms) as $t |
		[($b.nics[0].rx_irqs | add) - ($a.nics[0].rx_irqs | add), $b.nics[0].rx_total_packets - $a.nics[0].rx_total_packets] |
		map(. * 1000 / $t | round | tostring) | join(" ")' 2>/dev/null || echo "0 0"
}
wait_usecs() { # rx-usecs, seconds: until the guest shows it (a stream keeps its counters moving)
	ip netns exec "$NS" "$B/vspace" irq send --to "$GUEST:9" --pps "$PPS" --bytes "$BYTES" \
		--seconds "$2" >/dev/null 2>&1 &
	send_pid=$!
	local k
	for ((k = 0; k < $2 * 3; k++)); do
		[ "$(vsd_usecs)" = "$1" ] && break
		sleep 0.3
	done
	guest_stop "$send_pid"
	send_pid=
	[ "$(vsd_usecs)" = "$1" ]
}
t0=$(date +%s.%N)
"$B/vspaced" -c "$dir/vspace.conf" >"$dir/vspaced.log" 2>&1 &
vsd_pid=$!
if wait_usecs 500 20; then
	ok "vspaced, irq_policy=fir, irq_fir_rate=2000: the guest's e1000e at rx-usecs 500 (its ethtool -c, through the agent) after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
else
	nok "vspaced fir: the guest's rx-usecs $(vsd_usecs)"
	tail -5 "$dir/vspaced.log" | sed 's/^/# /'
fi
read -r r2k p2k <<<"$(steady measure_vsd)"
check "rx-usecs 500 (2,000 int/s, set by vspaced): $r2k int/s, in $(band 2000)" 'in_band "$r2k" 2000'
# (2.7-3.9 times on a lightly loaded host; 1.50 seen at load 12, where the starved TCG guest
# unmasks its vector late and caps the rate from its side)
check "4 times the rate, at least 1.25 times the interrupts ($r2k > 1.25 x $r500)" 'times "$r2k" "$r500" 1.25'
gq=$(cat "$dir/gq.json")
vsd_ips=$(jq -r '.measured.interrupts_per_s // 0 | floor' <<<"$gq" 2>/dev/null)
vsd_pps=$(jq -r '.measured.packets_per_s // 0 | floor' <<<"$gq" 2>/dev/null)
# one stats interval (~1 s) of a TCG guest: its rate wanders more than over 2 s: [0.25 R, 1.1 min(2R, P)]
check "vspaced's own reading of the guest queue (one stats interval): $vsd_pps pkt/s, $vsd_ips int/s; fir, rx-usecs 500" \
	'[ "$(jq -r "[.policy, .rx_usecs] | map(tostring) | join(\" \")" <<<"$gq")" = "fir 500" ] &&
	 [ "${vsd_pps:-0}" -ge $((PPS * 8 / 10)) ] && [ "${vsd_ips:-0}" -ge 500 ] &&
	 [ "${vsd_ips:-0}" -le $(((PPS < 4000 ? PPS : 4000) * 11 / 10)) ]'

$CTL set irq_policy cgr >/dev/null
if wait_usecs 10 10; then
	ok "vspacectl set irq_policy cgr: a sparse stream is latency-critical, 100,000 int/s (rx-usecs 10)"
else
	nok "cgr: the guest's rx-usecs $(vsd_usecs); $($CTL explain | grep -A2 'interrupt rate')"
fi
read -r roff poff <<<"$(steady measure_vsd)"
check "rx-usecs 10 (no longer throttled): $roff int/s (> 1.5 x $r500)" 'times "$roff" "$r500" 1.5'
guest_stop "$vsd_pid"
vsd_pid=
c=$($A -t 10000 get_coalesce eth0 | j)
check "vspaced's exit: ethtool -c back to rx-usecs $orig_usecs, adaptive-rx as it was" \
	'[ "$(num rx_usecs <<<"$c")" = "$orig_usecs" ] &&
	 [ "$(sed -n "s/.*\"adaptive_rx\":\([a-z]*\).*/\1/p" <<<"$c")" = "$(sed -n "s/.*\"adaptive_rx\":\([a-z]*\).*/\1/p" <<<"$orig")" ]'
echo "# e1000e under $accel, $PPS pkt/s of $BYTES B: rx-usecs $orig_usecs (the driver's) $r_base int/s," \
	"2000 $r500, 500 $r2k (vspaced fir), 10 $roff (vspaced cgr) (packets/s received: $p_base $p500 $p2k $poff)"
read -r r_back p_back <<<"$(steady measure)"
check "restored: the rate is the driver's again ($r_back int/s: no longer held to 500/s, within 2x of $r_base)" \
	'times "$r_back" "$r500" 1.5 && times "$r_back" "$r_base" 0.5 && times "$r_base" "$r_back" 0.5'

# C_pkt and C_int of the guest's receive path (figures; the run must end with the NIC put back)
"$B/vspace" irq calibrate --agent "serial:$dir/agent.sock" --ifname eth0 --to "$GUEST:9" --netns "$NS" \
	--pps "$PPS" --bytes "$BYTES" --rates 500,1000,0 --seconds 1.5 --out "$dir/cal.json" >"$dir/cal.out" 2>&1
rc=$?
sed 's/^/# calibrate: /' "$dir/cal.out"
c=$($A -t 10000 get_coalesce eth0 | j)
if [ $rc -eq 0 ]; then
	check "calibrate: a fit with C_pkt, C_int > 0 written, and rx-usecs put back ($orig_usecs)" \
		'grep -q "\"c_pkt_ns\"" "$dir/cal.json" && [ "$(num rx_usecs <<<"$c")" = "$orig_usecs" ]'
else
	check "calibrate: refused to write a noisy fit (exit 1, says why), rx-usecs put back ($orig_usecs)" \
		'[ $rc -eq 1 ] && grep -q "nothing written\|cannot tell" "$dir/cal.out" && [ ! -e "$dir/cal.json" ] &&
		 [ "$(num rx_usecs <<<"$c")" = "$orig_usecs" ]'
fi

# the cost of one coalescing write in the guest (figures for docs/BENCHMARKS.md)
# (every write the agent made: asked by `vspace agent`, by vspaced, by calibrate, and its restores;
# the agent logs each on the console with its time)
tr -d '\r' <"$dir/console.log" | sed -n 's/.*: rx-usecs [0-9]* -> [0-9]*, adaptive-rx [a-z]* (\([0-9]*\) us)$/\1/p' | sort -n >"$dir/w"
k=$(wc -l <"$dir/w")
[ "$k" -gt 0 ] && echo "# $accel guest, ETHTOOL_SCOALESCE on the e1000e (read-modify-write), $k writes:" \
	"min $(sed -n 1p "$dir/w") us, median $(sed -n "$(((k + 1) / 2))p" "$dir/w") us, max $(tail -1 "$dir/w") us"
check "QEMU is still running (no guest crash)" 'kill -0 $qemu_pid'
echo "# wall time $(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
if [ "$failed" -gt 0 ]; then
	echo "# guest console (last 20 lines):"
	tail -20 "$dir/console.log" | sed 's/^/#   /'
fi
echo "1..$n"
[ "$failed" -eq 0 ]
