#!/usr/bin/env bash
# test_replay.sh - `vspace replay`: hand-derived traces give exactly the §3 allocations; bad input exits 2 naming the line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
VS=${VS_BUILD:-build}/vspace
data=$here/data
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# --- traces whose expected output was derived by hand (see tests/cli/data/README) ---
golden() { # name, expected file, input file, args...
	local name=$1 expected=$2 input=$3
	shift 3
	local out
	out=$("$VS" replay "$@" <"$input" 2>&1)
	if [ "$out" = "$(cat "$expected")" ]; then
		ok "$name"
	else
		notok "$name" "got:" $out "expected:" $(cat "$expected")
	fi
}
golden "vspace-e on trace_a" "$data/trace_a.vspace-e.expected" "$data/trace_a.csv" --policy vspace-e --cores 20
golden "vspace-p on trace_a" "$data/trace_a.vspace-p.expected" "$data/trace_a.csv" --policy vspace-p --cores 20
golden "vspace-r on trace_a" "$data/trace_a.vspace-r.expected" "$data/trace_a.csv" --policy vspace-r --cores 20
golden "static-ts:20:20 on trace_a" "$data/trace_a.static-ts.expected" "$data/trace_a.csv" --policy static-ts:20:20 --cores 20
golden "static-iso:16:4 on trace_a" "$data/trace_a.static-iso.expected" "$data/trace_a.csv" --policy static-iso:16:4 --cores 20
golden "corenap on trace_a" "$data/trace_a.corenap.expected" "$data/trace_a.csv" --policy corenap --cores 20 --slo-us 1000
golden "demeter:1 on trace_a" "$data/trace_a.demeter.expected" "$data/trace_a.csv" --policy demeter:1 --cores 20
golden "exploration on trace_b (cut, then reward)" "$data/trace_b.explore.expected" "$data/trace_b.csv" \
	--policy vspace-e --cores 20 --explore --slo-us 1000 --window 2 --allow-violation 0

# reward capped at TH_MAX: min(0.95, 0.93 * 1.03) = 0.95; nq 0.8 * 1.03 = 0.824
out=$(printf 'busy_vcpu,busy_nq,p95_us\n1,1,100\n' | "$VS" replay --policy vspace-p --cores 4 \
	--explore --slo-us 1000 --window 1 --th-vcpu 0.93 | tail -1)
[ "$out" = "1,2,2,0,0.950000,0.824000" ] && ok "reward capped at th_max" || notok "reward capped at th_max" "$out"

# columns in another order, comments and blank lines, CRLF line ends
out=$(printf '# c\r\n\r\np95_us,busy_nq,busy_vcpu\r\n850,2.1,7.3\r\n' | "$VS" replay --policy vspace-e --cores 20 | tail -1)
[ "$out" = "1,10,3,0,0.800000,0.800000" ] && ok "column order, comments, CRLF" || notok "column order, comments, CRLF" "$out"

# header only: just the output header, exit 0
out=$(printf 'busy_vcpu,busy_nq,p95_us\n' | "$VS" replay --policy vspace-e --cores 20)
rc=$?
[ $rc -eq 0 ] && [ "$out" = "period,n_vcpu,n_nq,n_be,th_vcpu,th_nq" ] && ok "header only" || notok "header only" "rc=$rc" "$out"

# --explain adds the arithmetic
out=$(printf 'busy_vcpu,busy_nq\n7.3,2.1\n' | "$VS" replay --policy vspace-p --cores 20 --explain | tail -1)
case $out in *'n_v=round(20*'*) ok "--explain column" ;; *) notok "--explain column" "$out" ;; esac

# --help documents input and output
help=$("$VS" replay --help)
rc=$?
if [ $rc -eq 0 ] && grep -q 'busy_vcpu' <<<"$help" && grep -q 'period,n_vcpu,n_nq,n_be,th_vcpu,th_nq' <<<"$help" &&
	grep -q 'Exit status' <<<"$help"; then ok "--help documents input and output"; else notok "--help" "rc=$rc"; fi

