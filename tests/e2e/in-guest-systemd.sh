#!/bin/bash
# in-guest-systemd.sh - runs inside the systemd guest (scripts/systemd-guest shares it as
# /opt/vspace/run; the image's vspace-test.service starts it once the system is up): a Debian 12
# system with systemd as PID 1 on pure cgroup v2. A stand-in workload (bin/busy) runs as a systemd
# service without and with Delegate=yes; checks what systemd shows of them. Ends with
# "vspace-test: done"; the guest powers off afterwards.
V=/opt/vspace
export SYSTEMD_COLORS=0 SYSTEMD_PAGER= LD_LIBRARY_PATH=$V/lib
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; shift 2; for l in "$@"; do echo "# $l"; done; fi; }
wait_for() { # seconds, condition
	for _ in $(seq $(($1 * 10))); do eval "$2" && return 0; sleep 0.1; done
	return 1
}
CG=/sys/fs/cgroup
echo "# the test starts $(cut -d' ' -f1 /proc/uptime) s after the kernel did"

check "systemd is PID 1 ($(systemctl --version | head -1))" '[ "$(cat /proc/1/comm)" = systemd ]'
check "pure cgroup v2: cgroup_no_v1=all, cgroup2 at /sys/fs/cgroup with cpuset" \
	'grep -qw cgroup_no_v1=all /proc/cmdline && [ "$(stat -f -c %T $CG)" = cgroup2fs ] &&
	grep -qw cpuset $CG/cgroup.controllers' "controllers: $(cat $CG/cgroup.controllers)"

# the stand-in services: 2 threads at 20 % each; runtime units (/run/systemd/system)
unit() { # name, extra [Service] lines
	cat >"/run/systemd/system/$1.service" <<UNIT
[Unit]
Description=vspace test stand-in ($1)
[Service]
ExecStart=$V/bin/busy 2 20 /run/$1.pid
PIDFile=/run/$1.pid
$2
UNIT
}
unit vsd-plain ""
unit vsd-deleg "Delegate=yes"
systemctl daemon-reload
systemctl start vsd-plain vsd-deleg
pid_of() { systemctl show -P MainPID "$1"; }
cg_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }
for u in vsd-plain vsd-deleg; do
	p=$(pid_of $u)
	check "$u runs in its unit's cgroup (pid $p, 3 threads)" \
		'[ "$(systemctl is-active $u)" = active ] && [ "$(cg_of "$p")" = /system.slice/$u.service ] &&
		[ "$(ls /proc/$p/task | wc -l)" = 3 ]' "$(systemctl status $u 2>&1 | head -12)"
done
check "Delegate: vsd-deleg yes (cpuset among the delegated controllers), vsd-plain no" \
	'[ "$(systemctl show -P Delegate vsd-deleg)" = yes ] && [ "$(systemctl show -P Delegate vsd-plain)" = no ] &&
	grep -qw cpuset $CG/system.slice/vsd-deleg.service/cgroup.controllers' \
	"deleg controllers: $(cat $CG/system.slice/vsd-deleg.service/cgroup.controllers)"
check "AllowedCPUs= unset on both" \
	'[ -z "$(systemctl show -P AllowedCPUs vsd-plain)" ] && [ -z "$(systemctl show -P AllowedCPUs vsd-deleg)" ]'

for u in vsd-plain vsd-deleg; do
	systemctl stop $u
	check "systemctl stop $u stops it" '[ "$(systemctl is-active $u)" = inactive ] && [ ! -d $CG/system.slice/$u.service ]'
done
rm -f /run/systemd/system/vsd-plain.service /run/systemd/system/vsd-deleg.service
systemctl daemon-reload
echo "1..$n"
echo "vspace-test: done"
