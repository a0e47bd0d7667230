/* test_irqrate.c - the interrupt-rate policies (FIR, CGR, AIR) and the receive fan-out decision, worked by hand from SPEC §7.1. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "policy/irqrate.h"

static struct vs_irq_decision decide(const char *policy, const struct vs_irq_params *p,
				     uint64_t packets, uint64_t bytes, double current)
{
	struct vs_irq_sample s = { .period_s = 0.1, .packets = packets, .bytes = bytes };
	struct vs_irq_in in = { .sample = &s, .current_per_s = current, .params = p };
	struct vs_irq_decision d;
	const struct vs_irq_policy_ops *ops = irq_policy_lookup(policy);

	assert_non_null(ops);
	ops->decide(&in, &d);
	return d;
}

static void test_lookup_and_defaults(void **state)
{
	struct vs_irq_params p;
	char err[128];

	(void)state;
	irq_params_defaults(&p);
	assert_int_equal(irq_params_check(&p, err, sizeof(err)), 0);
	assert_true(irq_policy_lookup("fir") == &irq_policy_fir);
	assert_true(irq_policy_lookup("air") == &irq_policy_air);
	assert_null(irq_policy_lookup("AIR"));
	assert_null(irq_policy_lookup(""));
	int n = 0;
	for (const struct vs_irq_policy_ops *const *o = irq_policy_all(); *o; o++)
		n++;
	assert_int_equal(n, 3);
	p.air_k = 0.5;
	assert_int_equal(irq_params_check(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "air k 0.5"));
	irq_params_defaults(&p);
	p.air_c_int_ns = NAN;
	assert_int_equal(irq_params_check(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "air c_int_ns"));
}

static void test_rx_usecs(void **state)
{
	(void)state;
	assert_int_equal(irq_rx_usecs(8000), 125);
	assert_int_equal(irq_rx_usecs(4125), 242);  /* 242.42 */
	assert_int_equal(irq_rx_usecs(3000), 333);  /* 333.33 */
	assert_int_equal(irq_rx_usecs(2999), 333);  /* 333.44 */
	assert_int_equal(irq_rx_usecs(1e7), 1);	    /* never 0 (0 = no moderation) */
	assert_int_equal(irq_rx_usecs(0), 1000000); /* no rate: the slowest */
}

/* FIR: the fixed rate; a write only when the rate in force differs. */
static void test_fir(void **state)
{
	struct vs_irq_params p;
	struct vs_irq_decision d;

	(void)state;
	irq_params_defaults(&p);
	d = decide("fir", &p, 123, 4567, 0);
	assert_true(d.rate_per_s == 8000 && d.rx_usecs == 125 && d.change);
	d = decide("fir", &p, 0, 0, 8000);
	assert_false(d.change);
	p.fir_per_s = 2000;
	d = decide("fir", &p, 0, 0, 8000);
	assert_true(d.rate_per_s == 2000 && d.rx_usecs == 500 && d.change);
}

/* CGR: the class table and its boundaries. */
static void test_cgr_classes(void **state)
{
	struct vs_irq_params p;
	const struct {
		uint64_t packets, bytes;
		enum irq_class cls;
		double rate;
	} c[] = {
		{ 1000, 1500000, IRQ_CLASS_BULK, 4000 },
		{ 1000, 1200000, IRQ_CLASS_BULK, 4000 },      /* S = 1200 */
		{ 1000, 1199999, IRQ_CLASS_MID, 8000 },	      /* S just below */
		{ 1000, 300000, IRQ_CLASS_MID, 8000 },	      /* S = 300 */
		{ 3000, 899999, IRQ_CLASS_SENSITIVE, 20000 }, /* S < 300, P = 30,000 */
		{ 2000, 128000, IRQ_CLASS_SENSITIVE, 20000 }, /* P = 20,000: not sparse */
		{ 1999, 127936, IRQ_CLASS_CRITICAL, 100000 }, /* P = 19,990: sparse */
		{ 10, 640, IRQ_CLASS_CRITICAL, 100000 },
		{ 1999, 2398800, IRQ_CLASS_BULK, 4000 }, /* sparse but large: bulk */
		{ 0, 0, IRQ_CLASS_CRITICAL, 100000 },	 /* idle */
	};

	(void)state;
	irq_params_defaults(&p);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct vs_irq_decision d = decide("cgr", &p, c[i].packets, c[i].bytes, 0);
		if (d.cls != c[i].cls || d.rate_per_s != c[i].rate)
			fail_msg("case %zu (%llu packets, %llu bytes): %s %.0f, expected %s %.0f",
				 i, (unsigned long long)c[i].packets,
				 (unsigned long long)c[i].bytes, irq_class_name(d.cls),
				 d.rate_per_s, irq_class_name(c[i].cls), c[i].rate);
	}
	/* a class the queue already has is not written again */
	assert_false(decide("cgr", &p, 1000, 1500000, 4000).change);
}

