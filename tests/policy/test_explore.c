/* test_explore.c - threshold exploration (SPEC §3.4), worked by hand. */
#include <math.h>
#include <string.h>

#include "policy/explore.h"
#include "testutil.h"

#define EPS 1e-12

static struct vs_params defaults(void)
{
	struct vs_params p;
	vs_params_defaults(&p);
	return p;
}

static struct vs_explore_result update(const struct vs_explore_sample *s, int n,
				       struct vs_thresholds th, const struct vs_params *p)
{
	int scratch[3 * 64];
	struct vs_explore_result r;

	assert_true(n <= 64);
	explore_window_update(s, n, th, 1000, p, scratch, &r);
	return r;
}

static void test_reward(void **state)
{
	struct vs_params p = defaults();
	struct vs_explore_sample s[10];
	struct vs_explore_result r;

	for (int i = 0; i < 10; i++)
		s[i] = (struct vs_explore_sample){ .p95_us = 999, .u_vcpu = 0.5, .u_nq = 0.5 };
	/* no p95 above 1000: both raised by REWARD: 0.8 * 1.03 = 0.824 */
	r = update(s, 10, (struct vs_thresholds){ 0.8, 0.8 }, &p);
	assert_int_equal(r.action, VS_EXPLORE_REWARD);
	assert_float_equal(r.after.vcpu, 0.824, EPS);
	assert_float_equal(r.after.nq, 0.824, EPS);
	/* capped at TH_MAX: min(0.95, 0.93 * 1.03 = 0.9579) = 0.95 */
	r = update(s, 10, (struct vs_thresholds){ 0.93, 0.9 }, &p);
	assert_float_equal(r.after.vcpu, 0.95, EPS);
	assert_float_equal(r.after.nq, 0.927, EPS);
}

static void test_hold(void **state)
{
	struct vs_params p = defaults();
	struct vs_explore_sample s[50];
	struct vs_explore_result r;

	for (int i = 0; i < 50; i++)
		s[i] = (struct vs_explore_sample){ .p95_us = 500, .u_vcpu = 0.7, .u_nq = 0.7 };
	/* |S| = 50: allowed = ceil(50 * 0.02) = 1; one violation: dec = 0, |V| = 1:
	 * neither cut nor reward */
	s[7].p95_us = 2000;
	r = update(s, 50, (struct vs_thresholds){ 0.8, 0.8 }, &p);
	assert_int_equal(r.action, VS_EXPLORE_HOLD);
	assert_int_equal(r.allowed, 1);
	assert_int_equal(r.n_violations, 1);
	assert_float_equal(r.after.vcpu, 0.8, EPS);
	assert_float_equal(r.after.nq, 0.8, EPS);
}

static void test_cut_smaller(void **state)
{
	struct vs_params p = defaults();
	struct vs_explore_sample s[10];
	struct vs_explore_result r;

	for (int i = 0; i < 10; i++)
		s[i] = (struct vs_explore_sample){ .p95_us = 400, .u_vcpu = 0.2, .u_nq = 0.2 };
	/* three violating samples a, b, c; |S| = 10: allowed = ceil(0.2) = 1, dec = 2
	 *   a: u_v 0.70 u_n 0.30    Lv = a(0.70) c(0.65) b(0.60)
	 *   b: u_v 0.60 u_n 0.78    Ln = b(0.78) c(0.50) a(0.30)
	 *   c: u_v 0.65 u_n 0.50
	 * 1) sv = a, sn = b: dv = 0.8-0.7 = 0.1, dn = 0.8-0.78 = 0.02: dn smaller,
	 *    Tn' = 0.78, remove b
	 * 2) sv = a, sn = c: dv = 0.1, dn = 0.78-0.5 = 0.28: dv smaller, Tv' = 0.7,
	 *    remove a; dec = 0
	 * Th_v = 0.3*0.8 + 0.7*0.7 = 0.73; Th_n = 0.3*0.8 + 0.7*0.78 = 0.786 */
	s[2] = (struct vs_explore_sample){ .p95_us = 1500, .u_vcpu = 0.70, .u_nq = 0.30 };
	s[5] = (struct vs_explore_sample){ .p95_us = 1100, .u_vcpu = 0.60, .u_nq = 0.78 };
	s[8] = (struct vs_explore_sample){ .p95_us = 3000, .u_vcpu = 0.65, .u_nq = 0.50 };
	r = update(s, 10, (struct vs_thresholds){ 0.8, 0.8 }, &p);
	assert_int_equal(r.action, VS_EXPLORE_CUT);
	assert_int_equal(r.n_violations, 3);
	assert_int_equal(r.allowed, 1);
	assert_int_equal(r.cuts_nq, 1);
	assert_int_equal(r.cuts_vcpu, 1);
	assert_float_equal(r.target.vcpu, 0.70, EPS);
	assert_float_equal(r.target.nq, 0.78, EPS);
	assert_float_equal(r.after.vcpu, 0.73, 1e-9);
	assert_float_equal(r.after.nq, 0.786, 1e-9);
}

