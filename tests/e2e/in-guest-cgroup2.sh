#!/bin/sh
# in-guest-cgroup2.sh - the in-guest half of the pure cgroup v2 test: scripts/guest/build-daemon puts
# it into the e2e guest as /usr/lib/vspace-test/run, the guest's init runs it when the kernel command
# line has vsa.test=PORT (before the agent starts) and tests/e2e/test_guest.sh relays the TAP lines
# it writes to that port. It checks that the guest is a pure cgroup v2 host (cgroup_no_v1=all,
# cgroup2 with the cpuset controller), then runs tests/daemon/test_live.sh there: vspaced places a
# multi-threaded stand-in workload and steers a veth in a network namespace, follows a policy
# change and restores after SIGTERM and after kill -9 + restart. Ends with "vspace-test: done".
L=/usr/lib/vspace-test
export PATH="$L/bin:$PATH"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
start=$(cut -d' ' -f1 /proc/uptime)

for m in "$L"/modules/*.ko; do insmod "$m" || echo "# insmod $m failed"; done
mkdir -p /tmp/v1probe
check "pure cgroup v2: cgroup_no_v1=all, cgroup2 at /sys/fs/cgroup, no v1 hierarchy mounted" \
	'grep -qw cgroup_no_v1=all /proc/cmdline &&
	[ "$(awk '\''$2 == "/sys/fs/cgroup" { print $3 }'\'' /proc/mounts)" = cgroup2 ] &&
	! awk '\''$3 == "cgroup" { f = 1 } END { exit !f }'\'' /proc/mounts'
check "a v1 cpuset hierarchy cannot be mounted" '! mount -t cgroup -o cpuset none /tmp/v1probe 2>/dev/null'
umount /tmp/v1probe 2>/dev/null
check "cgroup2 offers cpuset, 4 vCPUs online" \
	'grep -qw cpuset /sys/fs/cgroup/cgroup.controllers && [ "$(cat /sys/devices/system/cpu/online)" = 0-3 ]'

# the stand-in workload starts in a cgroup of its own outside any manager (vspace's own subtree)
VS_BUILD=$L/bin VS_BUSY=$L/bin/busy VS_LIVE_NO_STRACE=1 timeout 150 bash "$L/tests/daemon/test_live.sh" 2>&1
rc=$?
[ $rc -eq 0 ] || nok "tests/daemon/test_live.sh exited with status $rc"
echo "# in-guest tests took $(awk -v a="$start" '{ printf "%.1f", $1 - a }' /proc/uptime) s"
echo "vspace-test: done"
