#!/usr/bin/env bash
# test_irq_replay.sh - `vspace irq replay`: hand-derived traces give exactly SPEC §7.1's rates (every CGR boundary, AIR's clamp and hysteresis); bad input exits 2 naming the line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
VS=${VS_BUILD:-build}/vspace
data=$here/data
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# --- traces whose expected output was derived by hand (tests/cli/data/README.md) ---
golden() { # name, expected file, input file, args...
	local name=$1 expected=$2 input=$3
	shift 3
	local out
	out=$("$VS" irq replay "$@" <"$input" 2>&1)
	if [ "$out" = "$(cat "$expected")" ]; then
		ok "$name"
	else
		notok "$name" "got:" $out "expected:" $(cat "$expected")
	fi
}
golden "cgr on every class boundary (1200, 300, 64 B, 20,000 pkt/s, idle)" \
	"$data/irq_cgr.expected" "$data/irq_cgr.csv" --policy cgr
golden "air: first decision, hysteresis hold below 1000 and apply at exactly 1000, clamp to Ihat, floor" \
	"$data/irq_air.expected" "$data/irq_air.csv" --policy air

row() { # args... ; stdin: CSV rows after the header -> the last output line
	{ echo packets,bytes,interrupts,busy_cores; cat; } | "$VS" irq replay "$@" | tail -1
}
# fir: the same rate whatever the traffic; --fir-rate
out=$(printf '1000,64000,10,0.1\n0,0,0,0\n' | row --policy fir)
[ "$out" = "2,8000.0,125" ] && ok "fir: 8000 int/s, rx-usecs 125" || notok "fir default" "$out"
out=$(printf '1000,64000,10,0.1\n' | row --policy fir --fir-rate 2000)
[ "$out" = "1,2000.0,500" ] && ok "fir --fir-rate 2000: rx-usecs 500" || notok "fir --fir-rate" "$out"

# air: the clamp follows the model's parameters.
# Ihat = 2 cores * 1e9 / (1000 * 16 + 4000) = 100000; P = 1e6 -> 1e6/16 + 1000 = 63500 (inside)
out=$(printf '100000,6400000,0,1\n' | row --policy air --k 16 --c-pkt-ns 1000 --c-int-ns 4000 --capacity-cores 2)
[ "$out" = "1,63500.0,16" ] && ok "air: Ihat from --k/--c-pkt-ns/--c-int-ns/--capacity-cores (63500 inside 100000)" ||
	notok "air params" "$out"
# the same with 1 core: Ihat = 50000 clamps it
out=$(printf '100000,6400000,0,1\n' | row --policy air --k 16 --c-pkt-ns 1000 --c-int-ns 4000 --capacity-cores 1)
[ "$out" = "1,50000.0,20" ] && ok "air: 1 core halves Ihat to 50000, which clamps" || notok "air clamp" "$out"
# floor: offset 0, P = 16000 -> 500 -> I_min 1000; --min 2500 -> 2500
out=$(printf '1600,160000,0,0.1\n' | row --policy air --offset 0)
[ "$out" = "1,1000.0,1000" ] && ok "air: below I_min -> 1000" || notok "air floor" "$out"
out=$(printf '1600,160000,0,0.1\n' | row --policy air --offset 0 --min 2500)
[ "$out" = "1,2500.0,400" ] && ok "air --min 2500" || notok "air --min" "$out"
# hysteresis just below the threshold holds, with --initial-rate
out=$(printf '10000,15000000,0,1\n' | row --policy air --initial-rate 4000 --hysteresis 125.1)
[ "$out" = "1,4000.0,250" ] && ok "air: |4125 - 4000| = 125 < 125.1 holds the initial rate" ||
	notok "air hysteresis below" "$out"
out=$(printf '10000,15000000,0,1\n' | row --policy air --initial-rate 4000 --hysteresis 125)
[ "$out" = "1,4125.0,242" ] && ok "air: |4125 - 4000| = 125 >= 125 applies" || notok "air hysteresis at" "$out"
# --period-ms: the same counts over 1 s are a tenth of the rate: P = 10000 -> 312.5 + 1000
out=$(printf '10000,15000000,0,1\n' | row --policy air --period-ms 1000)
[ "$out" = "1,1312.5,762" ] && ok "air --period-ms 1000" || notok "air --period-ms" "$out"

# column order, comments, CRLF, --explain
out=$(printf '# c\r\n\r\nbusy_cores,interrupts,bytes,packets\r\n0.3,10,1500000,1000\r\n' |
	"$VS" irq replay --policy cgr --explain | tail -1)