# --- bad input: exit 2 and a message naming what and where ---
bad_input() { # name, expected message fragment, input, args...
	local name=$1 frag=$2 input=$3
	shift 3
	local err rc
	err=$(printf "$input" | "$VS" replay "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$frag" <<<"$err"; then
		ok "$name"
	else
		notok "$name" "rc=$rc (want 2)" "stderr: $err" "want: $frag"
	fi
}
E="--policy vspace-e --cores 20"
bad_input "not a number" 'stdin:3: busy_nq: "abc" is not a number' 'busy_vcpu,busy_nq,p95_us\n1,1,1\n7.3,abc,1\n' $E
bad_input "negative busy" 'stdin:2: busy_vcpu: "-1"' 'busy_vcpu,busy_nq,p95_us\n-1,2,3\n' $E
bad_input "too few fields" 'stdin:2: 2 fields, the header has 3' 'busy_vcpu,busy_nq,p95_us\n1,2\n' $E
bad_input "too many fields" 'stdin:2: 4 fields, the header has 3' 'busy_vcpu,busy_nq,p95_us\n1,2,3,4\n' $E
bad_input "bad p95" 'stdin:2: p95_us: "fast"' 'busy_vcpu,busy_nq,p95_us\n1,2,fast\n' $E
bad_input "nan" 'stdin:2: busy_vcpu: "nan"' 'busy_vcpu,busy_nq\nnan,1\n' $E
bad_input "unknown column" 'stdin:1: unknown column "cpu"' 'cpu,busy_nq\n1,2\n' $E
bad_input "duplicate column" 'stdin:1: column "busy_nq" appears twice' 'busy_vcpu,busy_nq,busy_nq\n' $E
bad_input "missing column" 'stdin:1: the header lacks column "busy_nq"' 'busy_vcpu,p95_us\n' $E
bad_input "line numbers count comments" 'stdin:4: busy_vcpu' '# a\nbusy_vcpu,busy_nq\n1,1\nx,1\n' $E
bad_input "no header" 'no header line' '' $E
bad_input "empty busy" 'stdin:2: busy_vcpu: ""' 'busy_vcpu,busy_nq\n,1\n' $E
bad_input "--cores 1" '--cores: "1" is not a whole number in [2,' '' --policy vspace-e --cores 1
bad_input "--cores x" '--cores: "x"' '' --policy vspace-e --cores x
bad_input "unknown policy" 'unknown policy "nope"' '' --policy nope --cores 20
bad_input "static-iso too big" 'static-iso:16:5 needs 21 cores, only 20' '' --policy static-iso:16:5 --cores 20
bad_input "static-ts without args" 'needs arguments: static-ts:NV:NQ' '' --policy static-ts --cores 20
bad_input "--window 0" '--window: "0"' '' $E --window 0
bad_input "--th-vcpu 1.5" '--th-vcpu: "1.5" is not a number' '' $E --th-vcpu 1.5
bad_input "--margin 0.5" '--margin: "0.5"' '' $E --margin 0.5
bad_input "unknown option" 'unknown option "--bogus"' '' $E --bogus
bad_input "missing value" '--policy needs a value' '' --cores 20 --policy
bad_input "missing --policy" '--policy and --cores are required' '' --cores 20
bad_input "--explore without SLO" '--explore needs --slo-us' '' $E --explore
bad_input "positional argument" 'unexpected argument "file.csv"' '' $E file.csv
bad_input "threshold above th_max while exploring" 'must lie in [th_min' '' $E --explore --slo-us 1000 --th-vcpu 0.99

long=$(head -c 5000 /dev/zero | tr '\0' '1')
bad_input "overlong line" 'stdin:2: line longer than 4096 bytes' "busy_vcpu,busy_nq\n$long\n" $E
# a NUL byte would cut the line short without a word (0.5 read, ",0.5" lost)
bad_input "NUL byte" 'stdin:3: a NUL byte in the line' 'busy_vcpu,busy_nq\n0.5,0.5\n0.5\0,0.5\n' $E

echo "1..$n"
[ $fails -eq 0 ]
