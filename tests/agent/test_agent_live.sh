#!/usr/bin/env bash
# test_agent_live.sh - the real vspace-agent binary on a real kernel: a 4-queue veth in a test netns,
# driven by `vspace agent` over Unix and TCP sockets; bad requests; coalescing refused by veth; RPS
# fan-out; restore on SIGTERM.
#
# Needs root (netns, veth). Everything it creates is named vsa-* and removed on exit.
set -u
B=${VS_BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v ethtool >/dev/null; then
	echo "ok 1 - live agent test # SKIP needs root, ip and ethtool"
	echo "1..1"
	exit 0
fi

NS=vsa-live-$$
IF=vsa-e0
dir=$(mktemp -d /tmp/vsa-live-XXXXXX)
agent_pid= app_pid= tcp_pid=
cleanup() {
	for p in $agent_pid $tcp_pid $app_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

ip netns add "$NS" || { echo "not ok 1 - ip netns add"; echo 1..1; exit 1; }
ip -n "$NS" link add "$IF" numtxqueues 4 numrxqueues 4 type veth peer name vsa-p0 \
	numtxqueues 4 numrxqueues 4
ip -n "$NS" link set "$IF" up
ip -n "$NS" link set vsa-p0 up
nsx() { ip netns exec "$NS" "$@"; }
queues() { nsx ethtool -l "$IF" | awk '/^Current/ { c = 1 } c && /^RX:/ { print $2 }'; }
xps() { printf '%d' "0x$(nsx cat /sys/class/net/$IF/queues/tx-$1/xps_cpus | tr -d ',')"; }
affinity() { taskset -p "$1" | awk '{ print $NF }'; }

ncpu=$(nproc --all)
orig_xps0=$(xps 0) orig_xps1=$(xps 1)
sleep 600 &
app_pid=$!
orig_aff=$(affinity $app_pid)

sock=unix:$dir/agent.sock
# (not through the nsx function: $! must be the agent itself)
ip netns exec "$NS" "$B/vspace-agent" --listen "$sock" --pid "$app_pid" 2>"$dir/agent.log" &
agent_pid=$!
V() { "$B/vspace" agent -c "$sock" -t 3000 "$@"; }
for _ in $(seq 50); do [ -S "$dir/agent.sock" ] && break; sleep 0.1; done

out=$(V hello)
check "hello lists $IF with 4 queues" \
	'echo "$out" | tr -d " \n" | grep -q "\"name\":\"$IF\",\"queues\":4,\"max_queues\":4"'
check "hello reports the host's $ncpu vCPUs" 'echo "$out" | grep -q "\"vcpus\": $ncpu"'

V set_vnq "$IF" 2 >"$dir/out" 2>&1
check "set_vnq $IF 2: ethtool shows 2 queues" '[ "$(queues)" = 2 ]'
# active vCPUs 0..ncpu-1, 2 queues: tx-q gets the vCPUs j with j % 2 == q
want0=0 want1=0
for ((j = 0; j < ncpu; j++)); do
	if ((j % 2 == 0)); then want0=$((want0 | 1 << j)); else want1=$((want1 | 1 << j)); fi
done
((want1 == 0)) && want1=1
check "set_vnq: XPS tx-0=$want0 tx-1=$want1" '[ "$(xps 0)" = $want0 ] && [ "$(xps 1)" = $want1 ]'

V set_vcpus 1 >"$dir/out" 2>&1
check "set_vcpus 1: the application's threads run on vCPU 0 only" '[ "$(affinity $app_pid)" = 1 ]'
check "set_vcpus 1: both queues now transmit from vCPU 0" '[ "$(xps 0)" = 1 ] && [ "$(xps 1)" = 1 ]'

out=$(V stats "$IF")
check "stats reports 2 queues of $IF and per-vCPU busy time" \
	'echo "$out" | tr -d " \n" | grep -q "\"queues\":2" && echo "$out" | grep -q busy_ms'

# Bad requests on the wire: the table, plus bytes a text table cannot hold.
{
	grep -v '^#' "$here/data/bad_requests.tsv" | cut -f2- | sed "s/@IF@/$IF/g"
	printf '{"v":1,"id":1,"cmd":"hel\0lo"}\n'
	printf '{"v":1,"id":1,"cmd":"\xff"}\n'
	printf '{"v":1,"id":1,"cmd":"hello","pad":"%05000d"}\n' 0
} >"$dir/bad.in"
{
	grep -v '^#' "$here/data/bad_requests.tsv" | cut -f1 | sed "s/@IF@/$IF/g"
	echo "NUL byte"
	echo "not valid JSON"
	echo "exceeds the limit of 4096 bytes"
} >"$dir/bad.want"
"$B/vspace" agent -c "$sock" -t 3000 raw <"$dir/bad.in" >"$dir/bad.out" 2>&1
total=$(wc -l <"$dir/bad.want")
good=0
while IFS= read -r want && IFS= read -r got <&3; do
	got=${got//\\\"/\"} # the error text as JSON escapes it
	if [[ $got == *'"ok":false'* && $got == *"$want"* ]]; then
		good=$((good + 1))
	else
		echo "# expected \"$want\", got: $got"
	fi
done <"$dir/bad.want" 3<"$dir/bad.out"
check "$total bad requests over the socket each get their error reply ($good matched)" \
	'[ "$good" -eq "$total" ] && [ "$total" -ge 30 ]'
check "the agent keeps serving after them" 'V hello >/dev/null && kill -0 $agent_pid'
check "bad requests changed nothing: still 2 queues" '[ "$(queues)" = 2 ]'

# A fifth simultaneous client is turned away; the four others are unaffected.
holders=()
conns() { grep -c "peer connected" "$dir/agent.log"; }
before=$(conns)
for _ in 1 2 3 4; do
	sleep 4 | "$B/vspace" agent -c "$sock" -t 5000 raw >/dev/null 2>&1 &
	holders+=($!)
done
for _ in $(seq 50); do [ "$(conns)" -ge $((before + 4)) ] && break; sleep 0.1; done
out=$(V -t 700 hello 2>&1)
rc=$?
check "a 5th connection is refused (exit 1: $out)" '[ $rc -eq 1 ] && [[ $out == *"refused the connection: too many connections"* ]]'
check "the agent logged the refusal" 'grep -q "4 connections already" "$dir/agent.log"'
for p in "${holders[@]}"; do wait "$p"; done
check "after they leave, a new client is served" 'V hello >/dev/null'

# Round-trip times over the Unix socket (figures, not criteria; VS_AGENT_RTT_ROUNDS)
rounds=${VS_AGENT_RTT_ROUNDS:-200}
for cmd in hello stats "set_vnq $IF 2"; do
	# shellcheck disable=SC2086
	echo "# unix socket, $(V -r "$rounds" $cmd 2>&1)"
done
for ((i = 0; i < rounds / 2; i++)); do
	for q in 4 2; do
		out=$(V -r 1 set_vnq "$IF" $q 2>&1)
		[[ $out == *" min "* ]] || echo "# set_vnq $q failed: $out" >&2
		echo "$out" | sed -n 's/.* min \([0-9]*\) .*/\1/p'
	done
done | sort -n >"$dir/chg"
cnt=$(wc -l <"$dir/chg")
[ "$cnt" -gt 0 ] && echo "# unix socket, set_vnq changing 2<->4 queues of a veth, $cnt round trips:" \
	"rtt_us min $(sed -n 1p "$dir/chg") p50 $(sed -n "$(((cnt + 1) / 2))p" "$dir/chg")" \
	"p95 $(sed -n "$(((cnt * 95 + 99) / 100))p" "$dir/chg") max $(tail -1 "$dir/chg")"

# Interrupt coalescing: veth has none, one clear error and nothing changes
out=$(V get_coalesce "$IF" 2>&1)
rc=$?
check "get_coalesce on a veth: exit 1, \"not supported by its driver\"" \
	'[ $rc -eq 1 ] && [[ $out == *"interrupt coalescing is not supported by its driver"* ]]'
out=$(V set_coalesce "$IF" 125 2>&1)
rc=$?
check "set_coalesce on a veth: exit 1, the same reason" \
	'[ $rc -eq 1 ] && [[ $out == *"set_coalesce: $IF: interrupt coalescing is not supported"* ]]'

# Receive fan-out: RPS over the first n vCPUs with RFS flow counts, restored on exit
rps() { printf '%d' "0x$(nsx cat /sys/class/net/$IF/queues/rx-$1/rps_cpus | tr -d ',')"; }
flowcnt() { nsx cat /sys/class/net/$IF/queues/rx-$1/rps_flow_cnt; }
orig_rps=$(rps 1) orig_flow=$(flowcnt 1)
V set_vcpus "$ncpu" >/dev/null 2>&1
nrps=$((ncpu < 2 ? ncpu : 2))
V set_rps "$IF" "$nrps" >"$dir/out" 2>&1
check "set_rps $IF $nrps: both rx queues (2 channels) steer to vCPUs 0-$((nrps - 1)), RFS flow count 32768/2" \
	'[ "$(rps 0)" = $(((1 << nrps) - 1)) ] && [ "$(rps 1)" = $(((1 << nrps) - 1)) ] && [ "$(flowcnt 1)" = 16384 ]'

kill -TERM "$agent_pid"
wait "$agent_pid"
rc=$?
agent_pid=
check "agent exits 0 on SIGTERM" '[ $rc -eq 0 ]'
check "exit restored RPS and RFS ($orig_rps, $orig_flow)" '[ "$(rps 1)" = "$orig_rps" ] && [ "$(flowcnt 1)" = "$orig_flow" ]'
check "exit restored 4 queues" '[ "$(queues)" = 4 ]'
check "exit restored XPS ($orig_xps0, $orig_xps1)" \
	'[ "$(xps 0)" = "$orig_xps0" ] && [ "$(xps 1)" = "$orig_xps1" ]'
check "exit restored the application's affinity ($orig_aff)" '[ "$(affinity $app_pid)" = "$orig_aff" ]'
check "exit removed the socket" '[ ! -e "$dir/agent.sock" ]'

# --dry-run: answers, changes nothing
ip netns exec "$NS" "$B/vspace-agent" --listen "$sock" --dry-run 2>"$dir/dry.log" &
agent_pid=$!
for _ in $(seq 50); do [ -S "$dir/agent.sock" ] && break; sleep 0.1; done
out=$(V set_vnq "$IF" 1)
check "--dry-run: set_vnq answers ok and changes nothing" \
	'echo "$out" | grep -q "\"dry_run\": true" && [ "$(queues)" = 4 ]'
kill -TERM "$agent_pid"
wait "$agent_pid"
agent_pid=

# TCP transport (read-only commands, dry run, loopback; port reserved for vspace-agent tests)
"$B/vspace-agent" --listen tcp:127.0.0.1:19480 --dry-run -q &
tcp_pid=$!
out=$("$B/vspace" agent -c tcp:127.0.0.1:19480 -t 3000 hello)
check "tcp transport: hello" 'echo "$out" | grep -q "\"proto\": 1"'
kill -TERM "$tcp_pid"
wait "$tcp_pid"
tcp_pid=

# Usage errors name what is wrong.
out=$("$B/vspace-agent" 2>&1)
rc=$?
check "agent without --listen: exit 2, says so" '[ $rc -eq 2 ] && echo "$out" | grep -q "required"'
out=$("$B/vspace-agent" --listen tcp:localhost:1 2>&1)
rc=$?
check "agent --listen tcp:localhost:1: exit 2, numeric address required" \
	'[ $rc -eq 2 ] && echo "$out" | grep -q "numeric"'
out=$("$B/vspace-agent" --listen unix:$dir/x --cgroup /nonexistent/vsa 2>&1)
rc=$?
check "agent --cgroup without cpuset.cpus: exit 2 (a bad option), names it" \
	'[ $rc -eq 2 ] && echo "$out" | grep -q "/nonexistent/vsa"'
touch "$dir/plainfile"
out=$("$B/vspace-agent" --listen "unix:$dir/plainfile" 2>&1)
rc=$?
check "agent --listen on a non-socket file: exit 1, says so" \
	'[ $rc -eq 1 ] && echo "$out" | grep -q "exists and is not a socket"'
out=$("$B/vspace" agent -c bogus:x hello 2>&1)
rc=$?
check "vspace agent -c bogus:x: exit 2, unknown transport" '[ $rc -eq 2 ] && echo "$out" | grep -q "unknown transport"'
out=$("$B/vspace" agent -c unix:$dir/none.sock -t 300 hello 2>&1)
rc=$?
check "vspace agent to nobody: exit 1 within the timeout, names the error" \
	'[ $rc -eq 1 ] && echo "$out" | grep -q "no answer within 300 ms"'
out=$("$B/vspace" agent -c unix:$dir/none.sock set_vnq eth0 0 2>&1)
rc=$?
check "vspace agent set_vnq eth0 0: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "N in 1.."'

echo "1..$n"
[ "$failed" -eq 0 ]
