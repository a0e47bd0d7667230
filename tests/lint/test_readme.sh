#!/usr/bin/env bash
# test_readme.sh - the README shows what the programs print: make demo's first table, byte for byte (the simulator is deterministic).
set -u
B=${VS_BUILD:-build}
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
tmp=$(mktemp -d /tmp/vsr-readme-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# scripts/demo's first run, without --out (no files)
if ! grep -q '"$vs" sim dynamic --policies "$policies" --out "$out"$' scripts/demo ||
	! grep -q '^policies=vspace-p,vspace-e,static-ts:20:20$' scripts/demo; then
	notok "scripts/demo still runs the command this test repeats" "$(grep -n 'sim dynamic\|^policies=' scripts/demo)"
fi
"$B/vspace" sim dynamic --policies vspace-p,vspace-e,static-ts:20:20 >"$tmp/demo.txt" 2>&1
awk '/^p95 \(us\) per step/ { f = 1 } f { sub(/ +$/, ""); print } f && /^thresholds at the end/ { exit }' \
	"$tmp/demo.txt" >"$tmp/printed.txt"
awk '/^p95 \(us\) per step/ { f = 1 } f { print } f && /^thresholds at the end/ { exit }' README.md >"$tmp/readme.txt"
if [ -s "$tmp/readme.txt" ] && diff "$tmp/readme.txt" "$tmp/printed.txt" >"$tmp/diff"; then
	ok "README.md: the demo's first table is what vspace sim dynamic prints"
else
	notok "README.md: the demo's first table is what vspace sim dynamic prints" "$(cat "$tmp/diff")"
fi

echo "1..$n"
[ $fails -eq 0 ]
