#!/usr/bin/env bash
# test_cppcheck.sh - static analysis of src/ with cppcheck (warnings, portability, performance).
set -u
cd "$(dirname "$0")/../.."
if ! command -v cppcheck >/dev/null 2>&1; then
	echo "ok 1 - cppcheck # SKIP cppcheck not installed"
	echo "1..1"
	exit 0
fi
out=$(cppcheck --quiet --enable=warning,portability,performance --std=c11 --inline-suppr \
	--error-exitcode=1 -Isrc -D_GNU_SOURCE src 2>&1)
if [ $? -eq 0 ]; then
	echo "ok 1 - cppcheck finds nothing in src/"
else
	echo "not ok 1 - cppcheck findings in src/"
	echo "$out" | sed 's/^/# /'
fi
echo "1..1"