static void test_cut_never_raises(void **state)
{
	struct vs_params p = defaults();
	struct vs_explore_sample s[10];
	struct vs_explore_result r;

	for (int i = 0; i < 10; i++)
		s[i] = (struct vs_explore_sample){ .p95_us = 400, .u_vcpu = 0.2, .u_nq = 0.2 };
	/* violations above the thresholds: s1 (0.9, 0.5), s2 (0.85, 0.7),
	 * s3 (0.6, 0.75), s4 (0.5, 0.4); allowed 1, dec = 3
	 * 1) sv = s1, sn = s3: dv = -0.1 <= dn = 0.05: Tv' = min(0.8, 0.9) = 0.8
	 * 2) sv = s2, sn = s3: dv = -0.05 <= 0.05: Tv' stays 0.8
	 * 3) sv = s3, sn = s3: dv = 0.2 > dn = 0.05: Tn' = 0.75
	 * Th_v = 0.8 (the published rule without min() would raise it to 0.87);
	 * Th_n = 0.3*0.8 + 0.7*0.75 = 0.765 */
	s[0] = (struct vs_explore_sample){ .p95_us = 2000, .u_vcpu = 0.9, .u_nq = 0.5 };
	s[1] = (struct vs_explore_sample){ .p95_us = 2000, .u_vcpu = 0.85, .u_nq = 0.7 };
	s[2] = (struct vs_explore_sample){ .p95_us = 2000, .u_vcpu = 0.6, .u_nq = 0.75 };
	s[3] = (struct vs_explore_sample){ .p95_us = 2000, .u_vcpu = 0.5, .u_nq = 0.4 };
	r = update(s, 10, (struct vs_thresholds){ 0.8, 0.8 }, &p);
	assert_int_equal(r.cuts_vcpu, 2);
	assert_int_equal(r.cuts_nq, 1);
	assert_float_equal(r.after.vcpu, 0.8, 1e-9);
	assert_float_equal(r.after.nq, 0.765, 1e-9);
}

static void test_cut_clamped_at_min(void **state)
{
	struct vs_params p = defaults();
	struct vs_explore_sample s[2] = {
		{ .p95_us = 2000, .u_vcpu = 0.1, .u_nq = 0.9 },
		{ .p95_us = 2000, .u_vcpu = 0.1, .u_nq = 0.9 },
	};
	struct vs_explore_result r;

	/* |S| = 2: allowed = ceil(0.04) = 1, dec = 1. sv = sn = s0:
	 * dv = 0.35-0.1 = 0.25, dn = 0.35-0.9 = -0.55: dn is smaller, so the cut
	 * goes to the NQ side, where min(0.35, 0.9) leaves Tn' = 0.35: nothing moves */
	r = update(s, 2, (struct vs_thresholds){ 0.35, 0.35 }, &p);
	assert_float_equal(r.after.nq, 0.35, 1e-9);
	assert_float_equal(r.after.vcpu, 0.35, 1e-9);
	/* u_v = u_n = 0.1: dv = 0.25 <= dn = 0.25, the vCPU side is cut:
	 * Tv' = 0.1, Th_v = 0.3*0.35 + 0.7*0.1 = 0.175 -> clamped to TH_MIN 0.3 */
	s[0] = (struct vs_explore_sample){ .p95_us = 2000, .u_vcpu = 0.1, .u_nq = 0.1 };
	s[1] = (struct vs_explore_sample){ .p95_us = 2000, .u_vcpu = 0.1, .u_nq = 0.1 };
	r = update(s, 2, (struct vs_thresholds){ 0.35, 0.35 }, &p);
	assert_int_equal(r.cuts_vcpu, 1);
	assert_float_equal(r.target.vcpu, 0.1, 1e-9);
	assert_float_equal(r.after.vcpu, 0.3, 1e-9);
	assert_float_equal(r.after.nq, 0.35, 1e-9);
}

