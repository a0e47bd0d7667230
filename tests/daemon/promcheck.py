#!/usr/bin/env python3
# promcheck.py - check a Prometheus text exposition with Debian's prometheus_client parser: every family
# typed (HELP and TYPE above its own samples), no family twice, every sample inside a declared family.
# Usage: promcheck.py FILE|-   exit 0 ok, 1 problems (listed), 77 the parser is not installed
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("prometheus_client is not installed (apt-get install python3-prometheus-client)")
    sys.exit(77)

text = sys.stdin.read() if sys.argv[1:] in ([], ["-"]) else open(sys.argv[1]).read()
problems, seen, n = [], {}, 0
try:
    for fam in text_string_to_metric_families(text):
        n += 1
        if fam.type == "unknown":
            problems.append("%s: no TYPE above its samples (untyped)" % fam.name)
        if fam.name in seen:
            problems.append("%s: family appears twice (samples not grouped)" % fam.name)
        seen[fam.name] = fam.type
except Exception as e:  # the parser refuses malformed text
    problems.append("parse error: %s" % e)
for p in problems:
    print(p)
print("%d families, %d problems" % (n, len(problems)))
sys.exit(1 if problems else 0)
