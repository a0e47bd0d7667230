#!/usr/bin/env bash
# test_fixture_trees.sh - the stored synthetic tree is what the generator makes, and scripts/capture-fixture captures a tree vspaced can run on.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${VS_BUILD:-build}
case $B in /*) ;; *) B=$repo/$B ;; esac
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
tmp=$(mktemp -d /tmp/vsd-test-trees-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$repo"

tests/fixtures/gen-synthetic b "$tmp/b"
out=$(diff -r -x expected "$tmp/b" tests/fixtures/synth-b 2>&1)
[ -z "$out" ] && ok "tests/fixtures/synth-b is what gen-synthetic b makes" || notok "synth-b drifted from its generator" "$(head -5 <<<"$out")"
tests/fixtures/gen-synthetic x "$tmp/x" 2>/dev/null
[ $? -eq 2 ] && ok "gen-synthetic: bad kind refused" || notok "gen-synthetic x"

# capture this shell (a plain process) and run one dry-run period on the capture
sleep 30 &
spid=$!
out=$(scripts/capture-fixture --pid "$spid" --interval-ms 100 --out "$tmp/cap" cap 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -s "$tmp/cap/root/proc/stat" ] && [ -s "$tmp/cap/later/proc/stat" ] &&
	[ -s "$tmp/cap/root/proc/$spid/task/$spid/stat" ] && grep -q "pids: $spid" "$tmp/cap/capture.txt"; then
	ok "capture-fixture wrote root/, later/ and capture.txt"
else
	notok "capture-fixture" "rc=$rc" "$out"
fi
online=$(cat /sys/devices/system/cpu/online)
cat >"$tmp/cap.conf" <<CONF
[host]
cores=$online
control_socket=off
metrics_listen=off
[workload "sleeper"]
pid=$spid
CONF
out=$("$B/vspaced" -c "$tmp/cap.conf" --sysroot "$tmp/cap/root" --dry-run --once --period-ms 20 2>&1)
rc=$?
kill "$spid" 2>/dev/null
[ $rc -eq 0 ] && grep -q 'workload sleeper: vcpu cores' <<<"$out" && grep -q "dry-run: move thread $spid" <<<"$out" &&
	ok "vspaced runs a dry-run period on the captured tree" || notok "vspaced on the capture" "rc=$rc" "$(tail -5 <<<"$out")"
out=$(scripts/capture-fixture --pid 999999999 --out "$tmp/bad" bad 2>&1)
[ $? -ne 0 ] && grep -q 'no process 999999999' <<<"$out" && ok "capture-fixture: a missing pid is an error" || notok "missing pid" "$out"
scripts/capture-fixture --frob x >/dev/null 2>&1
[ $? -eq 2 ] && ok "capture-fixture: unknown option refused" || notok "unknown option"

echo "1..$n"
[ $fails -eq 0 ]
