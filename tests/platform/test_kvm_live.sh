#!/usr/bin/env bash
# test_kvm_live.sh - vspaced finds a real KVM VM's debugfs directory on this kernel (QEMU -accel kvm, debugfs mounted in a private mount namespace) and reads or explains why it cannot read its halt-polling counters.
#
# Needs root, qemu-system-x86_64, /dev/kvm and unshare; skipped otherwise. The
# guest need not run: KVM creates the VM's directory (<pid>-<fd>, one vcpuN per
# vCPU) when QEMU creates the VM. debugfs is mounted only inside this test's own
# mount namespace; QEMU is stopped by pid at the end. vspaced runs --dry-run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${VS_BUILD:-build}
case $B in /*) ;; *) B=$repo/$B ;; esac
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip_all() { echo "ok 1 - KVM debugfs live # SKIP $1"; echo "1..1"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
[ -c /dev/kvm ] || skip_all "no /dev/kvm"
command -v unshare >/dev/null || skip_all "no unshare"
[ -x "$B/vspaced" ] || skip_all "build $B/vspaced first"
if [ -z "${VSH_KVM_LIVE_NS:-}" ]; then
	# a private mount namespace: mounting debugfs here changes nothing outside
	VSH_KVM_LIVE_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
if [ ! -d /sys/kernel/debug/kvm ]; then
	mount -t debugfs none /sys/kernel/debug 2>/dev/null || skip_all "cannot mount debugfs"
	[ -d /sys/kernel/debug/kvm ] || skip_all "no kvm directory in debugfs (kvm not loaded)"
fi

tmp=$(mktemp -d /tmp/vsh-kvm-live-XXXXXX)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# a 2-vCPU KVM VM (no disk, no display: it need not boot)
qemu-system-x86_64 -accel kvm -name vsh-kvm-live,debug-threads=on -m 64 -smp 2 -nodefaults \
	-display none -serial none -monitor none -pidfile "$tmp/qemu.pid" >"$tmp/qemu.log" 2>&1 &
qpid=$!
for _ in $(seq 50); do
	compgen -G "/sys/kernel/debug/kvm/$qpid-*" >/dev/null && break
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.1
done
dirs=$(cd /sys/kernel/debug/kvm && compgen -G "$qpid-*")
if [ -z "$dirs" ]; then
	kill -0 "$qpid" 2>/dev/null || skip_all "QEMU could not start a KVM VM here: $(head -2 "$tmp/qemu.log")"
	notok "KVM made a debugfs directory for QEMU (pid $qpid)" "$(ls /sys/kernel/debug/kvm | head)"
	echo "1..$n"
	exit 1
fi
ok "KVM made the VM's debugfs directory: $dirs"
for _ in $(seq 50); do [ -s "$tmp/qemu.pid" ] && break; sleep 0.1; done

cat >"$tmp/vspace.conf" <<CONF
[host]
cores=0-1
mode=E
control_socket=off
metrics_listen=off
cgroup_parent=vsh-kvm-live
[workload "vm"]
role=lc
slo_p95_us=1000
qemu_pidfile=$tmp/qemu.pid
CONF
out=$("$B/vspaced" -c "$tmp/vspace.conf" --dry-run --once --period-ms 100 2>"$tmp/vspaced.log")
rc=$?
[ $rc -eq 0 ] && grep -q '^KVM halt polling (halt_poll_accounting=auto):' <<<"$out" &&
	ok "vspaced --dry-run --once on the live host explains the halt-poll accounting" ||
	notok "vspaced --once" "rc=$rc" "$out" "$(tail -5 "$tmp/vspaced.log")"
line=$(grep '^  vm: ' <<<"$out")
# either read (a kernel without lockdown) or refused with the reason; both name the directory
if grep -Eq "^  vm: U_v [0-9.]+ = busy [0-9.]+ - polling [0-9.]+, from sys/kernel/debug/kvm/$qpid-[0-9]+ \(2 vCPU directories" <<<"$line"; then
	ok "the counters of sys/kernel/debug/kvm/$qpid-* were read and subtracted"
elif grep -Eq "^  vm: unavailable, not subtracted: sys/kernel/debug/kvm/$qpid-[0-9]+/halt_poll_success_ns: Operation not permitted: kernel lockdown" <<<"$line"; then
	ok "the directory was found; this kernel's lockdown forbids reading it, and vspaced says so # $(dmesg 2>/dev/null | grep -m1 -o 'Kernel is locked down.*')"
else
	notok "the VM's directory found and read, or the reason why not" "$line"
fi
cnt=$(grep -c 'workload vm: KVM halt polling' "$tmp/vspaced.log")
[ "$cnt" -eq 1 ] && ok "one log line about it: $(grep -m1 -o 'KVM halt polling.*' "$tmp/vspaced.log" | cut -c1-150)" ||
	notok "one log line about the halt-poll accounting" "count=$cnt" "$(cat "$tmp/vspaced.log")"

# halt_poll_accounting=off: nothing read, nothing said about the directory
sed -i 's/^\[host\]/[host]\nhalt_poll_accounting=off/' "$tmp/vspace.conf"
out=$("$B/vspaced" -c "$tmp/vspace.conf" --dry-run --once --period-ms 100 2>"$tmp/vspaced-off.log")
grep -q '^  vm: off, not subtracted' <<<"$out" && ! grep -q "kvm/$qpid" "$tmp/vspaced-off.log" &&
	ok "halt_poll_accounting=off: not read" || notok "halt_poll_accounting=off" "$out"

echo "1..$n"
[ $fails -eq 0 ]
