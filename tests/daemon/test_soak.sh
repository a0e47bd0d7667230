#!/usr/bin/env bash
# test_soak.sh - the short version of scripts/soak (30 s, no guest): vspaced at a 10 ms period under memcached restarts, thread churn, control-socket crowds and kill -9 + restart, then an exact restore diff.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${VS_BUILD:-build}
case $B in /*) ;; *) B=$repo/$B ;; esac
skip_all() { echo "ok 1 - soak # SKIP $1"; echo "1..1"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip_all "needs root"
command -v memcached >/dev/null || skip_all "needs memcached"
[ -d /sys/fs/cgroup/cpuset ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || skip_all "needs a cpuset hierarchy"
out=$("$repo/scripts/soak" --build "$B" --minutes 0.5 --no-guest --kill-every 12 --restart-every 6 \
	--churn-per-s 20 --clients-every 3 2>&1)
rc=$?
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
grep -q '^restore diff: empty' <<<"$out" && ok "30 s soak: $(grep '^restore diff' <<<"$out")" ||
	notok "restore diff" "$(sed -n '/^restore diff/,$p' <<<"$out" | head -20)"
grep -q '2 kill -9 + restart' <<<"$out" && grep -q 'status failed 0' <<<"$out" &&
	ok "two kill -9 + restarts, every vspacectl status answered beside 20 idle clients" || notok "kills and clients" "$(head -1 <<<"$out")"
grep -q '^vspaced exits: clean' <<<"$out" && ok "every vspaced exit clean, nothing left unrestored" || notok "exits" "$out"
[ $rc -eq 0 ] && ok "soak exit 0" || notok "soak exit $rc" "$(tail -5 <<<"$out")"
sed 's/^/# /' <<<"$out"
echo "1..$n"
[ $fails -eq 0 ]
