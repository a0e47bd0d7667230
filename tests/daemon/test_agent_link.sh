#!/usr/bin/env bash
# test_agent_link.sh - vspaced drives a guest agent: a stand-in agent (tests/daemon/fake-agent under
# socat, on a Unix socket) logs every request; vspaced runs on a copy of fixture synth-b (a 20-vCPU
# QEMU VM). Plan changes produce exactly the expected set_vcpus/set_vnq requests (clamped to the
# guest), a reconnect re-sends the desired state, refusals and timeouts show in status and metrics
# and are retried, an unreachable agent is logged once while placement goes on, exit asks for a
# restore, a dry run sends no set request, and bad agent= values are configuration errors.
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
command -v socat >/dev/null || { echo "ok 1 - agent link # SKIP needs socat"; echo "1..1"; exit 0; }

tmp=$(mktemp -d /tmp/vsw-link-XXXXXX)
dpid= spid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	stop_agent
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$repo"

wait_for() { # seconds, condition (evaluated each time)
	for _ in $(seq $(($1 * 20))); do eval "$2" && return 0; sleep 0.05; done
	return 1
}
json() { "$CTL" -s "$tmp/ctl.sock" status --json 2>/dev/null; }
link() { json | jq -c ".workloads[] | select(.name == \"vm\") | .agent_link${1:-}"; }
# the requests the agent received, but stats: "hello,set_vcpus 4,set_vnq eth0 3"
parse_sets() {
	sed -n -e 's/.*"cmd":"set_vcpus","args":{"n":\([0-9]*\).*/set_vcpus \1/p' \
		-e 's/.*"cmd":"set_vnq","args":{"ifname":"\([^"]*\)","n":\([0-9]*\)}.*/set_vnq \1 \2/p' \
		-e 's/.*"cmd":"\(hello\|restore\)".*/\1/p' | tr '\n' ',' | sed 's/,$//'
}
sets() { parse_sets <"$tmp/requests"; }
mark() { cat "$tmp/requests" 2>/dev/null | wc -l; }
sets_since() { tail -n +$(($1 + 1)) "$tmp/requests" | parse_sets; } # a mark
applied() { [ "$(link '| [.vcpus.applied, .queues.applied] | map(tostring) | join(" ")')" = "\"$1 $2\"" ]; }
start_agent() {
	socat UNIX-LISTEN:"$tmp/agent.sock",fork,unlink-early EXEC:"$here/fake-agent $tmp" 2>/dev/null &
	spid=$!
	wait_for 5 'test -S "$tmp/agent.sock"'
}
stop_agent() { # the listener, then its connections (fake-agent records their pids)
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	spid=
	for p in $(cat "$tmp/conn.pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
	rm -f "$tmp/agent.sock" "$tmp/conn.pids"
}

# --- configuration errors name file:line ---
bad() { # name, expected message, config text
	printf '%b' "$3" >"$tmp/bad.conf"
	out=$("$VSD" -n -c "$tmp/bad.conf" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$tmp/bad.conf:$2" <<<"$out"; then ok "$1: exit 2, names file:line"; else notok "$1" "rc=$rc" "$out"; fi
}
bad "agent=tcp with a host name" '5: [workload "vm"] agent: "tcp:localhost:7070": HOST must be a numeric' \
	'[host]\ncores=0-3\n[workload "vm"]\npid=1\nagent=tcp:localhost:7070\n'
bad "agent=serial: relative path" '4: [workload "vm"] agent: "serial:vm.agent": serial: needs an absolute path' \
	'[host]\ncores=0-3\n[workload "vm"]\nagent=serial:vm.agent\npid=1\n'
bad "agent= of unknown kind" '5: [workload "vm"] agent: "ftp:1" is not an agent address' \
	'[host]\ncores=0-3\n[workload "vm"]\npid=1\nagent=ftp:1\n'
bad "agent= on a best-effort workload" '8: [workload "b"] agent: only lc workloads have a guest agent' \
	'[host]\ncores=0-3\n[workload "a"]\npid=1\n[workload "b"]\nrole=be\npid=2\nagent=unix:/run/b.sock\n'
bad "guest_nic= not an interface name" '5: [workload "vm"] guest_nic:' \
	'[host]\ncores=0-3\n[workload "vm"]\npid=1\nguest_nic=a/b\n'

# --- vspaced with a fixed policy on a copy of synth-b, the fake agent on a Unix socket ---
cp -a tests/fixtures/synth-b/root "$tmp/root"
mport=$(tests/free-port) || mport=19492
cat >"$tmp/d.conf" <<CONF
[host]
cores=2-19
housekeeping=0-1
nic=ens1f0
policy=static-ts:6:3
period_ms=50
control_socket=$tmp/ctl.sock
metrics_listen=127.0.0.1:$mport
state_dir=$tmp/state
cgroup_parent=vsw-link
[workload "vm"]
role=lc
qemu_pidfile=/run/vm.pid
agent=unix:$tmp/agent.sock
CONF
"$VSD" -c "$tmp/d.conf" --sysroot "$tmp/root" >"$tmp/d.log" 2>&1 &
dpid=$!
# no agent yet: logged once, placement goes on
wait_for 10 'grep -q "agent unix:$tmp/agent.sock unreachable" "$tmp/d.log"' &&
	wait_for 5 'test "$(json | jq .daemon.periods)" -gt 5' &&
	ok "no agent at start: logged as unreachable, the periods go on" || notok "agent absent at start" "$(tail -3 "$tmp/d.log")"
start_agent || notok "fake agent listening"
if wait_for 10 'applied 4 3'; then
	ok "the agent appears: the plan (6 vCPUs, 3 queues) reaches it, vCPUs clamped to the guest's 4"
else
	notok "first plan" "$(link)" "$(tail -5 "$tmp/d.log")"
fi
s=$(sets)
[ "$s" = "hello,set_vcpus 4,set_vnq eth0 3" ] && ok "exactly: hello, set_vcpus 4, set_vnq eth0 3 (the multi-queue NIC from hello, not eth1)" ||
	notok "requests after start" "$s"
grep -q 'the plan asks for 6 vCPUs, the guest has 4: asking for 4' "$tmp/d.log" &&
	ok "the clamp is logged" || notok "clamp log" "$(grep agent "$tmp/d.log")"
wait_for 3 'test "$(link .stats.nics[0].queues)" = 3' &&
	ok "periodic stats reach status (guest eth0: 3 queues)" || notok "stats in status" "$(link .stats)"

m=$(mark)
"$CTL" -s "$tmp/ctl.sock" set mode static-ts:2:3 >/dev/null
wait_for 5 'applied 2 3'
sleep 0.3
s=$(sets_since "$m")
[ "$s" = "set_vcpus 2" ] && ok "plan 2 vCPUs, 3 queues: only set_vcpus 2 is sent" || notok "vcpus-only change" "$s"
m=$(mark)
"$CTL" -s "$tmp/ctl.sock" set mode static-ts:2:3 >/dev/null
sleep 0.5
s=$(sets_since "$m")
[ -z "$s" ] && ok "the same plan again: no request" || notok "unchanged plan" "$s"
"$CTL" -s "$tmp/ctl.sock" set mode static-ts:3:9 >/dev/null
wait_for 5 'applied 3 4'
s=$(sets_since "$m")
[ "$s" = "set_vcpus 3,set_vnq eth0 4" ] && ok "plan 3 vCPUs, 9 queues: set_vcpus 3, set_vnq eth0 4 (clamped to max_queues)" ||
	notok "both change" "$s"

# --- a dropped connection: the desired state is sent again after the hello ---
m=$(mark)
touch "$tmp/drop"
if wait_for 10 'test "$(link .connects)" = 2' && wait_for 5 'applied 3 4'; then
	s=$(sets_since "$m")
	[ "$s" = "hello,set_vcpus 3,set_vnq eth0 4" ] && ok "after a reconnect: hello, set_vcpus 3, set_vnq eth0 4" ||
		notok "re-sent after reconnect" "$s"
else
	notok "reconnect" "$(link)"
fi
[ "$(link .disconnects)" = 1 ] && grep -q 'agent unix:.*lost: agent closed the connection; reconnecting' "$tmp/d.log" &&
	ok "the lost connection is logged and counted" || notok "lost connection" "$(link .disconnects)"

# --- a refusal shows in status and is retried ---
touch "$tmp/refuse-set_vnq"
"$CTL" -s "$tmp/ctl.sock" set mode static-ts:3:2 >/dev/null
if wait_for 5 'test "$(link .replies.set_vnq.status)" = "\"refused\""'; then
	[ "$(link .replies.set_vnq.error)" = '"fake: set_vnq refused"' ] && [ "$(link .queues.applied)" = null ] &&
		ok "a refused set_vnq 2 shows in status --json (status, error; applied unknown)" || notok "refusal in status" "$(link .replies)"
else
	notok "refusal" "$(link .replies)"
fi
out=$("$CTL" -s "$tmp/ctl.sock" status)
grep -q '^  agent set_vnq 2: refused: fake: set_vnq refused' <<<"$out" &&
	grep -q "^  agent unix:$tmp/agent.sock: ready" <<<"$out" && ok "and in the status table" || notok "status table" "$out"
sleep 1.5 # at least one retry (after 1 s)
[ "$(grep -c 'set_vnq eth0 2 refused: fake: set_vnq refused' "$tmp/d.log")" -eq 1 ] &&
	[ "$(grep -c '"cmd":"set_vnq","args":{"ifname":"eth0","n":2}' "$tmp/requests")" -ge 2 ] &&
	ok "retried, and the repeated refusal is logged once" || notok "refusal retries" "$(grep -c 'n":2}' "$tmp/requests")" "$(grep refused "$tmp/d.log")"
rm -f "$tmp/refuse-set_vnq"
wait_for 5 'applied 3 2' && grep -q 'set_vnq eth0 2 done .* after an error' "$tmp/d.log" &&
	ok "once the agent accepts, the retry applies it" || notok "retry after refusal" "$(link .queues)"

# --- a request without an answer times out, shows in status, and is retried ---
touch "$tmp/mute-set_vcpus"
"$CTL" -s "$tmp/ctl.sock" set mode static-ts:1:2 >/dev/null
if wait_for 6 'test "$(link .replies.set_vcpus.status)" = "\"timeout\""'; then
	ok "an unanswered set_vcpus 1 times out (status: timeout)"
else
	notok "timeout" "$(link .replies)"
fi
rm -f "$tmp/mute-set_vcpus"
wait_for 6 'applied 1 2' && ok "retried after the timeout: applied" || notok "retry after timeout" "$(link .vcpus)"

# --- metrics ---
exec 3<>/dev/tcp/127.0.0.1/$mport
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
met=$(cat <&3)
exec 3<&-
grep -q '^vspace_agent_up{workload="vm"} 1$' <<<"$met" &&
	grep -q '^vspace_agent_requests_total{workload="vm",cmd="set_vnq",result="refused"} [1-9]' <<<"$met" &&
	grep -q '^vspace_agent_requests_total{workload="vm",cmd="set_vcpus",result="timeout"} [1-9]' <<<"$met" &&
	grep -q '^vspace_agent_disconnects_total{workload="vm"} 1$' <<<"$met" &&
	grep -q '^vspace_agent_guest_queues{workload="vm"} 2$' <<<"$met" &&
	grep -q '^vspace_agent_rtt_seconds_count{workload="vm"} [1-9]' <<<"$met" &&
	grep -q '^vspace_agent_guest_cpu_busy_seconds_total{workload="vm",vcpu="3"} 0.040$' <<<"$met" &&
	ok "metrics: up, requests by outcome, disconnects, guest queues, rtt, guest busy time" ||
	notok "metrics" "$(grep vspace_agent <<<"$met" | head -20)"
chk=$(sed '1,/^\r\{0,1\}$/d' <<<"$met" | /usr/bin/python3 "$here/promcheck.py" - 2>&1)
case $? in
0) ok "metrics with the agent families parse with prometheus_client ($(tail -1 <<<"$chk"))" ;;
77) ok "metrics format # SKIP $chk" ;;
*) notok "metrics format (prometheus_client)" "$chk" ;;
esac