/* AIR: I = P/k + offset (B/(k*S) with B/S = P), clamp, hysteresis. */
static void test_air(void **state)
{
	struct vs_irq_params p;
	struct vs_irq_decision d;

	(void)state;
	irq_params_defaults(&p);
	/* Ihat = 1e9 / (2000 * 32 + 6000) = 14285.714 */
	d = decide("air", &p, 10000, 15000000, 0);
	assert_true(fabs(d.air_ihat_per_s - 1e9 / 70000) < 1e-6);
	assert_true(fabs(d.air_raw_per_s - 4125) < 1e-9);
	assert_true(d.rate_per_s == 4125 && d.change && d.rx_usecs == 242);
	/* within the hysteresis of the current rate: held, no write */
	d = decide("air", &p, 12000, 18000000, 4125);
	assert_true(d.rate_per_s == 4125 && !d.change);
	assert_non_null(strstr(d.why, "hold"));
	/* exactly the hysteresis away: applied */
	d = decide("air", &p, 13200, 19800000, 4125);
	assert_true(d.rate_per_s == 5125 && d.change);
	/* above Ihat: clamped */
	d = decide("air", &p, 100000, 150000000, 5125);
	assert_true(fabs(d.rate_per_s - 1e9 / 70000) < 1e-6);
	/* the packet size does not matter, only the rate: B/(k*S) = P/k */
	d = decide("air", &p, 10000, 640000, 0);
	assert_true(fabs(d.rate_per_s - 4125) < 1e-9);
	/* no packets: offset, then the floor */
	p.air_offset_per_s = 0;
	d = decide("air", &p, 0, 0, 0);
	assert_true(d.rate_per_s == 1000);
	/* Ihat below I_min: the floor wins */
	irq_params_defaults(&p);
	p.air_c_int_ns = 1e6; /* Ihat = 1e9 / 1064000 = 939.8 */
	d = decide("air", &p, 10000, 15000000, 0);
	assert_true(d.rate_per_s == 1000);
	assert_non_null(strstr(d.why, "I_min"));
}

/* Properties over random samples: every policy gives a rate within its
 * range and an rx-usecs that maps back to it. */
static void test_properties(void **state)
{
	struct vs_irq_params p;
	uint64_t seed = 17;

	(void)state;
	irq_params_defaults(&p);
	for (int i = 0; i < 20000; i++) {
		uint64_t packets = vs_test_rand(&seed) % 2000000;
		uint64_t bytes = packets * (60 + vs_test_rand(&seed) % 9000);
		double cur = (double)(vs_test_rand(&seed) % 120000);
		for (const struct vs_irq_policy_ops *const *o = irq_policy_all(); *o; o++) {
			struct vs_irq_sample s = { .period_s = 0.1,
						   .packets = packets,
						   .bytes = bytes };
			struct vs_irq_in in = { .sample = &s, .current_per_s = cur, .params = &p };
			struct vs_irq_decision d;
			(*o)->decide(&in, &d);
			assert_true(d.rate_per_s > 0 && d.rate_per_s <= 100000);
			assert_true(d.rx_usecs >= 1 && d.rx_usecs <= 1000000);
			assert_true(fabs(1e6 / d.rx_usecs - d.rate_per_s) <= d.rate_per_s * 0.06);
			assert_true(d.change == (d.rate_per_s != cur));
			if (*o == &irq_policy_air && d.change)
				assert_true(d.rate_per_s >= p.air_min_per_s &&
					    d.rate_per_s <= d.air_ihat_per_s + 1e-9);
			assert_true(strlen(d.why) > 0);
		}
	}
}

/* Fan-out: ceil(U/0.8), shrinking only with the margin. */
static void test_fanout(void **state)
{
	struct vs_fanout_params p;
	struct vs_fanout_decision d;

	(void)state;
	irq_fanout_defaults(&p);
	irq_fanout_decide(&p, 0.5, 1, 4, &d);
	assert_int_equal(d.n, 1);
	irq_fanout_decide(&p, 0.9, 1, 4, &d); /* ceil(1.125) = 2 */
	assert_int_equal(d.n, 2);
	irq_fanout_decide(&p, 1.6, 2, 4, &d); /* ceil(2.0) = 2, exact multiples stay */
	assert_int_equal(d.n, 2);
	irq_fanout_decide(&p, 5.0, 2, 4, &d); /* ceil(6.25) = 7 > n_max */
	assert_int_equal(d.n, 4);
	/* shrink: U = 0.75 needs 1, but 1.1 * 0.75 / 0.8 = 1.03 -> 2: hold 2 */
	irq_fanout_decide(&p, 0.75, 2, 4, &d);
	assert_int_equal(d.n, 2);
	irq_fanout_decide(&p, 0.70, 3, 4, &d); /* 0.9625 -> 1 */
	assert_int_equal(d.n, 1);
	irq_fanout_decide(&p, 1.5, 4, 4, &d); /* req 2, margin 2.06 -> 3 */
	assert_int_equal(d.n, 3);
	irq_fanout_decide(&p, 0, 0, 0, &d); /* nonsense in: one CPU */
	assert_int_equal(d.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_and_defaults),
		cmocka_unit_test(test_rx_usecs),
		cmocka_unit_test(test_fir),
		cmocka_unit_test(test_cgr_classes),
		cmocka_unit_test(test_air),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_fanout),
	};
	return VS_RUN_TESTS(tests);
}
