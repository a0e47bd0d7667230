#!/usr/bin/env bash
# test_vspaced.sh - vspaced and vspacectl end to end on a fixture tree (dry-run): options, config errors, control socket, metrics, signals.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${VS_BUILD:-build}
case $B in /*) ;; *) B=$repo/$B ;; esac
VSD=$B/vspaced
CTL=$B/vspacectl
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { # name, command...: ok when the command succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}
tmp=$(mktemp -d /tmp/vsd-test-XXXXXX)
dpid= h1= h2=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	for h in $h1 $h2; do kill "$h" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$repo"

# --- options and configuration ---
out=$("$VSD" --help 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q -- '--sysroot DIR' <<<"$out" && grep -q 'Exit status' <<<"$out" &&
	ok "--help documents the options" || notok "--help" "rc=$rc"
out=$("$VSD" -n -c tests/fixtures/synth-b/vspace.conf --sysroot tests/fixtures/synth-b/root 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q 'configuration tests/fixtures/synth-b/vspace.conf is valid' <<<"$out" &&
	ok "-n: synth-b's configuration is valid on its (fixture) host" || notok "-n on synth-b" "rc=$rc" "$out"
# -n checks the host too, without changing it: every contradiction named at its file:line:key
cat >"$tmp/host.conf" <<'CONF'
[host]
cores=2-29
nic=nosuch0
[workload "vm"]
qemu_pidfile=/run/nodir/vm.pid
nic=eth7
CONF
out=$("$VSD" -n -c "$tmp/host.conf" --sysroot tests/fixtures/synth-b/root 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -qF "$tmp/host.conf:2: [host] cores: cores 20-29 are not online on this host (online: 0-19)" <<<"$out" &&
	grep -qF "$tmp/host.conf:3: [host] nic: no network interface nosuch0 on this host" <<<"$out" &&
	grep -qF "$tmp/host.conf:5: [workload \"vm\"] qemu_pidfile: directory /run/nodir does not exist" <<<"$out" &&
	grep -qF "$tmp/host.conf:6: [workload \"vm\"] nic: no network interface eth7 on this host" <<<"$out" &&
	grep -qF "4 problems with this host" <<<"$out"; then
	ok "-n: cores not online, absent NICs, a pidfile's missing directory, each at file:line:key"
else
	notok "-n host checks" "rc=$rc" "$out"
fi
mkdir -p "$tmp/iso" && cp -a tests/fixtures/synth-b/root "$tmp/iso/root" && echo 4-5 >"$tmp/iso/root/sys/devices/system/cpu/isolated"
out=$("$VSD" -n -c tests/fixtures/synth-b/vspace.conf --sysroot "$tmp/iso/root" 2>&1)
[ $? -eq 2 ] && grep -qF "vspace.conf:3: [host] cores: cores 4-5 are isolated (isolcpus=)" <<<"$out" &&
	ok "-n: isolated cores refused" || notok "-n isolated" "$out"
printf '[host]\ncores=0-1\nlibvirt_uri=qemu+unix:///system?socket=%s/nolibvirt\n[workload "w"]\nlibvirt=dom\n' "$tmp" >"$tmp/lv.conf"
out=$("$VSD" -n -c "$tmp/lv.conf" 2>&1)
[ $? -eq 2 ] && grep -qF "lv.conf:5: [workload \"w\"] libvirt: libvirt qemu+unix:///system?socket=$tmp/nolibvirt: connect:" <<<"$out" &&
	ok "-n: libvirt= workloads need the libvirt connection" || notok "-n libvirt" "$out"
printf '[host]\ncores=2-19\nplacement=cgroup1\n[workload "w"]\npid=1\n' >"$tmp/pl.conf"
mkdir -p "$tmp/nocg" && cp -a tests/fixtures/synth-b/root "$tmp/nocg/root" && rm -rf "$tmp/nocg/root/sys/fs/cgroup/cpuset"
out=$("$VSD" -n -c "$tmp/pl.conf" --sysroot "$tmp/nocg/root" 2>&1)
[ $? -eq 2 ] && grep -qF "pl.conf:3: [host] placement: workload w: placement=cgroup1: no cgroup v1 cpuset hierarchy" <<<"$out" &&
	ok "-n: the placement's cgroup hierarchy is missing" || notok "-n placement" "$out"

bad() { # name, expected message, config text
	local name=$1 want=$2
	printf '%b' "$3" >"$tmp/bad.conf"
	out=$("$VSD" -n -c "$tmp/bad.conf" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$tmp/bad.conf:$want" <<<"$out"; then ok "$name: exit 2, names file:line"; else notok "$name" "rc=$rc" "$out"; fi
}
bad "unknown key" '3: [host] foo: unknown key' '[host]\ncores=0-1\nfoo=1\n'
bad "bad cpulist" '2: [host] cores: "0-x" is not a cpu list' '[host]\ncores=0-x\n'
bad "missing workload" '2: missing workload' '[host]\ncores=0-1\n'
bad "workload without a source" '4: [workload "w"]: missing workload source' '[host]\ncores=0-1\n[workload "w"]\nrole=lc\n'
bad "overlapping core sets" '3: [host] housekeeping: overlapping core sets' '[host]\ncores=0-3\nhousekeeping=3\n[workload "w"]\npid=1\n'
bad "duplicate [host] section" '3: [host]: section given twice (first at line 1)' '[host]\ncores=0-1\n[host]\nnic=eth0\n[workload "w"]\npid=1\n'
bad "duplicate [threshold] section" '5: [threshold]: section given twice (first at line 3)' '[host]\ncores=0-1\n[threshold]\nvcpu=0.5\n[threshold]\nnq=0.5\n[workload "w"]\npid=1\n'
bad "NUL inside a value" '3: a NUL byte at byte offset 23 (column 7)' '[host]\ncores=0-1\nnic=et\0000h0\n[workload "w"]\npid=1\n'
bad "bytes that are not UTF-8" '3: byte 0xff that is not UTF-8 at byte offset 21 (column 5)' '[host]\ncores=0-1\nnic=\377\376x\n[workload "w"]\npid=1\n'
bad "a control character" '2: control character 0x1b at byte offset 13 (column 7)' '[host]\ncores=\033[31m0-1\n[workload "w"]\npid=1\n'
bad "unterminated section header" '3: unterminated section header' '[host]\ncores=0-1\n[workload "mc"\npid=1\n'
bad "nic_netns: a path outside /run/netns" '4: [host] nic_netns: "/tmp/ns" is not a namespace name or /run/netns/NAME' '[host]\ncores=0-1\nnic=eth0\nnic_netns=/tmp/ns\n[workload "w"]\npid=1\n'
printf '[host]\ncores=0-1\nnic=\377\033]0;pwned\007\n[workload "w"]\npid=1\n' >"$tmp/garbage.conf"
out=$("$VSD" -n -c "$tmp/garbage.conf" 2>&1)
[ $? -eq 2 ] && ! LC_ALL=C grep -q $'[\x80-\xff\x1b\x07]' <<<"$out" && ok "binary garbage is not echoed to the terminal" || notok "garbage echoed" "$(od -c <<<"$out" | head -3)"
printf '[host]\ncores=0-1\nnic=lo\nnic_netns=/run/netns/vs-nonexistent\n[workload "w"]\npid=1\n' >"$tmp/ns.conf"
out=$("$VSD" -n -c "$tmp/ns.conf" 2>&1)
grep -qF 'ns.conf:4: [host] nic_netns: network namespace vs-nonexistent does not exist' <<<"$out" &&
	ok "nic_netns takes /run/netns/NAME (and -n finds the namespace missing)" || notok "nic_netns path" "$out"
out=$("$VSD" -n -c "$tmp" 2>&1)
[ $? -eq 2 ] && grep -qF "$tmp: is a directory, not a configuration file" <<<"$out" && ok "a directory as the config is named as such" || notok "directory config" "$out"
out=$("$VSD" -c /nonexistent/vspace.conf -n 2>&1)
[ $? -eq 2 ] && grep -q 'No such file' <<<"$out" && ok "missing config file: exit 2" || notok "missing config" "$out"
"$VSD" --bogus >/dev/null 2>&1
[ $? -eq 2 ] && ok "unknown option: exit 2" || notok "unknown option"
"$VSD" --bench 5 -c examples/vspace.conf >/dev/null 2>&1
[ $? -eq 2 ] && ok "--bench needs --dry-run" || notok "--bench without --dry-run"
"$VSD" --period-ms 0 -c examples/vspace.conf >/dev/null 2>&1
[ $? -eq 2 ] && ok "--period-ms 0: exit 2" || notok "--period-ms 0"

# --- a host that does not match the configuration: exit 2 ---
sed 's/^cores=2-19/cores=2-29/' tests/fixtures/synth-b/vspace.conf >"$tmp/wide.conf"
out=$("$VSD" -c "$tmp/wide.conf" --sysroot tests/fixtures/synth-b/root --dry-run --once 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q 'cores 20-29 are not online' <<<"$out" && ok "cores not online: exit 2" || notok "cores not online" "rc=$rc" "$out"

# --- one dry-run period on fixture synth-b ---
cp -a tests/fixtures/synth-b/root "$tmp/root"
out=$("$VSD" -c tests/fixtures/synth-b/vspace.conf --sysroot "$tmp/root" --dry-run --once --period-ms 20 2>"$tmp/once.log")
rc=$?
if [ $rc -eq 0 ] && grep -q 'policy vspace-r, 18 cores' <<<"$out" && grep -q 'workload vm: vcpu cores' <<<"$out" &&
	grep -q 'dry-run: move thread 4002 (vm: CPU 0/KVM)' "$tmp/once.log"; then
	ok "--dry-run --once: one period, writes logged, decision printed"
else
	notok "--dry-run --once" "rc=$rc" "$out" "$(tail -5 "$tmp/once.log")"
fi
if ! find "$tmp/root" -newer "$tmp/once.log" -type f | grep -q . && [ ! -d "$tmp/root/sys/fs/cgroup/cpuset/vspace" ]; then
	ok "--dry-run wrote nothing under the sysroot"
else
	notok "--dry-run wrote files" "$(find "$tmp/root" -newer "$tmp/once.log" | head -3)"
fi

# --- the control socket, a running (dry-run) daemon ---
sock=$tmp/run/vspaced.sock
mport=$(tests/free-port) || mport=19461
{
	sed -e '/^control_socket/d' -e '/^metrics_listen/d' tests/fixtures/synth-b/vspace.conf |
		sed -e "s|^\[host\]|[host]\ncontrol_socket=$sock\ncontrol_group=users\nmetrics_listen=127.0.0.1:$mport\nmetrics_textfile=$tmp/vspace.prom\nperiod_ms=50|"
} >"$tmp/d.conf"
"$VSD" -c "$tmp/d.conf" --sysroot "$tmp/root" --dry-run >"$tmp/d.log" 2>&1 &
dpid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
check "daemon up, socket created" test -S "$sock"
out=$("$CTL" -s "$sock" status)
rc=$?
[ $rc -eq 0 ] && grep -q '^vm  *lc  *running' <<<"$out" && grep -q 'policy vspace-r' <<<"$out" &&
	grep -q '^nic ens1f0' <<<"$out" && ok "vspacectl status (table)" || notok "vspacectl status" "rc=$rc" "$out"
out=$("$CTL" -s "$sock" status --json)
grep -q '"ok":true' <<<"$out" && grep -q '"name":"vm"' <<<"$out" && grep -q '"agent":"vsock:3:7070"' <<<"$out" &&
	ok "vspacectl status --json (agent= shown)" || notok "status --json" "$out"
out=$("$CTL" -s "$sock" explain)
grep -q '^policy vspace-r' <<<"$out" && grep -q 'why: ' <<<"$out" && ok "vspacectl explain" || notok "explain" "$out"
# KVM halt polling: the VM's debugfs directory is found (not the probe VM's) and shown
sleep 0.2
out=$("$CTL" -s "$sock" status --json)
hp=$(jq -c '.workloads[] | select(.name == "vm") | .halt_poll' <<<"$out" 2>/dev/null)
[ "$(jq -r '.state + " " + .source + " " + .accounting + " " + (.applied | tostring)' <<<"$hp" 2>/dev/null)" = \
	"active sys/kernel/debug/kvm/4000-11 auto true" ] &&
	jq -e '.busy_vcpu_raw >= 0 and .halt_poll_cores >= 0 and (.busy_vcpu_raw - .halt_poll_cores - .busy_vcpu | fabs) < 1e-6' <<<"$hp" >/dev/null &&
	ok "status --json: halt polling read from the VM's KVM directory" || notok "status --json halt_poll" "$hp"
out=$("$CTL" -s "$sock" status)
grep -q '^  vCPU busy [0-9.]* cores - KVM halt polling [0-9.]* (.*) = U_v [0-9.]*, from sys/kernel/debug/kvm/4000-11' <<<"$out" &&
	ok "status table: busy, polling and U_v" || notok "status table halt polling" "$out"
out=$("$CTL" -s "$sock" explain)
grep -q '^KVM halt polling (halt_poll_accounting=auto):' <<<"$out" &&
	grep -q '^  vm: U_v [0-9.]* = busy [0-9.]* - polling [0-9.]*, from sys/kernel/debug/kvm/4000-11 (20 vCPU directories; 2 KVM VMs' <<<"$out" &&
	grep -q 'U_v = busy [0-9.]* - KVM halt polling' <<<"$out" &&
	ok "explain: the halt-poll correction" || notok "explain halt polling" "$out"
"$CTL" -s "$sock" report vm p95=850.5 count=1200 >/dev/null
[ $? -eq 0 ] && ok "report vm p95=850.5" || notok "report"
sleep 0.2
out=$("$CTL" -s "$sock" status --json)
grep -q '"last_report_p95_us":850.5' <<<"$out" && grep -q '"reports":1' <<<"$out" && ok "the report reached the workload" || notok "report not seen" "$out"
out=$("$CTL" -s "$sock" report nope p95=1 2>&1)
[ $? -eq 1 ] && grep -q 'unknown workload "nope"' <<<"$out" && ok "report for an unknown workload: error" || notok "unknown workload" "$out"
out=$("$CTL" -s "$sock" report batch p95=1 2>&1)
[ $? -eq 1 ] && grep -q 'best-effort' <<<"$out" && ok "report for a BE workload: error" || notok "BE report" "$out"
out=$("$CTL" -s "$sock" report vm p95=abc 2>&1)
[ $? -eq 2 ] && grep -q 'not a number' <<<"$out" && ok "report p95=abc: usage error" || notok "p95=abc" "$out"
out=$("$CTL" -s "$sock" set mode P)
[ $? -eq 0 ] && grep -q '"policy":"vspace-p"' <<<"$out" && ok "set mode P" || notok "set mode" "$out"
out=$("$CTL" -s "$sock" set mode static-iso:12:4)
[ $? -eq 0 ] && ok "set mode static-iso:12:4" || notok "set mode static-iso" "$out"
out=$("$CTL" -s "$sock" set mode bogus 2>&1)
[ $? -eq 1 ] && grep -q 'unknown policy' <<<"$out" && ok "set mode bogus: error" || notok "set mode bogus" "$out"
out=$("$CTL" -s "$sock" set threshold vm vcpu=0.7 nq=0.6)
[ $? -eq 0 ] && grep -q '"vcpu":0.7' <<<"$out" && ok "set threshold" || notok "set threshold" "$out"
"$CTL" -s "$sock" set threshold vm vcpu=2 >/dev/null 2>&1
[ $? -eq 2 ] && ok "set threshold vcpu=2: refused" || notok "threshold range"
out=$("$CTL" -s "$sock" set slo vm p95=900)
[ $? -eq 0 ] && grep -q '"p95_us":900' <<<"$out" && ok "set slo" || notok "set slo" "$out"
out=$("$CTL" -s "$sock" set slo batch p95=900 2>&1)
[ $? -eq 1 ] && grep -q 'unknown LC workload "batch"' <<<"$out" && ok "set slo on a BE workload: error" || notok "slo batch" "$out"
out=$("$CTL" -s "$sock" pause)
[ "$out" = paused ] && "$CTL" -s "$sock" status | grep -q PAUSED && ok "pause" || notok "pause" "$out"
out=$("$CTL" -s "$sock" resume)
[ "$out" = running ] && ok "resume" || notok "resume" "$out"
"$CTL" -s "$sock" frobnicate >/dev/null 2>&1
[ $? -eq 2 ] && ok "unknown vspacectl command: exit 2" || notok "unknown command"
"$CTL" -s "$tmp/nothing.sock" status >/dev/null 2>&1
[ $? -eq 1 ] && ok "no daemon: exit 1" || notok "no daemon"

# peer credentials: another user is turned away even when the file lets it in
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 0777 "$tmp" "$tmp/run"
	chmod 0666 "$sock"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" -s "$sock" status 2>&1)
	[ $? -eq 1 ] && grep -q 'permission denied: uid 65534' <<<"$out" && ok "peer credentials checked" || notok "peer credentials" "$out"
else
	ok "peer credentials # SKIP needs root and setpriv"
fi

# a crowd on the socket: idle connections never lock out root or a user's own tool
hold() { # who (setpriv args or "root"), count: holds count connections until killed
	local who=$1 count=$2
	local cmd=(/usr/bin/python3 -c 'import socket,sys,time
s=[]
for i in range(int(sys.argv[2])):
    c=socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); s.append(c)
print("ready", flush=True); time.sleep(60)' "$sock" "$count")
	if [ "$who" = root ]; then exec "${cmd[@]}"; else exec setpriv $who "${cmd[@]}"; fi
}
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ]; then
	hold root 200 >"$tmp/hold1" &
	h1=$!
	for _ in $(seq 100); do grep -q ready "$tmp/hold1" && break; sleep 0.05; done
	t0=$(date +%s%N)
	out=$("$CTL" -s "$sock" --timeout 1000 status 2>&1)
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ $rc -eq 0 ] && grep -q '^vspaced .*policy' <<<"$out" && [ "$ms" -lt 1000 ] &&
		ok "200 idle root connections: vspacectl status answered in $ms ms" || notok "status behind 200 connections" "rc=$rc ms=$ms" "$out"
	kill "$h1"; wait "$h1" 2>/dev/null
	sleep 0.3 # the daemon sees them close
	# a supplementary member of control_group is let in; past its limit it is told why
	users_gid=$(getent group users | cut -d: -f3)
	if [ -n "$users_gid" ]; then
		hold "--reuid=65534 --regid=65534 --groups=$users_gid" 200 >"$tmp/hold2" &
		h2=$!
		for _ in $(seq 100); do grep -q ready "$tmp/hold2" && break; sleep 0.05; done
		out=$(setpriv --reuid=65534 --regid=65534 --groups="$users_gid" "$CTL" -s "$sock" status 2>&1)
		rc=$?
		[ $rc -eq 1 ] && grep -q 'too many clients: uid 65534 already holds 8 connections' <<<"$out" &&
			ok "a user past its connection limit reads \"too many clients\"" || notok "too many clients" "rc=$rc" "$out"
		t0=$(date +%s%N)
		out=$("$CTL" -s "$sock" status 2>&1)
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ $rc -eq 0 ] && [ "$ms" -lt 1000 ] && ok "root still served beside them ($ms ms)" || notok "root beside a full user" "rc=$rc ms=$ms" "$out"
		kill "$h2"; wait "$h2" 2>/dev/null
		out=$(setpriv --reuid=65534 --regid=65534 --groups="$users_gid" "$CTL" -s "$sock" status 2>&1)
		[ $? -eq 0 ] && ok "a supplementary member of control_group may use the socket" || notok "supplementary member" "$out"
	else
		ok "control_group limits # SKIP no group users"
		ok "control_group root # SKIP no group users"
		ok "control_group member # SKIP no group users"
	fi
else
	for i in 1 2 3 4; do ok "connection limits # SKIP needs root, setpriv and python3"; done
fi

# metrics: HTTP on the loopback port and the textfile
exec 3<>/dev/tcp/127.0.0.1/$mport
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
out=$(cat <&3)
exec 3<&-
grep -q '200 OK' <<<"$out" && grep -q '^vspace_periods_total [0-9]' <<<"$out" &&
	grep -q '^vspace_group_cores{workload="vm",group="vcpu"}' <<<"$out" &&
	grep -q '^vspace_period_cpu_seconds_count' <<<"$out" && ok "metrics over HTTP" || notok "metrics HTTP" "$(head -3 <<<"$out")"
body=$(sed '1,/^\r\{0,1\}$/d' <<<"$out")
chk=$(/usr/bin/python3 "$here/promcheck.py" - <<<"$body" 2>&1)
case $? in
0) ok "metrics parse with prometheus_client: every family typed and grouped ($(tail -1 <<<"$chk"))" ;;
77) ok "metrics format # SKIP $chk" ;;
*) notok "metrics format (prometheus_client)" "$chk" ;;
esac
grep -q '^vspace_halt_poll_accounting{workload="vm",state="active"} 1$' <<<"$out" &&
	grep -q '^vspace_vcpu_busy_raw_cores{workload="vm"} [0-9.]*$' <<<"$out" &&
	grep -q '^vspace_halt_poll_cores{workload="vm"} [0-9.]*$' <<<"$out" &&
	ok "metrics: halt-poll accounting, raw busy time, polling" || notok "metrics halt polling" "$(grep halt <<<"$out")"
sleep 1.2
grep -q '^vspace_info{policy=' "$tmp/vspace.prom" 2>/dev/null && ok "metrics textfile" || notok "textfile" "$(ls "$tmp")"

# a second daemon on the same socket is refused
out=$("$VSD" -c "$tmp/d.conf" --sysroot "$tmp/root" --dry-run 2>&1)
[ $? -eq 1 ] && grep -q 'another vspaced is running' <<<"$out" && ok "a second daemon is refused" || notok "second daemon" "$out"

kill -USR1 "$dpid"
sleep 0.3
grep -q 'explain: policy' "$tmp/d.log" && ok "SIGUSR1 logs explain" || notok "SIGUSR1"
kill -TERM "$dpid"
wait "$dpid"
rc=$?
dpid=
[ $rc -eq 0 ] && [ ! -e "$sock" ] && ok "SIGTERM: exit 0, socket removed" || notok "SIGTERM" "rc=$rc"
grep -q 'policy set to vspace-p by request' "$tmp/d.log" && ok "requests are logged" || notok "request log"

echo "1..$n"
[ $fails -eq 0 ]
