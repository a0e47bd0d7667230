#!/usr/bin/env bash
# test_doclinks.sh - every relative link in README.md and docs/*.md names a file that exists and, with #anchor, a heading in it.
set -u
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# GitHub's anchor of a heading: lower case, punctuation dropped, blanks to '-'.
slugs() { # file
	awk '/^```/ { code = !code } !code && /^#+ / { sub(/^#+ +/, ""); print }' "$1" |
		tr '[:upper:]' '[:lower:]' | sed -e 's/[^a-z0-9 _-]//g' -e 's/ /-/g'
}

for doc in README.md docs/*.md; do
	dir=$(dirname "$doc")
	bad=()
	# [text](target) outside code blocks; skip absolute URLs
	while read -r target; do
		case "$target" in http://* | https://* | mailto:*) continue ;; esac
		file=${target%%#*}
		anchor=
		[ "$file" != "$target" ] && anchor=${target#*#}
		path=$dir/$file
		[ -z "$file" ] && path=$doc
		if [ ! -e "$path" ]; then
			bad+=("$target: no file $path")
		elif [ -n "$anchor" ] && ! slugs "$path" | grep -qxF -- "$anchor"; then
			bad+=("$target: no heading #$anchor in $path")
		fi
	done < <(awk '/^```/ { code = !code; next } !code' "$doc" | grep -o '\](\([^)]*\))' | sed 's/^](\(.*\))$/\1/')
	if [ ${#bad[@]} -eq 0 ]; then ok "$doc: links resolve"; else notok "$doc: links resolve" "${bad[@]}"; fi
done

echo "1..$n"
[ $fails -eq 0 ]
