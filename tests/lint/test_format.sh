#!/usr/bin/env bash
# test_format.sh - every C source and header is clang-formatted (.clang-format); `make format` fixes it.
set -u
cd "$(dirname "$0")/../.."
if ! command -v clang-format >/dev/null 2>&1; then
	echo "ok 1 - clang-format # SKIP clang-format not installed"
	echo "1..1"
	exit 0
fi
n=0 fails=0
for f in $(find src tests -name '*.c' -o -name '*.h' | sort); do
	n=$((n + 1))
	if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "ok $n - $f formatted"
	else
		fails=$((fails + 1))
		echo "not ok $n - $f is not clang-formatted (run: make format)"
	fi
done
echo "1..$n"
[ $fails -eq 0 ]