case $out in
'1,4000.0,250,"cgr: mean 1500.0 B, 10000 pkt/s -> full-bulk 4000 int/s"') ok "column order, CRLF, --explain" ;;
*) notok "column order, CRLF, --explain" "$out" ;;
esac
out=$(printf 'packets,bytes,interrupts,busy_cores\n100000,150000000,0,1\n' |
	"$VS" irq replay --policy air --explain --k 16 | tail -1)
case $out in *'(clamped to Ihat)'*) ok "--explain names AIR's clamp" ;; *) notok "--explain air" "$out" ;; esac

out=$(printf 'packets,bytes,interrupts,busy_cores\n' | "$VS" irq replay --policy cgr)
[ "$out" = "period,rate_per_s,rx_usecs" ] && ok "header only" || notok "header only" "$out"
help=$("$VS" irq replay --help)
if grep -q 'packets,bytes,interrupts,busy_cores' <<<"$help" && grep -q 'period,rate_per_s,rx_usecs' <<<"$help" &&
	grep -q 'Exit status' <<<"$help"; then ok "--help documents input and output"; else notok "--help"; fi

# --- bad input: exit 2 and a message naming what and where ---
bad_input() { # name, expected message fragment, input, args...
	local name=$1 frag=$2 input=$3
	shift 3
	local err rc
	err=$(printf "$input" | "$VS" irq replay "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$frag" <<<"$err"; then
		ok "$name"
	else
		notok "$name" "rc=$rc (want 2)" "stderr: $err" "want: $frag"
	fi
}
H='packets,bytes,interrupts,busy_cores\n'
C="--policy cgr"
bad_input "not a number" 'stdin:3: bytes: "12x" is not a whole number' "${H}1,64,1,0\n1,12x,1,0\n" $C
bad_input "negative count" 'stdin:2: packets: "-1"' "${H}-1,64,1,0\n" $C
bad_input "fractional count" 'stdin:2: interrupts: "1.5"' "${H}1,64,1.5,0\n" $C
bad_input "busy not a number" 'stdin:2: busy_cores: "high"' "${H}1,64,1,high\n" $C
bad_input "busy negative" 'stdin:2: busy_cores: "-0.1"' "${H}1,64,1,-0.1\n" $C
bad_input "nan busy" 'stdin:2: busy_cores: "nan"' "${H}1,64,1,nan\n" $C
bad_input "bytes without packets" 'stdin:2: 64 bytes in 0 packets' "${H}0,64,1,0\n" $C
bad_input "too few fields" 'stdin:2: 3 fields, the header has 4' "${H}1,64,1\n" $C
bad_input "too many fields" 'stdin:2: 5 fields, the header has 4' "${H}1,64,1,0,9\n" $C
bad_input "empty field" 'stdin:2: packets: "" is not a whole number' "${H},64,1,0\n" $C
bad_input "unknown column" 'stdin:1: unknown column "pkts"' 'pkts,bytes,interrupts,busy_cores\n' $C
bad_input "missing column" 'stdin:1: the header lacks column "busy_cores"' 'packets,bytes,interrupts\n' $C
bad_input "duplicate column" 'stdin:1: column "bytes" appears twice' 'packets,bytes,bytes,busy_cores\n' $C
bad_input "line numbers count comments" 'stdin:4: packets' "# a\n${H}1,64,1,0\nx,1,1,0\n" $C
bad_input "no header" 'no header line' '# only a comment\n' $C
bad_input "missing --policy" '--policy is required' "$H" --k 4
bad_input "unknown policy" 'unknown policy "dyn"' "$H" --policy dyn
bad_input "bad --k" '--k: "0" is not a number in [1, 1e+06]' "$H" --policy air --k 0
bad_input "bad --c-int-ns" '--c-int-ns: "-5"' "$H" --policy air --c-int-ns -5
bad_input "bad --hysteresis" '--hysteresis: "x"' "$H" --policy air --hysteresis x
bad_input "unknown option" 'unknown option "--bogus"' "$H" --policy air --bogus
bad_input "stray argument" 'unexpected argument "file.csv"' "$H" --policy air file.csv
long=$(printf '%05000d' 0)
bad_input "line too long" 'stdin:2: line longer than 4096 bytes' "${H}${long}\n" $C
bad_input "NUL byte" 'stdin:2: a NUL byte in the line' "${H}1,64,1,0\0junk\n" $C

echo "1..$n"
[ "$fails" -eq 0 ]
