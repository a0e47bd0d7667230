#!/usr/bin/env bash
# test_irqrate_cli.sh - `vspace sim irqrate`: the grid's CSV header and rows, the SVGs, the sweep and fan-out tables (short runs), bad arguments exit 2.
set -u
VS=${VS_BUILD:-build}/vspace
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
tmp=$(mktemp -d /tmp/vsi-simcli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
S="--duration 0.4 --warmup 0.2 --jobs 2"

out=$("$VS" sim irqrate grid --vms 1,16 --pkt-bytes 512,1472 --protos udp $S --csv "$tmp/g.csv" --svg "$tmp/g.svg" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "grid runs (3 policies x 2 VM counts x 2 sizes)" || notok "grid" "rc=$rc" "$out"
[ "$(head -1 "$tmp/g.csv")" = "policy,vms,pkt_bytes,proto,throughput_gbps,cpu_cores,loss_pct,int_per_s" ] &&
	ok "grid CSV header as the issue gives it" || notok "grid CSV header" "$(head -1 "$tmp/g.csv")"
[ "$(tail -n +2 "$tmp/g.csv" | wc -l)" -eq 12 ] && ok "grid CSV: 12 rows" || notok "grid rows" "$(cat "$tmp/g.csv")"
# every row: known policy, the VM counts and sizes asked for, numbers in range
bad=$(awk -F, 'NR > 1 && !(($1 == "fir" || $1 == "cgr" || $1 == "air") && ($2 == 1 || $2 == 16) &&
	($3 == 512 || $3 == 1472) && $4 == "udp" && $5 >= 0 && $5 <= 10 && $6 >= 0 && $6 <= 8 &&
	$7 >= 0 && $7 <= 100 && $8 >= 0)' "$tmp/g.csv")
[ -z "$bad" ] && ok "grid CSV rows in range" || notok "grid rows out of range" "$bad"
# CGR's bulk class at 1472 B: 4,000 interrupts/s per VF, FIR 8,000 (16 VMs, not saturated)
fir=$(awk -F, '$1 == "fir" && $2 == 16 && $3 == 1472 { print $8 }' "$tmp/g.csv")
cgr=$(awk -F, '$1 == "cgr" && $2 == 16 && $3 == 1472 { print $8 }' "$tmp/g.csv")
[ "$fir" = 128000 ] && [ "$cgr" = 64000 ] && ok "16 VMs, 1472 B: fir 128000 int/s, cgr 64000 (8000 and 4000 per VF)" ||
	notok "grid interrupt rates" "fir=$fir cgr=$cgr"
grep -q '</svg>' "$tmp/g.svg" && [ "$(grep -c '<polyline' "$tmp/g.svg")" -eq 12 ] &&
	ok "grid SVG: 4 panels x 3 policies" || notok "grid SVG" "$(grep -c '<polyline' "$tmp/g.svg")"

out=$("$VS" sim irqrate sweep --rates 250,8000,100000,0 --protos udp $S --csv "$tmp/s.csv" --svg "$tmp/s.svg")
rc=$?
[ $rc -eq 0 ] && [ "$(tail -n +2 "$tmp/s.csv" | wc -l)" -eq 4 ] && grep -q '</svg>' "$tmp/s.svg" &&
	ok "sweep: 4 rates, CSV and SVG" || notok "sweep" "rc=$rc" "$out"
grep -Eq '^udp +8000 +8\.858 +8\.858 ' <<<"$out" && ok "sweep table has the 8000 row" || notok "sweep table" "$out"

out=$("$VS" sim irqrate fanout --policies fir --pkt-bytes 512 --protos udp $S --csv "$tmp/f.csv")
rc=$?
off=$(awk -F, '$6 == "off" { print $7 }' "$tmp/f.csv") on=$(awk -F, '$6 == "on" { print $7 }' "$tmp/f.csv")
[ $rc -eq 0 ] && awk -v a="$off" -v b="$on" 'BEGIN { exit !(b > a) }' &&
	ok "fanout: 512 B UDP, 4 VMs x 2 vCPUs: throughput $off -> $on Gbit/s with fan-out" ||
	notok "fanout" "rc=$rc" "$out"

out=$("$VS" sim irqrate run --policy air --vms 4 --pkt-bytes 1472 $S)
[[ $out == "4 VMs x 1 vCPU, 1 flow(s) each, 1472 B UDP, air: "* ]] && ok "run: one line" || notok "run" "$out"

help=$("$VS" sim irqrate --help)
grep -q 'policy,vms,pkt_bytes,proto,throughput_gbps,cpu_cores,loss_pct,int_per_s' <<<"$help" &&
	grep -q 'Exit status' <<<"$help" && ok "--help documents the CSV and exit status" || notok "--help"

bad() { # name, fragment, args...
	local name=$1 frag=$2
	shift 2
	local err rc
	err=$("$VS" sim irqrate "$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc -eq 2 ] && grep -qF -- "$frag" <<<"$err" && ok "$name" || notok "$name" "rc=$rc" "$err"
}
bad "unknown scenario" 'unknown scenario "walk"' walk
bad "unknown policy" 'unknown policy "dyn"' grid --policies fir,dyn
bad "VM count out of range" '--vms: "65" is not a whole number in [1, 64]' grid --vms 1,65
bad "packet size out of range" '--pkt-bytes: "9000"' grid --pkt-bytes 9000
bad "protocol" '--protos: "sctp" is not udp or tcp' grid --protos sctp
bad "run needs a rate or policy" 'give --policy P or --rate I' run
bad "run-only option elsewhere" '--fanout are for run' grid --fanout
bad "warm-up not shorter" '--warmup must be shorter than --duration' sweep --duration 1 --warmup 1
bad "unknown option" 'unknown option "--bogus"' grid --bogus
bad "cost scale" '--int-cost-scale: "0" is not 0.1..10' grid --int-cost-scale 0

echo "1..$n"
[ "$fails" -eq 0 ]