# --- the agent goes away: logged once, placement goes on, found again ---
stop_agent
p0=$(json | jq .daemon.periods)
sleep 2.5
p1=$(json | jq .daemon.periods)
[ "$(link .state)" != '"ready"' ] && [ "$p1" -gt $((p0 + 20)) ] &&
	ok "agent gone: link not ready, periods go on ($p0 -> $p1)" || notok "agent gone" "$(link .state) $p0 $p1"
[ "$(grep -c 'agent unix:.*\(lost\|unreachable\)' "$tmp/d.log")" -eq 3 ] &&
	ok "each outage logged once, not at every reconnect attempt" ||
	notok "unreachable logging" "$(grep 'agent unix' "$tmp/d.log")"
"$CTL" -s "$tmp/ctl.sock" set mode static-ts:2:1 >/dev/null
m=$(mark)
start_agent
if wait_for 10 'applied 2 1'; then
	s=$(sets_since "$m")
	[ "$s" = "hello,set_vcpus 2,set_vnq eth0 1" ] && ok "agent back: the plan made meanwhile (2 vCPUs, 1 queue) is sent" ||
		notok "plan made while down" "$s"
else
	notok "agent back" "$(link)"
fi

# --- the guest drifts (an agent restarted inside it): sent again ---
echo 4 >"$tmp/queues"
wait_for 5 'grep -q "the guest reports 4 queues, the agent had confirmed 1: sending it again" "$tmp/d.log"' &&
	wait_for 5 'test "$(cat "$tmp/queues")" = 1' && ok "drift seen in stats: set_vnq 1 sent again" ||
	notok "drift" "$(cat "$tmp/queues")" "$(tail -3 "$tmp/d.log")"

