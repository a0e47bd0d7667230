#!/usr/bin/env bash
# test_vf_replay.sh - `vspace vf replay`: hand-derived grants (tests/cli/data/README.md), exactly the top N for activity, equal shares over a cycle for fair, bad input exits 2 naming the line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
VS=${VS_BUILD:-build}/vspace
data=$here/data
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
tmp=$(mktemp -d /tmp/vsw-vfreplay-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

golden() { # name, expected file, args...
	local name=$1 expected=$2 out
	shift 2
	out=$("$VS" vf replay "$@" <"$data/vf_rates.csv" 2>&1)
	if [ "$out" = "$(cat "$expected")" ]; then ok "$name"; else notok "$name" "got:" $out "expected:" $(cat "$expected"); fi
}
golden "activity, N=2" "$data/vf_rates.activity.expected" --strategy activity --vfs 2
golden "activity, N=2, hysteresis 0.25" "$data/vf_rates.activity-h25.expected" --strategy activity --vfs 2 --hysteresis 0.25
golden "activity, N=2, min-hold 2" "$data/vf_rates.activity-hold2.expected" --strategy activity --vfs 2 --min-hold 2
golden "fair, N=2 (a VM absent, then back)" "$data/vf_rates.fair.expected" --strategy fair --vfs 2

# activity = exactly the N highest rates: 40 intervals of 9 VMs with distinct random rates,
# checked against sort(1) for N = 1..8
awk 'BEGIN { srand(7); print "interval,vm,pps"
	for (t = 1; t <= 40; t++) for (v = 0; v < 9; v++) printf "%d,vm%d,%d\n", t, v, t * 100000 + int(rand() * 90000) * 9 + v }' >"$tmp/rand.csv"
bad=0
for nv in 1 3 5 8; do
	"$VS" vf replay --strategy activity --vfs $nv <"$tmp/rand.csv" | tail -n +2 >"$tmp/got" || bad=1
	tail -n +2 "$tmp/rand.csv" | sort -t, -k1,1n -k3,3nr | awk -F, -v n=$nv '
		$1 != t { if (t) print t "," s; t = $1; k = 0; s = "" }
		{ if (k++ < n) names[t, k] = $2 }
		k == n { m = ""; for (i = 1; i <= n; i++) m = m " " names[t, i]; s = m }
		END { print t "," s }' | while IFS=, read -r t s; do
		echo "$t,$(tr ' ' '\n' <<<"$s" | grep . | sort | paste -sd';')"
	done >"$tmp/want"
	cmp -s "$tmp/got" "$tmp/want" || { bad=1; diff "$tmp/got" "$tmp/want" | head -5 | sed 's/^/# /'; }
done
[ $bad -eq 0 ] && ok "activity gives exactly the top N by rate (N = 1, 3, 5, 8; 40 intervals)" || notok "activity top N"

# fair: 7 VMs, 3 VFs, 21 intervals (3 cycles): every VM holds a VF for exactly 9 intervals,
# and after every interval t each has held floor(3t/7) or ceil(3t/7)
awk 'BEGIN { srand(3); print "interval,vm,pps"
	for (t = 1; t <= 21; t++) for (v = 0; v < 7; v++) printf "%d,vm%d,%d\n", t, v, int(rand() * 1e6) }' >"$tmp/fair.csv"
"$VS" vf replay --strategy fair --vfs 3 <"$tmp/fair.csv" | tail -n +2 | awk -F, '
	{ n = split($2, g, ";"); if (n != 3) bad = 1
	  for (i = 1; i <= n; i++) c[g[i]]++
	  for (v = 0; v < 7; v++) { x = c["vm" v] + 0; if (x < int(3 * $1 / 7) || x > int((3 * $1 + 6) / 7)) bad = 1 } }
	END { for (v = 0; v < 7; v++) if (c["vm" v] != 9) bad = 1; exit bad }' &&
	ok "fair: 7 VMs, 3 VFs, 21 intervals: 9 intervals each, +-1 at every step" || notok "fair equal shares"
# and with a minimum hold of 2: grants last 2 intervals; shares stay within one hold
"$VS" vf replay --strategy fair --vfs 3 --min-hold 2 <"$tmp/fair.csv" | tail -n +2 | awk -F, '
	{ n = split($2, g, ";"); if (n != 3) bad = 1; for (i = 1; i <= n; i++) c[g[i]]++ }
	END { lo = 99; hi = 0; for (v = 0; v < 7; v++) { x = c["vm" v] + 0; lo = x < lo ? x : lo; hi = x > hi ? x : hi } exit bad || hi - lo > 2 }' &&
	ok "fair with --min-hold 2: shares within one hold of each other" || notok "fair min-hold shares"

