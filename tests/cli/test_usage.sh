#!/usr/bin/env bash
# test_usage.sh - every program's --help (complete, on stdout, exit 0), its examples that need no host, and its usage errors (exit 2, naming what was wrong).
set -u
B=${VS_BUILD:-build}
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
tmp=$(mktemp -d /tmp/vsr-usage-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --- --help: usage line first, on stdout, nothing on stderr, exit 0, the exit statuses named ---
help() { # name, command...
	local name=$1
	shift
	"$@" --help >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && head -1 "$tmp/out" | grep -q '^usage: ' &&
		grep -q '^Exit status: ' "$tmp/out"; then
		ok "$name --help"
	else
		notok "$name --help" "rc=$rc" "$(head -3 "$tmp/out")" "$(cat "$tmp/err")"
	fi
}
help "vspace" "$B/vspace"
help "vspace replay" "$B/vspace" replay
help "vspace loadgen" "$B/vspace" loadgen
help "vspace policies" "$B/vspace" policies
help "vspace agent" "$B/vspace" agent
help "vspace sim" "$B/vspace" sim
help "vspace sim vf" "$B/vspace" sim vf
help "vspace vf" "$B/vspace" vf
help "vspace vf replay" "$B/vspace" vf replay
help "vspace vf pool" "$B/vspace" vf pool
help "vspace vf plug" "$B/vspace" vf plug
help "vspace vf unplug" "$B/vspace" vf unplug
help "vspaced" "$B/vspaced"
help "vspacectl" "$B/vspacectl"
help "vspace-agent" "$B/vspace-agent"
help "vspace memnet" "$B/vspace" memnet
help "vspace memnet create" "$B/vspace" memnet create
help "vspace memnet serve" "$B/vspace" memnet serve
help "vspace memnet ls" "$B/vspace" memnet ls
help "vspace memnet replay" "$B/vspace" memnet replay
help "vspace-agent memnet" "$B/vspace-agent" memnet

# --- the examples in the help texts that need no host or server run as shown ---
example() { # name, program help command (words), example line as the help shows it
	local name=$1 helpcmd=$2 line=$3
	if ! $helpcmd --help 2>/dev/null | grep -qF -- "$line"; then
		notok "$name: in the help" "not found: $line"
		return 1
	fi
	return 0
}
if example "vspace replay example" "$B/vspace replay" "vspace replay --policy vspace-e --cores 20"; then
	out=$(printf 'busy_vcpu,busy_nq,p95_us\n7.3,2.1,850\n' | "$B/vspace" replay --policy vspace-e --cores 20)
	[ "$out" = "$(printf 'period,n_vcpu,n_nq,n_be,th_vcpu,th_nq\n1,10,3,0,0.800000,0.800000')" ] &&
		ok "vspace replay example: the decision shown in README.md" || notok "vspace replay example" "$out"
fi
if example "vspace example" "$B/vspace" "vspace replay --policy vspace-e --cores 20 < examples/traces/memcached-ramp.csv"; then
	out=$("$B/vspace" replay --policy vspace-e --cores 20 <examples/traces/memcached-ramp.csv)
	[ $? -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 41 ] && ok "vspace example: replay of the example trace, 40 periods" ||
		notok "vspace example: replay of the example trace" "$out"
fi
if example "vspace sim example" "$B/vspace sim" "vspace sim run --policy vspace-e --qps 150k --duration 10 --csv run.csv"; then
	vs_abs=$(cd "$B" && pwd)/vspace
	(cd "$tmp" && "$vs_abs" sim run --policy vspace-e --qps 150k --duration 10 --csv run.csv >sim.out 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/run.csv")" -eq 101 ] && ok "vspace sim run example: 100 periods in run.csv" ||
		notok "vspace sim run example" "rc=$rc" "$(cat "$tmp/sim.out")"
fi
if example "vspaced example" "$B/vspaced" "vspaced -n -c tests/fixtures/synth-b/vspace.conf --sysroot tests/fixtures/synth-b/root"; then
	out=$("$B/vspaced" -n -c tests/fixtures/synth-b/vspace.conf --sysroot tests/fixtures/synth-b/root 2>&1)
	[ $? -eq 0 ] && grep -q 'is valid' <<<"$out" && ok "vspaced -n example" || notok "vspaced -n example" "$out"
fi
if example "vspaced fixture example" "$B/vspaced" "vspaced -c tests/fixtures/synth-b/vspace.conf --sysroot tests/fixtures/synth-b/root \\"; then
	cp -a tests/fixtures/synth-b/root "$tmp/root" # --once --dry-run writes nothing, but keep the fixture safe
	out=$("$B/vspaced" -c tests/fixtures/synth-b/vspace.conf --sysroot "$tmp/root" --dry-run --once 2>/dev/null)
	[ $? -eq 0 ] && grep -q '^policy vspace-r, 18 cores' <<<"$out" && ok "vspaced --dry-run --once example on synth-b" ||
		notok "vspaced --dry-run --once example" "$out"
fi
if example "vspace memnet replay example" "$B/vspace memnet replay" \
	"vspace memnet replay --slo-ms 200 --budget-mb 64 < examples/memnet/two-vms.csv"; then
	out=$("$B/vspace" memnet replay --slo-ms 200 --budget-mb 64 <examples/memnet/two-vms.csv)
	[ $? -eq 0 ] && [ "$out" = "$(cat tests/memnet/data/two-vms.b64.expected)" ] &&
		ok "vspace memnet replay example: the quotas of tests/memnet/data/README.md" ||
		notok "vspace memnet replay example" "$out"
fi

if example "vspace vf pool example" "$B/vspace vf pool" "vspace vf pool --pf ens1f0 --sysroot tests/fixtures/sriov-x710/root"; then
	out=$("$B/vspace" vf pool --pf ens1f0 --sysroot tests/fixtures/sriov-x710/root 2>&1)
	[ $? -eq 0 ] && grep -q '^PF ens1f0 (0000:3b:00.0): 4 of 64 VFs enabled' <<<"$out" &&
		grep -q '^1   0000:3b:02.1  vfio .* 52:54:00:56:00:02 .* 1204332' <<<"$out" &&
		ok "vspace vf pool example on the sriov-x710 fixture" || notok "vspace vf pool example" "$out"
fi
if example "vspace vf replay example" "$B/vspace vf replay" "vspace vf replay --strategy activity --vfs 2      # 1,b;c"; then
	out=$(printf 'interval,vm,pps\n1,a,10\n1,b,30\n1,c,20\n' | "$B/vspace" vf replay --strategy activity --vfs 2 | tail -1)
	[ "$out" = "1,b;c" ] && ok "vspace vf replay example: the grants shown" || notok "vspace vf replay example" "$out"
fi

# --- usage errors: exit 2, one message on stderr naming what was wrong, nothing on stdout ---
bad() { # name, expected fragment, command...
	local name=$1 frag=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	if [ $rc -eq 2 ] && [ ! -s "$tmp/out" ] && grep -qF -- "$frag" "$tmp/err"; then
		ok "$name"
	else
		notok "$name" "rc=$rc (want 2), want: $frag" "stderr: $(head -3 "$tmp/err")" "stdout: $(head -3 "$tmp/out")"
	fi
}
bad "vspace: no command" "vspace: missing COMMAND" "$B/vspace"
bad "vspace: unknown command" 'vspace: unknown command "frob"' "$B/vspace" frob
bad "vspace: unknown option" 'vspace: unknown option "--frob"' "$B/vspace" --frob
bad "vspace policies: an argument" 'vspace policies: unexpected argument "x"' "$B/vspace" policies x
bad "vspace replay: short option in a cluster is named, not the word before" \
	'vspace replay: unknown option "-x" (see vspace replay --help)' "$B/vspace" replay --cores 3 -xy
bad "vspace agent: no --connect" "vspace agent: --connect ADDR is required" "$B/vspace" agent hello
bad "vspace agent: no command" "vspace agent: missing COMMAND" "$B/vspace" agent -c unix:/nonexistent.sock
bad "vspace agent: unknown option" 'vspace agent: unknown option "--frob"' "$B/vspace" agent --frob hello
bad "vspace agent: option without its value" "vspace agent: -c needs a value" "$B/vspace" agent -c
bad "vspace agent: set_vcpus method" 'set_vcpus: method "fast" is not cpuset or hotplug' \
	"$B/vspace" agent -c unix:/nonexistent.sock set_vcpus 2 fast
bad "vspace agent: raw takes no arguments" "raw: takes no arguments" "$B/vspace" agent -c unix:/nonexistent.sock raw x
bad "vspace agent: raw with --repeat" "raw: not with --repeat" "$B/vspace" agent -c unix:/nonexistent.sock -r 2 raw
bad "vspace sim: no command" "vspace sim: missing COMMAND" "$B/vspace" sim
bad "vspace sim vf: unknown strategy" 'vspace sim vf: --strategy: unknown "best"' "$B/vspace" sim vf --strategy best
bad "vspace sim vf: bad group rate" 'vspace sim vf: --groups: "20q" is not a packet rate' "$B/vspace" sim vf --groups 20k,20q
bad "vspace sim vf: no VMs" 'vspace sim vf: --vms: "0" is not a whole number in [1,' "$B/vspace" sim vf --vms 0
bad "vspace sim vf: unknown option" 'vspace sim vf: unknown option "--frob"' "$B/vspace" sim vf --frob
bad "vspace vf: no command" "vspace vf: missing COMMAND" "$B/vspace" vf
bad "vspace vf: unknown command" 'vspace vf: unknown command "frob"' "$B/vspace" vf frob
bad "vspace vf pool: no --pf" "vspace vf pool: --pf is required" "$B/vspace" vf pool
bad "vspace vf plug: no target" "vspace vf plug: --id and one of --qmp SOCKET or --libvirt URI --domain NAME are required" "$B/vspace" vf plug --id vf0
bad "vspace vf plug: both targets" "are required" "$B/vspace" vf plug --id vf0 --qmp /x --libvirt test:///default --domain d
bad "vspace vf plug: bad MAC" 'vspace vf plug: MAC "52:54" is not aa:bb:cc:dd:ee:ff' "$B/vspace" vf plug --qmp /x --id vf0 --vf 0000:3b:02.1 --mac 52:54
bad "vspace vf plug: bad VF address" 'vspace vf plug: VF address "3b:02.1" is not a PCI address' "$B/vspace" vf plug --qmp /x --id vf0 --vf 3b:02.1 --mac 52:54:00:56:00:02
bad "vspace vf plug: stand-in without netdev" "a stand-in NIC (e1000e) needs the netdev behind it" "$B/vspace" vf plug --qmp /x --id vf0 --nic e1000e --mac 52:54:00:56:00:02
bad "vspace vf plug: id too long" "vspace vf plug: --id:" "$B/vspace" vf plug --qmp /x --id "$(printf 'v%.0s' $(seq 40))"
bad "vspace vf unplug: bad timeout" 'vspace vf unplug: --timeout-ms: "0" is not a whole number' "$B/vspace" vf unplug --qmp /x --id vf0 --timeout-ms 0
bad "vspace sim run: unknown option" 'vspace sim run: unknown option "--frob"' "$B/vspace" sim run --frob
bad "vspace sim run: option without its value" "vspace sim run: --qps needs a value" "$B/vspace" sim run --qps
bad "vspace sim colocate: no BE vCPUs" '--be-vcpus: "0" is not a whole number in [1,' "$B/vspace" sim colocate --be-vcpus 0
bad "vspace sim: unknown policy lists the simulator's own" 'demeter:NQ, es2, sriov)' \
	"$B/vspace" sim run --policy nope --qps 1k --duration 1
bad "vspaced: --period-ms below the configuration's range" '--period-ms: "5" is not a number of milliseconds in [10, 60000]' \
	"$B/vspaced" --period-ms 5 -n -c examples/vspace.conf
bad "vspaced: unknown option" 'vspaced: unknown option "--frob" (see vspaced --help)' "$B/vspaced" --frob
bad "vspacectl: no command" "vspacectl: missing COMMAND" "$B/vspacectl"
bad "vspacectl: unknown option" 'vspacectl: unknown option "-x"' "$B/vspacectl" -s /x.sock -xy status
bad "vspacectl: set what" 'vspacectl: set: unknown setting "frob" (mode, threshold, slo)' "$B/vspacectl" set frob 1
bad "vspacectl: vf grant without a workload" "vspacectl: usage: vf | vf grant|deny|auto WORKLOAD | vf decide" "$B/vspacectl" vf grant
bad "vspacectl: vf unknown" "vspacectl: usage: vf" "$B/vspacectl" vf steal web
bad "vspacectl: set threshold without a value" "set threshold WORKLOAD [vcpu=X] [nq=Y] (at least one of them)" \
	"$B/vspacectl" set threshold web
# -c: the control socket from vspaced's configuration (read alone: [host] control_socket)
printf '[host]\ncores=0-3\ncontrol_socket=rel.sock\n' >"$tmp/rel.conf"
printf '[host]\ncontrol_socket=off\n' >"$tmp/off.conf"
printf '[host]\ncores=0-3\n[threshold]\nvcpu=0.7\n[host]\ncontrol_socket=%s/v.sock\n' "$tmp" >"$tmp/v.conf"
bad "vspacectl -c: no such file" "vspacectl: /nonexistent-vsr.conf: No such file or directory" \
	"$B/vspacectl" -c /nonexistent-vsr.conf status
bad "vspacectl -c: a relative control_socket, with its line" \
	"vspacectl: $tmp/rel.conf:3: [host] control_socket: \"rel.sock\" is not an absolute path" \
	"$B/vspacectl" -c "$tmp/rel.conf" status
bad "vspacectl -c: control_socket=off" "vspacectl: $tmp/off.conf has control_socket=off" \
	"$B/vspacectl" -c "$tmp/off.conf" status
"$B/vspacectl" -c "$tmp/v.conf" --timeout 500 status >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
[ $rc -eq 1 ] && grep -qF "$tmp/v.sock" "$tmp/err" && ok "vspacectl -c: uses the configured socket" ||
	notok "vspacectl -c: uses the configured socket" "rc=$rc (want 1)" "stderr: $(head -3 "$tmp/err")"
bad "vspace-agent: no --listen" "vspace-agent: --listen ADDR is required" "$B/vspace-agent"
bad "vspace-agent: unknown option" 'vspace-agent: unknown option "--frob"' "$B/vspace-agent" --frob
bad "vspace memnet: no command" "vspace memnet: missing COMMAND" "$B/vspace" memnet
bad "vspace memnet create: unknown option" 'vspace memnet create: unknown option "--frob"' \
	"$B/vspace" memnet create /x --frob
bad "vspace memnet serve: option without its value" "vspace memnet serve: --listen needs a value" \
	"$B/vspace" memnet serve --listen
bad "vspace memnet replay: unknown option" 'vspace memnet replay: unknown option "--frob"' \
	"$B/vspace" memnet replay --frob
bad "vspace-agent memnet: unknown command" 'vspace-agent memnet: unknown command "frob"' \
	"$B/vspace-agent" memnet frob
bad "vspace-agent memnet put: unknown option" 'vspace-agent memnet put: unknown option "--frob"' \
	"$B/vspace-agent" memnet put --frob x y
bad "vspace-agent: --cgroup that is not one" "--cgroup /nonexistent-vsr: no writable cpuset.cpus" \
	"$B/vspace-agent" -l unix:"$tmp/a.sock" --cgroup /nonexistent-vsr
bad "vspace-agent: --sysroot that does not exist" "--sysroot /nonexistent-vsr: No such file or directory" \
	"$B/vspace-agent" -l unix:"$tmp/a.sock" --sysroot /nonexistent-vsr
bad "scripts/sim-plot: an option" 'sim-plot: unknown option "--frob"' scripts/sim-plot --frob
bad "scripts/sim-plot: not a directory" "sim-plot: /nonexistent-vsr is not a directory" scripts/sim-plot /nonexistent-vsr
bad "scripts/sim-plot: SLO not a number" 'sim-plot: SLO_US "fast" is not a number' scripts/sim-plot "$tmp" fast
bad "scripts/guest/build: an option" 'guest/build: unknown option "--frob"' scripts/guest/build --frob
scripts/sim-plot --help >"$tmp/out" 2>&1 && grep -q '^  scripts/sim-plot DIR \[SLO_US\]' "$tmp/out" &&
	ok "scripts/sim-plot --help" || notok "scripts/sim-plot --help" "$(cat "$tmp/out")"

echo "1..$n"
[ $fails -eq 0 ]
