#!/usr/bin/env bash
# test_libvirt_live.sh - vspaced and a real libvirtd: Debian's libvirtd started by the test in a
# private sandbox (tests/libvirt/sandbox.sh: its own network and mount namespace, private config
# and runtime directories), a domain booting the e2e guest (scripts/guest/build) - type='kvm' where
# KVM works, else type='qemu' (TCG; tests/e2e/guest.sh's guest_accel, VS_GUEST_ACCEL) -
# with the agent on a virtio-serial channel and a 2-queue tap NIC in the test's namespace.
#
# vspaced manages it as libvirt=DOMAIN with the sandbox's URI (libvirt placement: vCPU, emulator
# and IOThread pins through libvirt; the guest agent on the channel), and a libvirt= pattern makes
# every other test domain a best-effort workload. Checked with virsh and /proc/PID/task/*/status:
# the pins follow the plan and a policy change, the guest follows; libvirtd restarted under
# vspaced is survived (reconnect, events again); a domain started later is placed within one
# period, one stopped is forgotten at once; SIGTERM, and kill -9 + restart, put libvirt's pins
# back exactly (virsh output before == after).
#
# Needs root, libvirtd (libvirt-daemon, libvirt-daemon-driver-qemu), virsh (libvirt-clients),
# qemu-system-x86_64, jq and the cgroup v1 cpuset hierarchy; skips otherwise. Removes all it made.
set -u
B=${VS_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
skip_all() { echo "ok 1 - libvirt live # SKIP $1"; echo "1..1"; exit 0; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
wait_until() { # seconds, condition (evaluated until it holds or the time is up)
	local end=$((SECONDS + $1))
	while :; do
		eval "$2" && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}
T0=$(date +%s.%N)

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
for c in libvirtd virsh qemu-system-x86_64 nsenter unshare jq; do
	command -v "$c" >/dev/null || skip_all "$c not installed (scripts/packages.txt)"
done
[ -d /sys/fs/cgroup/cpuset ] || skip_all "needs the cgroup v1 cpuset hierarchy"
[ "$(nproc --all)" -ge 2 ] || skip_all "needs 2 cpus"
[ -x "$B/vspace-agent" ] && [ -x "$B/vspace" ] && [ -x "$B/vspaced" ] && [ -x "$B/vspacectl" ] ||
	skip_all "build $B/vspace, vspace-agent, vspaced and vspacectl first"
. "$root/tests/e2e/guest.sh"
guest_build guest-build-lv.log
guest_accel
LVS_DOMAIN_TYPE=qemu
[ "$accel" = kvm ] && LVS_DOMAIN_TYPE=kvm
. "$root/tests/libvirt/sandbox.sh"

NS=vsw-lv$$
TAP=vsw-lvtap0
DOM=vsw-lv$$-a    # the LC VM
DOMB=vsw-lv$$-be1 # started later: a best-effort VM through the pattern
PERIOD_MS=200
dir=$(mktemp -d /tmp/vsw-lv-XXXXXX)
B=$(cd "$B" && pwd)
etc_sum=$(find /etc/libvirt -type f -exec md5sum {} + 2>/dev/null | sort | md5sum)
run_existed=$([ -e /run/libvirt ] && echo y)
vsd_pid= vsd_rc=
stop_vspaced() { # [signal]
	[ -n "$vsd_pid" ] || return 0
	kill -"${1:-TERM}" "$vsd_pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$vsd_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$vsd_pid" 2>/dev/null
	wait "$vsd_pid" 2>/dev/null
	vsd_rc=$?
	vsd_pid=
}
cleanup() {
	stop_vspaced
	lvs_teardown
	ip netns del "$NS" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
finish() {
	echo "# run time $(since "$T0") s"
	if [ "$failed" -gt 0 ] && [ -f "$dir/vspaced.log" ]; then
		echo "# vspaced log (last 25 lines):"
		tail -25 "$dir/vspaced.log" | sed 's/^/#   /'
	fi
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit
}

ip netns add "$NS" || { nok "ip netns add $NS"; finish; }
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev "$TAP" mode tap multi_queue
ip -n "$NS" addr add 198.18.7.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up

# ---- the sandbox and the guest ----------------------------------------------------------------
lvs_init "$dir/lv" "$NS" "$B/libvirt-caps"
t=$(date +%s.%N)
if ! lvs_start; then
	nok "libvirtd starts in the sandbox: $(tail -5 "$dir/lv/libvirtd.log" | tr '\n' ' ')"
	finish
fi
ok "libvirtd (pid $LVS_PID) answers on $LVS_URI after $(since "$t") s"
V() { lvs_virsh "$@"; }

mkdir -p "$dir/a" "$dir/b"
lvs_guest_xml "$DOM" "$B" "$dir/a" "$TAP" 52:54:00:56:07:02 198.18.7.2/24 2 2 >"$dir/a.xml"
lvs_guest_xml "$DOMB" "$B" "$dir/b" - 52:54:00:56:07:03 198.18.7.3/24 1 1 >"$dir/b.xml"
t=$(date +%s.%N)
check "domain $DOM defined and started (type qemu, 2 vCPUs, 1 IOThread, 2-queue tap)" \
	'V define "$dir/a.xml" >/dev/null && V start "$DOM" >/dev/null && V define "$dir/b.xml" >/dev/null'
gstate() { tr -d '\r' <"$dir/a/state.log" 2>/dev/null | grep '^state seq=' | tail -1; }
gfield() { gstate | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
guest_has() { # queues cpus: eth0's rx/tx queues, the application's cpus
	[ "$(gfield rxq)" = "$1" ] && [ "$(gfield txq)" = "$1" ] && [ "$(gfield app)" = "$2" ]
}
if wait_until 60 '[ -n "$(gstate)" ]'; then
	ok "the guest boots: \"$(gstate)\" after $(since "$t") s"
else
	nok "the guest boots (console: $(tail -2 "$dir/a/console.log" 2>/dev/null | tr '\n' ' '))"
	finish
fi
A="$B/vspace agent -c serial:$dir/a/agent.sock"
check "the agent answers hello over the virtio-serial channel: 2 vCPUs, eth0 with 2 queues" \
	'$A -t 30000 hello | jq -e ".vcpus == 2 and .nics[0].queues == 2" >/dev/null'

qpid=$(lvs_qemu_pid "$DOM")
cg() { awk -F: '$2 == "cpuset" { print $3 }' "/proc/$qpid/task/$1/cgroup" 2>/dev/null; }
tids_named() { grep -l "$1" /proc/"$qpid"/task/*/comm 2>/dev/null | cut -d/ -f5; }
allowed() { awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$qpid/task/$1/status" 2>/dev/null; }
threads_state() { for t in /proc/"$qpid"/task/*; do t=${t##*/}; echo "$t $(cat "/proc/$qpid/task/$t/comm") $(cg "$t") $(allowed "$t")"; done; }
check "libvirt placed the vCPU threads in /machine/qemu-N-$DOM.libvirt-qemu/vcpuK" \
	'for t in $(tids_named "^CPU [0-9]*/"); do [[ $(cg $t) =~ ^/machine/qemu-[0-9]+-$DOM.libvirt-qemu/vcpu[01]$ ]] || exit 1; done'

pins() { V vcpupin "$DOM"; V emulatorpin "$DOM"; V iothreadinfo "$DOM"; }
pins_line() { pins | tr -s ' \n' ' '; }
orig_pins=$(pins)
orig_threads=$(threads_state)
echo "# libvirt's pins before vspaced: $(pins_line)"

# ---- vspaced manages the domain through libvirt ---------------------------------------------
mport=$("$root/tests/free-port") || mport=19494
cat >"$dir/vspace.conf" <<CONF
[host]
cores=0-1
mode=E
period_ms=$PERIOD_MS
control_socket=$dir/vspaced.sock
state_dir=$dir/state
lock_file=$dir/vspaced.lock
metrics_listen=127.0.0.1:$mport
cgroup_parent=vsw-lv$$
libvirt_uri=$LVS_URI
[workload "web"]
role=lc
slo_p95_us=1000
libvirt=$DOM
agent=serial:$dir/a/agent.sock
[workload "batch"]
role=be
libvirt=vsw-lv$$-be*
CONF
CTL="$B/vspacectl -s $dir/vspaced.sock"
st() { $CTL status --json 2>/dev/null; }
wl() { st | jq -c "[.workloads[] | select(.name == \"$1\")][0]$2"; }
start_vspaced() {
	"$B/vspaced" -c "$dir/vspace.conf" >>"$dir/vspaced.log" 2>&1 &
	vsd_pid=$!
}
vcpu_pin_is() { # cpus: every vCPU's libvirt pin and every vCPU thread's affinity
	local v t
	for v in 0 1; do [ "$(V vcpupin "$DOM" "$v" | awk '{ print $2 }')" = "$1" ] || return 1; done
	for t in $(tids_named "^CPU [0-9]*/"); do [ "$(allowed "$t")" = "$1" ] || return 1; done
}
nq_pin_is() { # cpus: the emulator and IOThread pins, QEMU's main thread and its IOThread
	[ "$(V emulatorpin "$DOM" | awk 'NF { print $NF }')" = "$1" ] &&
		[ "$(V iothreadinfo "$DOM" | awk '$1 == 1 { print $2 }')" = "$1" ] &&
		[ "$(allowed "$qpid")" = "$1" ] && [ "$(allowed "$(tids_named "^IO iothread1")")" = "$1" ]
}
plan_in_force() { # mode: virsh and /proc show the plan vspaced reports
	local vc nq
	vc=$(wl web .vcpu_cores | tr -d '"') nq=$(wl web .nq_cores | tr -d '"')
	[ -n "$vc" ] && [ "$vc" != null ] && vcpu_pin_is "$vc" && nq_pin_is "$nq"
}

t=$(date +%s.%N)
start_vspaced
if wait_until 30 'plan_in_force && guest_has 1 0'; then
	ok "vspaced (E, 2 cores) pins through libvirt: vCPUs on [$(wl web .vcpu_cores | tr -d '"')], emulator and IOThread on [$(wl web .nq_cores | tr -d '"')]; the guest follows to 1 queue, vCPU 0 ($(since "$t") s)"
else
	nok "vspaced start: plan $(wl web '| [.vcpu_cores, .nq_cores]'), pins $(pins_line), guest $(gstate)"
	vc=$(wl web .vcpu_cores | tr -d '"') nq=$(wl web .nq_cores | tr -d '"')
	echo "# vcpu_pin_is $vc: $(vcpu_pin_is "$vc" && echo yes || echo no), nq_pin_is $nq: $(nq_pin_is "$nq" && echo yes || echo no); guest_has 1 0: $(guest_has 1 0 && echo yes || echo no)"
	threads_state | sed 's/^/#   /'
fi
check "virsh and /proc agree: vCPU threads (CPU n/${accel^^}) allowed on the vCPU core only, QEMU's main thread and IOThread on the NQ core" \
	'[ "$(wl web .vcpu_cores)" != "$(wl web .nq_cores)" ] && plan_in_force'
check "libvirt's cgroups stay libvirt's: the threads are still in /machine/qemu-N-$DOM.libvirt-qemu" \
	'for t in $(tids_named "^CPU [0-9]*/"); do [[ $(cg $t) =~ ^/machine/qemu-[0-9]+-$DOM.libvirt-qemu/vcpu[01]$ ]] || exit 1; done &&
	 [ ! -e /sys/fs/cgroup/cpuset/vsw-lv$$/web ]'
check "status: placed by libvirt, QEMU's pid $qpid found over QMP through libvirt (the sandbox's pidfile is not in /run/libvirt)" \
	'[ "$(wl web .placement)" = "\"libvirt\"" ] && [ "$(wl web .pid)" = "$qpid" ] &&
	 wl web .libvirt.pid_via | grep -q "virDomainQemuMonitorCommand"'
check "status: connected to the URI, following its events, keepalive on" \
	'st | jq -e ".libvirt | .connected and .events and .keepalive == \"on\" and .connects == 1" >/dev/null'
out=$($CTL explain)
check "explain: libvirt pinning, the QMP passthrough, the pattern" \
	'grep -q "web: domain $DOM, pinned through libvirt" <<<"$out" &&
	 grep -q "QEMU pid $qpid from QMP query-cpus-fast through libvirt (virDomainQemuMonitorCommand)" <<<"$out" &&
	 grep -q "libvirt=vsw-lv$$-be\* (\[workload \"batch\"\], be): no running domain matches" <<<"$out"'
check "log: the QMP passthrough said once, with libvirt's view of it (unsupported, tainted)" \
	'[ "$(grep -c "through libvirt.s monitor passthrough.*custom-monitor" "$dir/vspaced.log")" -eq 1 ]'

# a policy change: static-ts:2:2 time-shares both cores, 2 vCPUs and 2 queues in the guest
t=$(date +%s.%N)
$CTL set mode static-ts:2:2 >/dev/null
if wait_until 20 'vcpu_pin_is 0-1 && nq_pin_is 0-1 && guest_has 2 0-1'; then
	ok "set mode static-ts:2:2: vCPU, emulator and IOThread pins all 0-1, the guest on 2 queues and vCPUs 0-1 ($(since "$t") s)"
else
	nok "static-ts:2:2: pins $(pins_line); guest $(gstate)"
fi
t=$(date +%s.%N)
$CTL set mode E >/dev/null
if wait_until 20 'plan_in_force && [ "$(wl web .vcpu_cores)" != "$(wl web .nq_cores)" ] && guest_has 1 0'; then
	ok "set mode E: back to one vCPU core and one NQ core, the guest to 1 queue ($(since "$t") s)"
else
	nok "E again: plan $(wl web '| [.vcpu_cores, .nq_cores]'), pins $(pins_line); guest $(gstate)"
fi

# ---- libvirtd restarted under vspaced -----------------------------------------------------------
lvs_stop
check "libvirtd stopped: vspaced notices (status: disconnected), keeps running" \
	'wait_until 10 "st | jq -e \".libvirt.connected == false\" >/dev/null" && kill -0 $vsd_pid'
t=$(date +%s.%N)
lvs_start
if wait_until 20 'st | jq -e ".libvirt | .connected and .connects == 2 and .losses == 1" >/dev/null'; then
	ok "libvirtd back: vspaced reconnected $(since "$t") s after libvirtd was started (status: 2 connects, 1 loss: $(st | jq -r .libvirt.last_loss))"
else
	nok "reconnect: $(st | jq -c .libvirt)"
fi
check "nothing lost: the same plan in force, no apply error" \
	'plan_in_force && [ "$(st | jq .daemon.apply_errors)" = 0 ]'

# ---- a domain started now is placed within one period; stopped, forgotten at once ------------------
t=$(date +%s.%N)
V start "$DOMB" >/dev/null
t1=$(date +%s.%N)
if wait_until 10 '[ "$(wl $DOMB .present)" = true ] && [ "$(V domstate "$DOMB")" = paused ]'; then
	dt=$(since "$t1")
	check "domain $DOMB (pattern vsw-lv$$-be*, role be) placed ${dt} s after virsh start returned (period ${PERIOD_MS} ms; virsh's own polling included): no core left for best-effort work, suspended through libvirt" \
		'awk -v d="$dt" -v p="$PERIOD_MS" "BEGIN { exit !(d <= p / 1000.0 + 0.8) }"'
else
	nok "$DOMB placed: status $(wl "$DOMB" ''), state $(V domstate "$DOMB")"
fi
check "status: $DOMB as an instance of [workload \"batch\"], the pattern lists it" \
	'[ "$(wl $DOMB .libvirt.template)" = "\"batch\"" ] && st | jq -e ".libvirt.patterns[0].running == [\"$DOMB\"]" >/dev/null'
V destroy "$DOMB" >/dev/null
t1=$(date +%s.%N)
if wait_until 5 '[ "$(wl $DOMB .present)" = false ]'; then
	dt=$(since "$t1")
	check "virsh destroy $DOMB: forgotten ${dt} s after it returned (within one period): \"$(wl "$DOMB" .absent | tr -d '"')\"" \
		'awk -v d="$dt" -v p="$PERIOD_MS" "BEGIN { exit !(d <= p / 1000.0 + 0.8) }"'
else
	nok "$DOMB forgotten: $(wl "$DOMB" '')"
fi
check "events counted (status and metrics)" \
	'st | jq -e ".libvirt.events_received > 0" >/dev/null &&
	 curl -s "http://127.0.0.1:$mport/metrics" 2>/dev/null | grep -q "^vspace_libvirt_losses_total 1" ||
	 { ! command -v curl >/dev/null && st | jq -e ".libvirt.losses == 1" >/dev/null; }'

# ---- SIGTERM: libvirt's pins back exactly -------------------------------------------------------
stop_vspaced
check "SIGTERM: vspaced exits 0 (every recorded setting put back)" '[ "$vsd_rc" = 0 ]'
check "libvirt's pins as before (virsh vcpupin, emulatorpin, iothreadinfo): $(pins_line)" \
	'[ "$(pins)" = "$orig_pins" ]'
check "every QEMU thread's cgroup and affinity as before (/proc/$qpid/task/*)" \
	'[ "$(threads_state)" = "$orig_threads" ]'
check "the agent put the guest back: 2 queues, vCPUs 0-1" 'wait_until 10 "guest_has 2 0-1"'

# ---- kill -9, then a restart puts them back ----------------------------------------------------
start_vspaced
wait_until 30 'plan_in_force && [ "$(wl web .vcpu_cores)" != "$(wl web .nq_cores)" ]' ||
	nok "vspaced runs again: $(pins_line)"
[ "$(pins)" != "$orig_pins" ] && ok "vspaced running again: pins changed ($(pins_line))" ||
	nok "vspaced running again: pins unchanged"
kill -KILL "$vsd_pid"
wait "$vsd_pid" 2>/dev/null
vsd_pid=
check "kill -9: pins stay as vspaced left them (nobody put them back)" '[ "$(pins)" != "$orig_pins" ]'
: >"$dir/vspaced.log"
start_vspaced
check "restart: vspaced restores the killed run's records first (libvirt pins back to the originals)" \
	'wait_until 20 "grep -q \"restore: libvirt $DOM emulator pin\" \"$dir/vspaced.log\"" &&
	 grep -q "left by an earlier run" "$dir/vspaced.log" &&
	 [ "$(grep -c "restore: libvirt $DOM vcpu [01] pin $(V vcpupin "$DOM" 0 >/dev/null; echo "$orig_pins" | awk "\$1 == 0 { print \$2 }")\$" "$dir/vspaced.log")" -ge 2 ]'
wait_until 30 'plan_in_force' || nok "restarted vspaced runs: $(pins_line)"
stop_vspaced
check "then SIGTERM: libvirt's pins and every thread as before the first run, the guest back to 2 queues" \
	'[ "$vsd_rc" = 0 ] && [ "$(pins)" = "$orig_pins" ] && [ "$(threads_state)" = "$orig_threads" ] &&
	 wait_until 10 "guest_has 2 0-1"'

# ---- teardown ---------------------------------------------------------------------------------------
check "nothing of the host's libvirt touched (/etc/libvirt unchanged, no /run/libvirt)" \
	'[ "$(find /etc/libvirt -type f -exec md5sum {} + 2>/dev/null | sort | md5sum)" = "$etc_sum" ] &&
	 { [ -n "$run_existed" ] || [ ! -e /run/libvirt ]; }'
lvs_teardown
check "teardown: QEMU gone, its cgroups removed" \
	'! kill -0 "$qpid" 2>/dev/null && ! ls -d /sys/fs/cgroup/*/machine/qemu-*-"$DOM".libvirt-qemu 2>/dev/null | grep -q .'
finish