# hysteresis stops flapping: two VMs whose rates alternate by 10 %
awk 'BEGIN { print "interval,vm,pps"; for (t = 1; t <= 10; t++) { a = t % 2 ? 1000 : 1100; printf "%d,a,%d\n%d,b,%d\n", t, a, t, 2100 - a } }' >"$tmp/flap.csv"
c0=$("$VS" vf replay --strategy activity --vfs 1 <"$tmp/flap.csv" | tail -n +2 | cut -d, -f2 | uniq | wc -l)
c1=$("$VS" vf replay --strategy activity --vfs 1 --hysteresis 0.2 <"$tmp/flap.csv" | tail -n +2 | cut -d, -f2 | uniq | wc -l)
[ "$c0" -eq 10 ] && [ "$c1" -eq 1 ] && ok "rates alternating by 10%: 10 owners without hysteresis, 1 with 0.2" ||
	notok "hysteresis stops flapping" "owners: $c0 without, $c1 with"

out=$(printf 'interval,vm,pps\n1,a,5\n1,b,7\n' | "$VS" vf replay --strategy activity --vfs 1 --explain | tail -1)
[ "$out" = '1,b,"a: no VF: rank 2 of 2 by packet rate (5 pkt/s), 1 VF; b: gets a free VF: rank 1 of 2 by packet rate (7 pkt/s)"' ] &&
	ok "--explain says why" || notok "--explain" "$out"
out=$(printf '# c\r\n\r\npps,interval,vm\r\n5,1,a\r\n' | "$VS" vf replay --strategy fair --vfs 0)
[ "$out" = "$(printf 'interval,granted\n1,')" ] && ok "columns in any order, comments, CRLF, 0 VFs" || notok "column order" "$out"
help=$("$VS" vf replay --help)
grep -q 'interval,vm,pps' <<<"$help" && grep -q 'interval,granted' <<<"$help" && grep -q 'Exit status' <<<"$help" &&
	ok "--help documents input and output" || notok "--help"

bad_input() { # name, expected message fragment, input, args...
	local name=$1 frag=$2 input=$3 err rc
	shift 3
	err=$(printf "$input" | "$VS" vf replay "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$frag" <<<"$err"; then ok "$name"; else notok "$name" "rc=$rc (want 2)" "stderr: $err" "want: $frag"; fi
}
A="--strategy activity --vfs 2"
H='interval,vm,pps\n'
bad_input "rate not a number" 'stdin:3: pps: "fast" is not a number' "${H}1,a,1\n1,b,fast\n" $A
bad_input "negative rate" 'stdin:2: pps: "-5"' "${H}1,a,-5\n" $A
bad_input "bad interval" 'stdin:2: interval: "1.5" is not a whole number' "${H}1.5,a,1\n" $A
bad_input "bad vm name" 'stdin:2: vm: "a b" is not a name' "${H}1,a b,1\n" $A
bad_input "empty vm" 'stdin:2: vm: "" is not a name' "${H}1,,1\n" $A
bad_input "too few fields" 'stdin:2: 2 fields, expected 3' "${H}1,a\n" $A
bad_input "too many fields" 'stdin:2: more than 3 fields' "${H}1,a,1,2\n" $A
bad_input "interval goes back" 'stdin:4: interval 1 after 2' "${H}1,a,1\n2,a,1\n1,b,1\n" $A
bad_input "vm twice in an interval" 'stdin:3: vm a appears twice in interval 1' "${H}1,a,1\n1,a,2\n" $A
bad_input "unknown column" 'stdin:1: unknown column "rate"' 'interval,vm,rate\n' $A
bad_input "header lacks a column" 'stdin:1: the header must name the 3 columns' 'interval,vm\n' $A
bad_input "duplicate column" 'stdin:1: column "vm" appears twice' 'interval,vm,vm\n' $A
bad_input "no header" 'no header line' '' $A
bad_input "line numbers count comments" 'stdin:3: pps' "# x\n${H}1,a,x\n" $A
bad_input "unknown strategy" '--strategy: unknown "busiest"' '' --strategy busiest --vfs 2
bad_input "--vfs missing" '--strategy and --vfs are required' '' --strategy fair
bad_input "--vfs -1" '--vfs: "-1" is not a whole number' '' --strategy fair --vfs -1
bad_input "--hysteresis x" '--hysteresis: "x" is not a number' '' $A --hysteresis x
bad_input "--min-hold 0" '--min-hold: "0" is not a whole number in [1,' '' $A --min-hold 0
bad_input "unknown option" 'unknown option "--bogus"' '' $A --bogus
bad_input "positional argument" 'unexpected argument "x.csv"' '' $A x.csv
long=$(head -c 600 /dev/zero | tr '\0' '1')
bad_input "overlong line" 'stdin:2: line longer than 512 bytes' "${H}$long\n" $A
err=$(printf 'interval,vm,pps\n1,a\0b,1\n' | "$VS" vf replay $A 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] && grep -qF 'stdin:2: a NUL byte' <<<"$err" && ok "NUL byte" || notok "NUL byte" "rc=$rc $err"
awk 'BEGIN { print "interval,vm,pps"; for (v = 0; v < 1025; v++) printf "1,vm%d,1\n", v }' >"$tmp/many.csv"
err=$("$VS" vf replay $A <"$tmp/many.csv" 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] && grep -qF 'stdin:1026: more than 1024 VMs' <<<"$err" && ok "more than 1024 VMs" || notok "too many VMs" "rc=$rc $err"

echo "1..$n"
[ $fails -eq 0 ]