static void test_record_skips_missing_latency(void **state)
{
	struct vs_params p = defaults();
	struct vs_explore ex;
	struct vs_explore_sample s = { .p95_us = 100, .u_vcpu = 0.5, .u_nq = 0.5 };
	struct vs_explore_result r;

	p.window = 3;
	assert_int_equal(explore_init(&ex, &p), 0);
	assert_false(explore_record(&ex, &p, 1000, true, &s, &r));
	assert_false(explore_record(&ex, &p, 1000, true, &s, &r));
	/* periods without latency do not count towards the window */
	for (int i = 0; i < 5; i++)
		assert_false(explore_record(&ex, &p, 1000, false, &s, &r));
	assert_int_equal(ex.n, 2);
	/* nor do they without an SLO */
	assert_false(explore_record(&ex, &p, 0, true, &s, &r));
	assert_true(explore_record(&ex, &p, 1000, true, &s, &r));
	assert_int_equal(r.action, VS_EXPLORE_REWARD);
	assert_int_equal(r.n_samples, 3);
	assert_float_equal(ex.th.vcpu, 0.824, EPS);
	assert_int_equal(ex.n, 0);
	/* exploration off: nothing recorded */
	p.explore = false;
	assert_false(explore_record(&ex, &p, 1000, true, &s, &r));
	assert_int_equal(ex.n, 0);
	explore_free(&ex);
}

static void test_freeze(void **state)
{
	struct vs_params p = defaults();
	struct vs_explore ex;
	struct vs_explore_sample s = { .p95_us = 100, .u_vcpu = 0.5, .u_nq = 0.5 };

	/* at TH_MAX a reward moves nothing: after 2 such windows exploration stops */
	p.window = 1;
	p.freeze_after = 2;
	p.th_vcpu_init = p.th_nq_init = 0.95;
	assert_int_equal(explore_init(&ex, &p), 0);
	assert_true(explore_record(&ex, &p, 1000, true, &s, NULL));
	assert_false(ex.frozen);
	assert_true(explore_record(&ex, &p, 1000, true, &s, NULL));
	assert_true(ex.frozen);
	assert_false(explore_record(&ex, &p, 1000, true, &s, NULL));
	explore_free(&ex);
}

static void test_allowed_rounding(void **state)
{
	struct vs_params p = defaults();
	struct vs_explore_sample s[64];
	struct vs_explore_result r;

	for (int i = 0; i < 64; i++)
		s[i] = (struct vs_explore_sample){ .p95_us = 1, .u_vcpu = 0.1, .u_nq = 0.1 };
	/* 64 * 0.02 = 1.28 -> 2 allowed */
	r = update(s, 64, (struct vs_thresholds){ 0.8, 0.8 }, &p);
	assert_int_equal(r.allowed, 2);
	/* 50 * 0.02 = 1 exactly -> 1 (no spurious rounding up) */
	r = update(s, 50, (struct vs_thresholds){ 0.8, 0.8 }, &p);
	assert_int_equal(r.allowed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reward),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_cut_smaller),
		cmocka_unit_test(test_cut_never_raises),
		cmocka_unit_test(test_cut_clamped_at_min),
		cmocka_unit_test(test_record_skips_missing_latency),
		cmocka_unit_test(test_freeze),
		cmocka_unit_test(test_allowed_rounding),
	};
	return VS_RUN_TESTS(tests);
}
