#!/usr/bin/env bash
# test_loadgen.sh - `vspace loadgen` against Debian's memcached and nginx on loopback: output, errors, search, interrupt.
set -u
here=$(cd "$(dirname "$0")" && pwd)
VS=${VS_BUILD:-build}/vspace
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# Ports reserved for the loadgen tests (19400-19429 belong to the lab/loadgen).
MC_PORT=19401 NGX_PORT=19402 DEAD_PORT=19403
tmp=$(mktemp -d /tmp/vsl-lgtest.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
wait_port() { # port
	for _ in $(seq 100); do port_busy "$1" && return 0; sleep 0.05; done
	return 1
}
jfield() { jq -r ".$2" <<<"$1"; }

# --- bad arguments: exit 2 and a message naming what was wrong ---
bad() { # name, expected fragment, args...
	local name=$1 frag=$2
	shift 2
	local out rc
	out=$("$VS" loadgen "$@" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$frag" <<<"$out"; then ok "bad args: $name"; else notok "bad args: $name" "rc=$rc" "$out"; fi
}
bad "no server" "--server HOST:PORT is required" --qps 10
bad "no qps" "--qps N is required" --server 127.0.0.1:1
bad "qps not a number" '--qps: "lots" is not a number' --server 127.0.0.1:1 --qps lots
bad "qps zero" '--qps: "0" is not a number in' --server 127.0.0.1:1 --qps 0
bad "server without port" '"localhost" is not HOST:PORT' --server localhost --qps 1
bad "port out of range" 'port "70000"' --server 127.0.0.1:70000 --qps 1
bad "unknown protocol" '--protocol: "redis" is not memcached or http' --protocol redis --server 127.0.0.1:1 --qps 1
bad "connections < threads" "--connections 2 is fewer than --threads 4" --server 127.0.0.1:1 --qps 1 --connections 2 --threads 4
bad "bad mix" '--mix: "30" is not GET:SET' --server 127.0.0.1:1 --qps 1 --mix 30
bad "bad report spec" '--report: "tcp:x" does not start with "unix:"' --server 127.0.0.1:1 --qps 1 --report tcp:x
bad "report without workload" "names no workload" --server 127.0.0.1:1 --qps 1 --report unix:/x.sock
bad "search without slo" "--search needs --slo-us" --server 127.0.0.1:1 --search
bad "path without slash" '--path: "index.html"' --protocol http --server 127.0.0.1:1 --qps 1 --path index.html
bad "unknown option" "unknown option \"--frobnicate\"" --server 127.0.0.1:1 --qps 1 --frobnicate
bad "missing value" "--duration needs a value" --server 127.0.0.1:1 --qps 1 --duration
bad "stray argument" 'unexpected argument "extra"' --server 127.0.0.1:1 --qps 1 extra
bad "timeline not writable" '--timeline: cannot write "/nonexistent/t.csv": No such file or directory' \
	--server 127.0.0.1:1 --qps 1 --timeline /nonexistent/t.csv

help=$("$VS" loadgen --help)
rc=$?
if [ $rc -eq 0 ] && grep -q -- '--report unix:SOCKET:WORKLOAD' <<<"$help" && grep -q 'Exit status' <<<"$help"; then
	ok "--help"
else
	notok "--help" "rc=$rc"
fi

# --- nothing listening: exit 1, says so ---
if port_busy $DEAD_PORT; then
	skip "connection refused" "port $DEAD_PORT in use"
else
	out=$("$VS" loadgen --server 127.0.0.1:$DEAD_PORT --qps 10 --duration 0.1 2>&1)
	rc=$?
	[ $rc -eq 1 ] && grep -q "cannot connect to 127.0.0.1:$DEAD_PORT: Connection refused" <<<"$out" &&
		ok "connection refused: exit 1 with the reason" || notok "connection refused" "rc=$rc" "$out"
fi
out=$("$VS" loadgen --server 127.0.0.1:$DEAD_PORT --qps 10 --report "unix:$tmp/none.sock:web" 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "cannot connect to $tmp/none.sock" <<<"$out" &&
	ok "report socket missing: exit 1 before any load" || notok "report socket missing" "rc=$rc" "$out"

out=$(ulimit -n 200 && "$VS" loadgen --server 127.0.0.1:$DEAD_PORT --qps 10 --connections 500 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "500 connections need 565 file descriptors; the limit is 200 (ulimit -n)" <<<"$out" &&
	ok "too many connections for the fd limit: exit 1, says so" || notok "fd limit" "rc=$rc" "$out"

have_jq=1
command -v jq >/dev/null || have_jq=0

# --- memcached (Debian's, our own instance) ---
if ! command -v memcached >/dev/null; then
	skip "memcached runs" "memcached not installed"
elif port_busy $MC_PORT; then
	notok "memcached port $MC_PORT is free" "something else listens there"
else
	memcached -p $MC_PORT -l 127.0.0.1 -U 0 -t 2 -m 64 -u "$(id -un)" >"$tmp/mc.log" 2>&1 &
	pids+=($!)
	if ! wait_port $MC_PORT; then
		notok "memcached started" "$(cat "$tmp/mc.log")"
	else
		# the lag limit is generous: this checks behaviour, not the machine's timing
		out=$("$VS" loadgen --server 127.0.0.1:$MC_PORT --qps 2000 --duration 1 --keys 2000 --json \
			--max-lag-us 100000 --timeline "$tmp/tl.csv" 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && [ $have_jq -eq 1 ]; then
			sent=$(jfield "$out" sent) completed=$(jfield "$out" completed) errors=$(jfield "$out" errors)
			hits=$(jfield "$out" hits) misses=$(jfield "$out" misses) p95=$(jfield "$out" p95_us)
			p50=$(jfield "$out" p50_us) p999=$(jfield "$out" p999_us)
			if [ "$sent" -gt 1500 ] && [ "$completed" = "$sent" ] && [ "$errors" = 0 ] &&
				[ "$misses" = 0 ] && [ "$hits" -gt 0 ] &&
				awk -v a="$p50" -v b="$p95" -v c="$p999" 'BEGIN { exit !(a > 0 && a <= b && b <= c) }'; then
				ok "memcached: every request answered, all GETs hit the loaded keys, p50 <= p95 <= p99.9"
			else
				notok "memcached json" "$out"
			fi
			for k in offered_qps achieved_qps p50_us p95_us p99_us p999_us errors p95_ci_us cpu_us_per_req; do
				[ "$(jq "has(\"$k\")" <<<"$out")" = true ] || { notok "json has $k" "$out"; continue 2; }
			done
			ok "json has the documented keys"
		else
			notok "memcached run" "rc=$rc" "$out"
		fi
		rows=$(tail -n +2 "$tmp/tl.csv" 2>/dev/null | wc -l)
		[ "$(head -1 "$tmp/tl.csv" 2>/dev/null)" = "t_s,replies,errors,p50_us,p95_us,p99_us" ] && [ "$rows" -ge 8 ] &&
			ok "--timeline: one row per 100 ms window ($rows)" || notok "--timeline" "rows=$rows"

		out=$("$VS" loadgen --server 127.0.0.1:$MC_PORT --qps 1000 --duration 0.5 --keys 500 --slo-us 100000 \
			--max-lag-us 100000 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && grep -q '^  p95 ' <<<"$out" && grep -q '^  p99.9 ' <<<"$out" &&
			grep -q 'slo      p95 within 100000 us' <<<"$out" && grep -q 'us per request' <<<"$out"; then
			ok "text output: percentiles with intervals, SLO verdict, CPU per request"
		else
			notok "text output" "rc=$rc" "$out"
		fi

		# search: a generous SLO passes up to --max-qps; an impossible one fails down to the floor
		out=$("$VS" loadgen --server 127.0.0.1:$MC_PORT --search --slo-us 200000 --qps 400 --max-qps 1600 \
			--duration 0.5 --keys 500 --max-lag-us 100000 2>&1)
		rc=$?
		[ $rc -eq 0 ] && grep -q 'result   1600 QPS is the highest rate with p95 <= 200000 us (--max-qps reached)' <<<"$out" &&
			[ "$(grep -c '^step' <<<"$out")" -eq 3 ] && ok "search: doubles up to --max-qps" ||
			notok "search up" "rc=$rc" "$out"
		out=$("$VS" loadgen --server 127.0.0.1:$MC_PORT --search --slo-us 0.5 --qps 80 --duration 0.2 \
			--no-load --max-lag-us 100000 2>&1)
		rc=$?
		[ $rc -eq 0 ] && grep -q 'result   no rate passed: p95 over SLO at 10 QPS' <<<"$out" &&
			ok "search: an impossible SLO halves down to the floor and says so" ||
			notok "search down" "rc=$rc" "$out"

		# SIGINT ends the run early: exit 130, partial figures marked
		"$VS" loadgen --server 127.0.0.1:$MC_PORT --qps 500 --duration 30 --no-load >"$tmp/int.out" 2>&1 &
		lg=$!
		sleep 0.7
		kill -INT $lg
		wait $lg
		rc=$?
		[ $rc -eq 130 ] && grep -q INTERRUPTED "$tmp/int.out" && ok "SIGINT: exit 130, output marked" ||
			notok "SIGINT" "rc=$rc" "$(cat "$tmp/int.out")"

		# SIGINT while the keys are still being loaded (3M SETs take seconds): stops at once
		"$VS" loadgen --server 127.0.0.1:$MC_PORT --qps 100 --duration 30 --keys 3000000 --value-max 10 \
			>"$tmp/int2.out" 2>&1 &
		lg=$!
		sleep 0.5
		t0=$(date +%s%N)
		kill -INT $lg
		wait $lg
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ $rc -eq 130 ] && grep -q "interrupted before the measured run started" "$tmp/int2.out" && [ $ms -lt 3000 ] &&
			ok "SIGINT during the key load: exit 130 within ${ms} ms" ||
			notok "SIGINT during the key load" "rc=$rc ms=$ms" "$(cat "$tmp/int2.out")"

		# memcached killed mid-run: errors and the reason, no hang
		"$VS" loadgen --server 127.0.0.1:$MC_PORT --qps 500 --duration 1.5 --no-load --json --drain-timeout 0.3 \
			--max-lag-us 100000 >"$tmp/kill.out" 2>&1 &
		lg=$!
		sleep 0.5
		kill "${pids[0]}"
		wait "${pids[0]}" 2>/dev/null
		wait $lg
		rc=$?
		out=$(cat "$tmp/kill.out")
		if [ $rc -eq 0 ] && [ $have_jq -eq 1 ] && [ "$(jfield "$out" errors)" -gt 0 ] &&
			[ "$(jfield "$out" timeouts)" -gt 0 ] && grep -q 'first_error' <<<"$out"; then
			ok "server dies mid-run: errors and timeouts counted, first error named"
		else
			notok "server dies mid-run" "rc=$rc" "$out"
		fi
	fi
fi

# --- nginx (Debian's binary, our own config and port) ---
if ! command -v nginx >/dev/null; then
	skip "nginx runs" "nginx not installed"
elif port_busy $NGX_PORT; then
	notok "nginx port $NGX_PORT is free" "something else listens there"
else
	mkdir -p "$tmp/www" "$tmp/ngxtmp"
	chmod 755 "$tmp" "$tmp/www" # nginx workers run unprivileged
	head -c 1024 /dev/zero | tr '\0' 'x' >"$tmp/www/1k.bin"
	cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
daemon off;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $tmp/ngxtmp; proxy_temp_path $tmp/ngxtmp; fastcgi_temp_path $tmp/ngxtmp;
	uwsgi_temp_path $tmp/ngxtmp; scgi_temp_path $tmp/ngxtmp;
	keepalive_requests 50;
	server { listen 127.0.0.1:$NGX_PORT; root $tmp/www; }
}
EOF
	nginx -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" >/dev/null 2>&1 &
	pids+=($!)
	if ! wait_port $NGX_PORT; then
		notok "nginx started" "$(cat "$tmp/nginx-error.log" 2>/dev/null)"
	else
		# keepalive_requests 50: nginx closes each connection after 50 replies; the
		# loadgen reconnects and loses nothing
		out=$("$VS" loadgen --protocol http --server 127.0.0.1:$NGX_PORT --path /1k.bin --qps 1500 \
			--duration 1 --connections 8 --json --max-lag-us 100000 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && [ $have_jq -eq 1 ] && [ "$(jfield "$out" completed)" = "$(jfield "$out" sent)" ] &&
			[ "$(jfield "$out" errors)" = 0 ] && [ "$(jfield "$out" reconnects)" -gt 0 ] &&
			[ "$(jfield "$out" sent)" -gt 1000 ]; then
			ok "http: keep-alive GETs all answered across server-side closes"
		else
			notok "http run" "rc=$rc" "$out"
		fi
		out=$("$VS" loadgen --protocol http --server 127.0.0.1:$NGX_PORT --path /missing --qps 200 \
			--duration 0.3 --json --max-lag-us 100000 2>&1)
		rc=$?
		[ $rc -eq 0 ] && [ "$(jfield "$out" errors)" -gt 0 ] && [ "$(jfield "$out" first_error)" = "HTTP status 404" ] &&
			ok "http: 404s are errors, named" || notok "http 404" "rc=$rc" "$out"
	fi
fi

echo "1..$n"
[ $fails -eq 0 ]