# --- exit: the agent is asked to restore the guest ---
m=$(mark)
kill "$dpid"
wait "$dpid"
rc=$?
dpid=
s=$(sets_since "$m")
[ $rc -eq 0 ] && [ "$s" = restore ] && grep -q "agent restored the guest's settings" "$tmp/d.log" &&
	ok "SIGTERM: restore sent and confirmed, exit 0" || notok "restore at exit" "rc=$rc" "$s" "$(tail -3 "$tmp/d.log")"

# --- dry run: hello and stats, no set request ---
: >"$tmp/requests"
"$VSD" -c "$tmp/d.conf" --sysroot "$tmp/root" --dry-run >"$tmp/dry.log" 2>&1 &
dpid=$!
wait_for 10 'grep -q "\"cmd\":\"stats\"" "$tmp/requests"'
sleep 0.3
kill "$dpid"
wait "$dpid"
dpid=
s=$(sets)
[ "$s" = hello ] && grep -q 'dry-run: guest vm set_vcpus 6' "$tmp/dry.log" && grep -q 'dry-run: guest vm set_vnq (the agent.s NIC) 3' "$tmp/dry.log" &&
	ok "--dry-run: connects and reads stats, logs the set requests, sends none" || notok "dry run" "$s" "$(grep guest "$tmp/dry.log")"
stop_agent
echo "1..$n"
[ "$fails" -eq 0 ]
