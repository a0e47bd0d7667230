# replay-trace.awk - writes examples/traces/memcached-ramp.csv, an example input for `vspace replay`.
# awk -f scripts/replay-trace.awk > examples/traces/memcached-ramp.csv
BEGIN {
	print "# Synthetic trace for `vspace replay`: a memcached VM on a 20-core host whose load"
	print "# ramps 50 -> 250 -> 50 KQPS over 40 periods. vCPU busy time is 0.035 cores per"
	print "# KQPS; NQ busy time 0.008 cores per KQPS plus a quadratic term (more interrupts"
	print "# per request at high rates), both with a deterministic wobble; every fifth"
	print "# period has no p95 reading. Made by scripts/replay-trace.awk: an input, not a"
	print "# measurement."
	print "busy_vcpu,busy_nq,p95_us"
	for (i = 0; i < 40; i++) {
		if (i < 10) kqps = 50 + 20 * i
		else if (i < 25) kqps = 250
		else kqps = 250 - 14 * (i - 24)
		w = 1 + 0.05 * sin(i * 1.7)
		bv = 0.035 * kqps * w
		bn = (0.008 * kqps + 0.00003 * kqps * kqps) * (2 - w)
		p95 = (i % 5 == 4) ? "" : sprintf("%.0f", 300 + 2.2 * kqps * w)
		printf "%.2f,%.2f,%s\n", bv, bn, p95
	}
}
