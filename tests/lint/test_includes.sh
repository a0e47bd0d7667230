#!/usr/bin/env bash
# test_includes.sh - every #include in src/ against tests/lint/include-matrix.txt (layers point down), and the libraries' link order against it.
#
#   tests/lint/test_includes.sh [MATRIX]     (default tests/lint/include-matrix.txt)
set -u
cd "$(dirname "$0")/../.."
matrix=${1:-tests/lint/include-matrix.txt}
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

declare -A allow order
folders=()
lineno=0 bad=()
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=${line%%#*}
	[ -z "${line//[[:space:]]/}" ] && continue
	if [[ ! $line =~ ^([a-z0-9_/]+):(.*)$ ]]; then
		bad+=("$matrix:$lineno: not FOLDER: ALLOWED...")
		continue
	fi
	f=${BASH_REMATCH[1]}
	if [ -n "${order[$f]+x}" ]; then
		bad+=("$matrix:$lineno: $f has a line already")
		continue
	fi
	order[$f]=${#folders[@]}
	folders+=("$f")
	allow[$f]=$(echo ${BASH_REMATCH[2]})
done <"$matrix"

# the matrix: every entry a folder above it in the file (so no cycle) or an
# existing header of one; every folder of src/ with a line, every line a folder
for f in "${folders[@]}"; do
	[ -d "src/$f" ] || bad+=("$f: no folder src/$f")
	for a in ${allow[$f]}; do
		base=$a
		case $a in *.h)
			base=${a%/*}
			[ -f "src/$a" ] || bad+=("$f: $a: no such header")
			;;
		esac
		if [ -z "${order[$base]+x}" ]; then
			bad+=("$f: $a: $base has no line")
		elif [ "${order[$base]}" -ge "${order[$f]}" ]; then
			bad+=("$f: $a: $base is not above $f in the file (a cycle, or out of order)")
		fi
	done
done
while IFS= read -r d; do
	d=${d#src/}
	[ -n "${order[$d]+x}" ] || bad+=("src/$d: no line (add one: $d: FOLDERS IT MAY INCLUDE)")
done < <(find src -name '*.[ch]' -printf '%h\n' | sort -u)
if [ ${#bad[@]} -eq 0 ]; then
	ok "$matrix: one line per folder of src/, each naming only folders above it"
else
	notok "$matrix is not a layering of src/" "${bad[@]}"
fi

# every include
for f in "${folders[@]}"; do
	[ -d "src/$f" ] || continue
	bad=()
	while IFS=: read -r file ln inc; do
		inc=${inc#*\"}
		inc=${inc%%\"*}
		dir=${inc%/*}
		if [ "$dir" = "$inc" ]; then
			bad+=("$file:$ln: \"$inc\": name the folder (\"$f/$inc\")")
			continue
		fi
		[ "$dir" = "$f" ] && continue
		okay=0
		for a in ${allow[$f]}; do
			[ "$a" = "$dir" ] || [ "$a" = "$inc" ] && okay=1
		done
		[ $okay -eq 1 ] ||
			bad+=("$file:$ln: includes \"$inc\": src/$f may include ${allow[$f]:-only its own headers} ($matrix)")
	done < <(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' src/"$f"/*.[ch] 2>/dev/null)
	if [ ${#bad[@]} -eq 0 ]; then
		ok "src/$f includes only its own headers${allow[$f]:+ and }${allow[$f]}"
	else
		notok "src/$f: includes outside its layers" "${bad[@]}"
	fi
done

# the libraries, linked top down, must list a folder's library before the
# libraries of what it includes (else a static link misses symbols)
libs=$(make --no-print-directory -s print-libraries 2>/dev/null)
if [ -z "$libs" ]; then
	notok "the Makefile's LIBRARIES" "make print-libraries printed nothing"
else
	declare -A libof libpos
	k=0
	while IFS= read -r l; do
		name=${l%%:*}
		libpos[$name]=$k
		k=$((k + 1))
		for d in ${l#*:}; do libof[$d]=$name; done
	done <<<"$libs"
	bad=()
	for f in "${folders[@]}"; do
		[ -n "${libof[$f]+x}" ] || continue
		for a in ${allow[$f]}; do
			case $a in *.h) a=${a%/*} ;; esac
			[ -n "${libof[$a]+x}" ] || continue
			if [ "${libpos[${libof[$a]}]}" -lt "${libpos[${libof[$f]}]}" ]; then
				bad+=("$f (libvspace-${libof[$f]}) may include $a, whose libvspace-${libof[$a]} comes before it in LIBRARIES")
			fi
		done
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ok "the Makefile's LIBRARIES are in the matrix's order"
	else
		notok "the Makefile's LIBRARIES disagree with the matrix" "${bad[@]}"
	fi
fi
echo "1..$n"
[ $fails -eq 0 ]
