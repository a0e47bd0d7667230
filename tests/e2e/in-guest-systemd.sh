#!/bin/bash
# in-guest-systemd.sh - runs inside the systemd guest (scripts/systemd-guest shares it as
# /opt/vspace/run; the image's vspace-test.service starts it once the system is up): Debian 12 with
# systemd as PID 1 on pure cgroup v2, 4 vCPUs. A stand-in workload (bin/busy, 3 threads) runs as
# two services, vsd-plain (Delegate=no) and vsd-deleg (Delegate=yes); vspaced runs as
# contrib/vspaced.service (its ExecStart pointed at the share). Checks: the placement of each
# (AllowedCPUs= through systemd and the split by affinity; threaded vcpu/nq children inside the
# delegated unit), that both stay in their units (systemctl status, cgroup.procs), that systemctl
# stop/start still works while vspaced runs, a policy change, and the exact restore after
# systemctl stop vspaced and after kill -9 (systemd restarts it: restore first).
# Ends with "vspace-test: done"; the guest powers off afterwards.
V=/opt/vspace
export SYSTEMD_COLORS=0 SYSTEMD_PAGER= LD_LIBRARY_PATH=$V/lib
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # name, condition, lines to show when it fails...
	local name=$1 cond=$2
	shift 2
	if eval "$cond"; then ok "$name"; else
		nok "$name"
		for l in "$@"; do echo "$l" | sed 's/^/# /'; done
	fi
}
wait_for() { # seconds (of the guest's clock, however slow the emulation), condition
	local end
	end=$(awk -v t="$1" '{ printf "%d", $1 + t }' /proc/uptime)
	while :; do
		eval "$2" && return 0
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
CG=/sys/fs/cgroup
U=$CG/system.slice
uptime_s() { cut -d' ' -f1 /proc/uptime; }
t_start=$(uptime_s)
echo "# the test starts $t_start s after the kernel did; $(systemd-analyze 2>/dev/null | head -1)"

check "systemd is PID 1 ($(systemctl --version | head -1))" '[ "$(cat /proc/1/comm)" = systemd ]'
check "pure cgroup v2: cgroup_no_v1=all, cgroup2 at /sys/fs/cgroup with cpuset, 4 vCPUs" \
	'grep -qw cgroup_no_v1=all /proc/cmdline && [ "$(stat -f -c %T $CG)" = cgroup2fs ] &&
	grep -qw cpuset $CG/cgroup.controllers && [ "$(cat /sys/devices/system/cpu/online)" = 0-3 ]'

# ---- the stand-in services (runtime units) and vspaced as contrib/vspaced.service --------------
unit() { # name, extra [Service] lines
	cat >"/run/systemd/system/$1.service" <<UNIT
[Unit]
Description=vspace test stand-in ($1)
[Service]
ExecStart=$V/bin/busy 2 5 /run/$1.pid
PIDFile=/run/$1.pid
$2
UNIT
}
unit vsd-plain ""
unit vsd-deleg "Delegate=yes"
mkdir -p /etc/vspace /run/systemd/system/vspaced.service.d
cp $V/vspaced.service /run/systemd/system/vspaced.service
cat >/run/systemd/system/vspaced.service.d/test.conf <<CONF
# the binaries come from the host's share
[Service]
Environment=LD_LIBRARY_PATH=$V/lib
ExecStartPre=
ExecStartPre=$V/bin/vspaced -n -c /etc/vspace/vspace.conf
ExecStart=
ExecStart=$V/bin/vspaced -c /etc/vspace/vspace.conf
CONF
cat >/etc/vspace/vspace.conf <<CONF
[host]
cores=0-3
mode=E
period_ms=100
control_socket=/run/vspace/vspaced.sock
state_dir=/var/lib/vspace
metrics_listen=127.0.0.1:9477
[workload "plain"]
role=lc
slo_p95_us=1000
pidfile=/run/vsd-plain.pid
[workload "deleg"]
role=lc
slo_p95_us=1000
pidfile=/run/vsd-deleg.pid
CONF
systemctl daemon-reload
systemctl start vsd-plain vsd-deleg
pid_of() { systemctl show -P MainPID "$1"; }
tasks_cg() { for t in /proc/$1/task/*; do sed -n 's/^0:://p' "$t/cgroup"; done | sort -u | tr '\n' ' '; }
tasks_aff() { for t in /proc/$1/task/*; do awk '/^Cpus_allowed_list/ { print $2 }' "$t/status"; done | sort -u | tr '\n' ' '; }
aff_of() { awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$1/task/$2/status"; }
allowed() { systemctl show -P AllowedCPUs "$1"; }
CTL="timeout 20 $V/bin/vspacectl -s /run/vspace/vspaced.sock"
field() { $CTL status --json 2>/dev/null | $V/bin/jq -r ".workloads[] | select(.name == \"$1\") | .$2 // empty"; }
snapshot() { # what vspaced may change, to compare after restores
	for u in vsd-plain vsd-deleg; do
		p=$(pid_of $u)
		echo "$u allowed=[$(allowed $u)] cg=[$(tasks_cg "$p")] aff=[$(tasks_aff "$p")]" \
			"type=$(cat $U/$u.service/cgroup.type) subtree=[$(cat $U/$u.service/cgroup.subtree_control)]" \
			"children=[$(find $U/$u.service -mindepth 1 -type d | wc -l)]"
	done
	echo "root subtree=[$(cat $CG/cgroup.subtree_control)] system.slice subtree=[$(cat $U/cgroup.subtree_control)]"
}
check "both stand-ins run in their units, 3 threads each" \
	'[ "$(tasks_cg "$(pid_of vsd-plain)")" = "/system.slice/vsd-plain.service " ] &&
	[ "$(tasks_cg "$(pid_of vsd-deleg)")" = "/system.slice/vsd-deleg.service " ] &&
	[ "$(ls /proc/$(pid_of vsd-plain)/task | wc -l)" = 3 ]'
orig=$(snapshot)
echo "$orig" | sed 's/^/# before: /'

t0=$(uptime_s)
systemctl start vspaced
t1=$(uptime_s)
check "systemctl start vspaced (Type=notify, the hardened contrib unit) returns with it active ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)" \
	'[ "$(systemctl is-active vspaced)" = active ]' "$(systemctl status vspaced 2>&1 | tail -15)"
placed() { [ -n "$(field plain vcpu_cores)" ] && [ -n "$(field deleg vcpu_cores)" ] &&
	[ "$(allowed vsd-plain)" = 0-3 ] && [ -d $U/vsd-deleg.service/vcpu ]; }
check "READY=1 came after the first allocation: both are placed when systemctl start returns" \
	'placed' "$($CTL status 2>&1)" "$(journalctl -u vspaced --no-pager | tail -20)"

# ---- Delegate=no: AllowedCPUs= through systemd, the split by affinity ---------------------------
p=$(pid_of vsd-plain)
vc=$(field plain vcpu_cores) nq=$(field plain nq_cores)
check "vsd-plain: AllowedCPUs=0-3 set through systemd (systemctl show), run time only" \
	'[ "$(allowed vsd-plain)" = 0-3 ] && grep -q "AllowedCPUs=0-3" /run/systemd/system.control/vsd-plain.service.d/50-AllowedCPUs.conf' \
	"$(cat /run/systemd/system.control/vsd-plain.service.d/*.conf 2>&1)"
check "vsd-plain: its threads stay in the unit's cgroup (domain $(cat $U/vsd-plain.service/cgroup.type))" \
	'[ "$(tasks_cg $p)" = "/system.slice/vsd-plain.service " ] && grep -qx $p $U/vsd-plain.service/cgroup.procs'
check "vsd-plain: the split by affinity: every thread on the vCPU cores [$vc] (NQ [$nq])" \
	'[ -n "$vc" ] && [ "$vc" != "$nq" ] && [ "$(tasks_aff $p)" = "$vc " ]' "aff $(tasks_aff $p)"
check "systemctl status vsd-plain shows the process in its unit's CGroup" \
	'systemctl status vsd-plain | grep -A2 "CGroup: /system.slice/vsd-plain.service" | grep -q "$p "' \
	"$(systemctl status vsd-plain 2>&1 | head -12)"

# ---- Delegate=yes: threaded children inside the unit's cgroup -----------------------------------
p=$(pid_of vsd-deleg)
vc=$(field deleg vcpu_cores) nq=$(field deleg nq_cores)
D=$U/vsd-deleg.service
check "vsd-deleg: vcpu and nq are threaded children of the unit's cgroup (now $(cat $D/cgroup.type)), +cpuset" \
	'[ "$(cat $D/cgroup.type)" = "domain threaded" ] && [ "$(cat $D/vcpu/cgroup.type)" = threaded ] &&
	[ "$(cat $D/nq/cgroup.type)" = threaded ] && grep -qw cpuset $D/cgroup.subtree_control'
check "vsd-deleg: the process stays in the unit (cgroup.procs), its threads in vcpu [$(cat $D/vcpu/cpuset.cpus)]" \
	'grep -qx $p $D/cgroup.procs && [ "$(tasks_cg $p)" = "/system.slice/vsd-deleg.service/vcpu " ] &&
	[ "$(cat $D/vcpu/cpuset.cpus)" = "$vc" ] && [ "$(tasks_aff $p)" = "$vc " ]' "$(tasks_cg $p) $(tasks_aff $p)"
check "vsd-deleg: AllowedCPUs= untouched (the unit's cgroup is delegated)" '[ -z "$(allowed vsd-deleg)" ]'
check "systemctl status vsd-deleg shows the process in its unit's CGroup" \
	'systemctl status vsd-deleg | grep -q "CGroup: /system.slice/vsd-deleg.service" &&
	systemctl status vsd-deleg | grep -q "$p "' "$(systemctl status vsd-deleg 2>&1 | head -14)"
ex=$($CTL explain 2>&1)
check "explain says which placement and why, for each" \
	'grep -q "plain: systemd (owner: systemd unit): systemd unit vsd-plain.service (Delegate=no): AllowedCPUs=0-3" <<<"$ex" &&
	grep -q "deleg: cgroup2-delegated (owner: systemd unit): systemd unit vsd-deleg.service has Delegate=yes" <<<"$ex"' \
	"$(grep -A3 '^placement' <<<"$ex")"
grep -A2 '^placement' <<<"$ex" | sed 's/^/# explain: /'

# ---- a policy change: the splits follow --------------------------------------------------------
$CTL set mode static-ts:2:2 >/dev/null
ts() { [ "$(field plain vcpu_cores)" = "$(field plain nq_cores)" ] &&
	[ "$(tasks_aff "$(pid_of vsd-plain)")" = "$(field plain vcpu_cores) " ] &&
	[ "$(cat $D/vcpu/cpuset.cpus)" = "$(field deleg vcpu_cores)" ] &&
	[ "$(field deleg vcpu_cores)" = "$(field deleg nq_cores)" ]; }
wait_for 30 ts
check "set mode static-ts:2:2: both time-share their cores (plain [$(field plain vcpu_cores)] by affinity, deleg [$(field deleg vcpu_cores)] by cpuset)" \
	'ts' "$($CTL status 2>&1 | head -20)"
$CTL set mode E >/dev/null
iso() { [ "$(field plain vcpu_cores)" != "$(field plain nq_cores)" ] &&
	[ "$(tasks_aff "$(pid_of vsd-plain)")" = "$(field plain vcpu_cores) " ] &&
	[ "$(cat $D/vcpu/cpuset.cpus)" = "$(field deleg vcpu_cores)" ]; }
check "set mode E: isolated again" 'wait_for 30 iso'
metrics() { # vspaced's Prometheus text, with bash's /dev/tcp (no curl in the image)
	exec 5<>/dev/tcp/127.0.0.1/9477 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&5 && cat <&5
	exec 5<&-
}
unit_writes() { metrics | sed -n 's/^vspace_write_seconds_count{kind="systemd_unit"} //p'; }
check "one call to systemd so far (vsd-plain's AllowedCPUs=): a policy change goes by affinity only" \
	'[ "$(unit_writes)" = 1 ]' "$(metrics | grep systemd_unit)"

# ---- systemctl stop/start while vspaced runs ---------------------------------------------------
for u in vsd-plain vsd-deleg; do
	systemctl stop $u
	check "systemctl stop $u while vspaced runs: stopped, its cgroup gone" \
		'[ "$(systemctl is-active $u)" = inactive ] && [ ! -d $U/$u.service ] && [ "$(systemctl is-active vspaced)" = active ]' \
		"$(systemctl status $u 2>&1 | head -8)"
	systemctl start $u
done
check "started again: vspaced places the new processes (AllowedCPUs kept, threaded children made again)" \
	'wait_for 60 "placed && [ \"\$(tasks_cg \$(pid_of vsd-deleg))\" = \"/system.slice/vsd-deleg.service/vcpu \" ] && [ \"\$(tasks_aff \$(pid_of vsd-plain))\" = \"\$(field plain vcpu_cores) \" ]"' \
	"$(snapshot)" "$(journalctl -u vspaced --no-pager | tail -10)"
check "no new call to systemd: the run-time AllowedCPUs= outlived the process" '[ "$(unit_writes)" = 1 ]'
orig=$(echo "$orig" | sed "s/cg=\[[^]]*\]//") # the new processes: compare all but the pids' paths
same() { [ "$(snapshot | sed "s/cg=\[[^]]*\]//")" = "$orig" ] &&
	[ "$(tasks_cg "$(pid_of vsd-plain)")" = "/system.slice/vsd-plain.service " ] &&
	[ "$(tasks_cg "$(pid_of vsd-deleg)")" = "/system.slice/vsd-deleg.service " ]; }

# ---- restore: SIGTERM (systemctl stop) ---------------------------------------------------------
systemctl stop vspaced
check "systemctl stop vspaced: exit status 0 (everything recorded was put back)" \
	'[ "$(systemctl show -P ExecMainStatus vspaced)" = 0 ] && [ "$(systemctl is-active vspaced)" = inactive ]' \
	"$(journalctl -u vspaced --no-pager | tail -12)"
check "exact restore: AllowedCPUs= unset again, vsd-deleg a plain domain again with no children, threads back in their units with all cpus, subtree_control as before" \
	'same' "now:" "$(snapshot)" "before:" "$orig"
check "the runtime drop-in holds the original (empty) AllowedCPUs= (systemd keeps the file until reboot)" \
	'grep -qx "AllowedCPUs=" /run/systemd/system.control/vsd-plain.service.d/50-AllowedCPUs.conf && [ -z "$(allowed vsd-plain)" ]'

# ---- restore after kill -9: systemd restarts vspaced, which restores first ---------------------
systemctl start vspaced
wait_for 60 placed
check "vspaced placed both again" 'placed'
systemctl kill -s KILL vspaced
sleep 1
check "after kill -9 the changes remain (AllowedCPUs=0-3, the threaded children)" \
	'[ "$(allowed vsd-plain)" = 0-3 ] && [ -d $D/vcpu ]' "$(snapshot)"
check "Restart=on-failure: systemd starts vspaced again, which restores before anything else" \
	'wait_for 60 "[ \"\$(systemctl show -P NRestarts vspaced)\" = 1 ] && [ \"\$(systemctl is-active vspaced)\" = active ]" &&
	wait_for 30 "journalctl -u vspaced --no-pager | grep -q \"left by an earlier run\""' \
	"$(journalctl -u vspaced --no-pager | tail -15)"
jl=$(journalctl -u vspaced --no-pager -o cat)
first_restore=$(grep -n 'left by an earlier run' <<<"$jl" | tail -1 | cut -d: -f1)
last_place=$(grep -n 'placement cgroup2-delegated' <<<"$jl" | tail -1 | cut -d: -f1)
check "the new instance restored (line $first_restore) before it placed (line $last_place)" \
	'[ -n "$first_restore" ] && [ -n "$last_place" ] && [ "$first_restore" -lt "$last_place" ] && wait_for 60 placed'
systemctl stop vspaced
check "stopped again: the host as it was" 'same' "now:" "$(snapshot)" "before:" "$orig"

for u in vsd-plain vsd-deleg; do systemctl stop $u; done
echo "# journal of vspaced (placement lines):"
journalctl -u vspaced --no-pager -o cat | grep -E "placement|AllowedCPUs|restor" | sed -n 1,20p | sed 's/^/#   /'
echo "# the in-guest tests took $(awk -v a="$t_start" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }') s"
echo "1..$n"
echo "vspace-test: done"
