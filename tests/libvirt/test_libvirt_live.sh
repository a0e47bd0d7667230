#!/usr/bin/env bash
# test_libvirt_live.sh - vspaced and a real libvirtd: Debian's libvirtd started by the test in a
# private sandbox (tests/libvirt/sandbox.sh: its own network and mount namespace, private config
# and runtime directories), a type='qemu' (TCG) domain booting the e2e guest (scripts/guest/build)
# with the agent on a virtio-serial channel and a 2-queue tap NIC in the test's namespace.
#
# Needs root, libvirtd (libvirt-daemon, libvirt-daemon-driver-qemu), virsh (libvirt-clients),
# qemu-system-x86_64 and the cgroup v1 cpuset hierarchy; skips otherwise. Removes all it made.
set -u
B=${VS_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
skip_all() { echo "ok 1 - libvirt live # SKIP $1"; echo "1..1"; exit 0; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
wait_until() { # seconds, condition (evaluated each time)
	for _ in $(seq $(($1 * 10))); do eval "$2" && return 0; sleep 0.1; done
	return 1
}
T0=$(date +%s.%N)

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
for c in libvirtd virsh qemu-system-x86_64 nsenter unshare jq; do
	command -v "$c" >/dev/null || skip_all "$c not installed (scripts/packages.txt)"
done
[ -d /sys/fs/cgroup/cpuset ] || skip_all "needs the cgroup v1 cpuset hierarchy"
[ -x "$B/vspace-agent" ] && [ -x "$B/vspace" ] && [ -x "$B/vspaced" ] && [ -x "$B/vspacectl" ] ||
	skip_all "build $B/vspace, vspace-agent, vspaced and vspacectl first"
if ! "$root/scripts/guest/build" "$B" >"$B/guest-build-lv.log" 2>&1; then
	grep -q "download" "$B/guest-build-lv.log" &&
		skip_all "cannot download the guest kernel: $(tail -1 "$B/guest-build-lv.log")"
	echo "not ok 1 - scripts/guest/build: $(tail -1 "$B/guest-build-lv.log")"
	echo "1..1"
	exit 1
fi
. "$root/tests/libvirt/sandbox.sh"

NS=vsw-lv$$
TAP=vsw-lvtap0
DOM=vsw-lv$$-a
dir=$(mktemp -d /tmp/vsw-lv-XXXXXX)
B=$(cd "$B" && pwd)
etc_sum=$(find /etc/libvirt -type f -exec md5sum {} + 2>/dev/null | sort | md5sum)
run_existed=$([ -e /run/libvirt ] && echo y)
cleanup() {
	lvs_teardown
	ip netns del "$NS" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NS" || { nok "ip netns add $NS"; echo "1..$n"; exit 1; }
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev "$TAP" mode tap multi_queue
ip -n "$NS" addr add 198.18.7.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up

lvs_init "$dir/lv" "$NS" "$B/libvirt-caps"
t=$(date +%s.%N)
if ! lvs_start; then
	nok "libvirtd starts in the sandbox: $(tail -5 "$dir/lv/libvirtd.log" | tr '\n' ' ')"
	echo "1..$n"
	exit 1
fi
ok "libvirtd (pid $LVS_PID) answers on $LVS_URI after $(since "$t") s"
V() { lvs_virsh "$@"; }

mkdir -p "$dir/a"
lvs_guest_xml "$DOM" "$B" "$dir/a" "$TAP" 52:54:00:56:07:02 198.18.7.2/24 2 2 >"$dir/a.xml"
t=$(date +%s.%N)
check "domain $DOM defined and started (type qemu, 2 vCPUs, 1 IOThread, 2-queue tap)" \
	'V define "$dir/a.xml" >/dev/null && V start "$DOM" >/dev/null'
gstate() { tr -d '\r' <"$1/state.log" 2>/dev/null | grep '^state seq=' | tail -1; }
if wait_until 60 '[ -n "$(gstate "$dir/a")" ]'; then
	ok "the guest boots: state \"$(gstate "$dir/a")\" after $(since "$t") s"
else
	nok "the guest boots (console: $(tail -2 "$dir/a/console.log" 2>/dev/null | tr '\n' ' '))"
fi
A="$B/vspace agent -c serial:$dir/a/agent.sock"
check "the agent answers hello over the virtio-serial channel: 2 vCPUs, eth0 with 2 queues" \
	'$A -t 30000 hello | jq -e ".vcpus == 2 and .nics[0].queues == 2" >/dev/null'

qpid=$(lvs_qemu_pid "$DOM")
cg() { awk -F: '$2 == "cpuset" { print $3 }' "/proc/$qpid/task/$1/cgroup" 2>/dev/null; }
vcpu_tids() { grep -l '^CPU [0-9]*/' /proc/"$qpid"/task/*/comm 2>/dev/null | cut -d/ -f5; }
check "libvirt placed the vCPU threads in /machine/qemu-N-$DOM.libvirt-qemu/vcpuK" \
	'for t in $(vcpu_tids); do [[ $(cg $t) =~ ^/machine/qemu-[0-9]+-$DOM.libvirt-qemu/vcpu[01]$ ]] || exit 1; done'

pins() { V vcpupin "$DOM"; V emulatorpin "$DOM"; V iothreadinfo "$DOM"; }
before=$(pins)
V vcpupin "$DOM" 1 1 >/dev/null
lvs_stop
check "libvirtd stopped (SIGTERM): the VM runs on" 'kill -0 "$qpid"'
t=$(date +%s.%N)
lvs_start
check "libvirtd restarted in $(since "$t") s: it finds the VM and its pins again" \
	'[ "$(V domstate "$DOM")" = running ] && [ "$(V vcpupin "$DOM" 1 | tr -d " ")" = "11" ]'
V vcpupin "$DOM" 1 0-1 >/dev/null

check "teardown: nothing of the host's libvirt touched (/etc/libvirt unchanged, no /run/libvirt)" \
	'[ "$(find /etc/libvirt -type f -exec md5sum {} + 2>/dev/null | sort | md5sum)" = "$etc_sum" ] &&
	 { [ -n "$run_existed" ] || [ ! -e /run/libvirt ]; }'
lvs_teardown
check "teardown: QEMU gone, its cgroups removed" \
	'! kill -0 "$qpid" 2>/dev/null && ! ls -d /sys/fs/cgroup/*/machine/qemu-*-"$DOM".libvirt-qemu 2>/dev/null | grep -q .'
echo "# run time $(since "$T0") s"
echo "1..$n"
[ "$failed" -eq 0 ]
