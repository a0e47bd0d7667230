#!/usr/bin/env bash
# test_hybrid.sh - the short version of the MemNet hybrid experiment (scripts/memnet-hybrid --quick): the three
# configurations run, every result the clients fetch decompresses to its input, no stream errors, the cgroup is gone.
# It checks that the experiment works, not which configuration wins (that is reported in docs/BENCHMARKS.md).
set -u
B=${VS_BUILD:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
[ "$(id -u)" -eq 0 ] || { echo "ok 1 - hybrid experiment # SKIP needs root (cgroups)"; echo "1..1"; exit 0; }
for t in nginx jq curl xz; do
	command -v $t >/dev/null || { echo "ok 1 - hybrid experiment # SKIP $t not installed"; echo "1..1"; exit 0; }
done
out=$(mktemp -d /tmp/vsmn-hyb-test.XXXXXX)
trap 'rm -rf "$out"' EXIT
log=$("$root/scripts/memnet-hybrid" --build "$B" --quick --out "$out" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then ok "scripts/memnet-hybrid --quick runs (results byte-checked through the servers)"; else notok "memnet-hybrid --quick" "rc=$rc" "$log"; fi
rows=$(awk -F, 'NR > 1' "$out/hybrid.csv" 2>/dev/null)
[ "$(wc -l <<<"$rows")" -eq 3 ] && [ "$(cut -d, -f1 <<<"$rows" | sort | tr '\n' ' ')" = "alone in-cap memnet " ] &&
	ok "one row per configuration" || notok "rows" "$rows"
awk -F, '$1 != "alone" && ($8 != 0 || $4 <= 0 || $3 <= 0) { bad = 1 } END { exit bad }' <<<"$rows" &&
	ok "streams answered without errors while the job ran" || notok "stream errors" "$rows"
awk -F, '$1 == "memnet" && $10 > 0 { found = 1 } END { exit !found }' <<<"$rows" &&
	ok "memnet serve's CPU is measured outside the cap" || notok "serve CPU" "$rows"
grep -q "job in the cap + memnet serve outside" "$out/hybrid.md" && ok "the table is written" || notok "table" "$(cat "$out/hybrid.md")"
if command -v gnuplot >/dev/null; then
	grep -q "<svg" "$out/hybrid.svg" 2>/dev/null && ok "the SVG is written" || notok "svg" "$log"
fi
left=$(find /sys/fs/cgroup -maxdepth 2 -name 'vsmn-hyb*' 2>/dev/null)
[ -z "$left" ] && ok "its cgroups are removed" || notok "cgroups left" "$left"
echo "$log" | grep -A5 '^| configuration' | sed 's/^/# /'
echo "1..$n"
[ $fails -eq 0 ]
