/* test_vspace.c - worked examples of vSPACE-P, -E and -R, derived by hand from SPEC §3.1-3.3. */
#include <string.h>

#include "policy/policy.h"
#include "testutil.h"

static struct vs_params params;

static struct vs_alloc iso(int n_v, int n_nq)
{
	return (struct vs_alloc){ .layout = VS_LAYOUT_ISOLATED,
				  .n_vcpu = n_v,
				  .n_nq = n_nq,
				  .vcpus = n_v,
				  .queues = n_nq };
}

/* Decide with thresholds th_v/th_n on T cores from prev. */
static struct vs_alloc decide(const struct vs_policy_ops *ops, int T, double u_v, double u_n,
			      double th_v, double th_n, struct vs_alloc prev)
{
	struct vs_policy pol = { .ops = ops };
	struct vs_sample s = { .busy_vcpu = u_v, .busy_nq = u_n, .busy_vcpu_threads = u_v };
	struct vs_decide_in in = {
		.sample = &s, .prev = &prev, .th = { th_v, th_n }, .n_cores = T, .params = &params
	};
	struct vs_decision d;

	memset(&d, 0xa5, sizeof(d));
	ops->decide(&pol, &in, &d);
	return d.alloc;
}

#define assert_alloc(a, v, n, be)                                                                  \
	do {                                                                                       \
		assert_int_equal((a).n_vcpu, (v));                                                 \
		assert_int_equal((a).n_nq, (n));                                                   \
		assert_int_equal((a).n_be, (be));                                                  \
	} while (0)

static void test_p_proportional(void **state)
{
	struct vs_alloc a;

	/* req_v = 7.3/0.8 = 9.125, req_n = 2.1/0.8 = 2.625;
	 * n_v = round(20 * 9.125/11.75) = round(15.53) = 16, n_nq = 20 - 16 = 4 */
	a = decide(&policy_vspace_p, 20, 7.3, 2.1, 0.8, 0.8, iso(10, 10));
	assert_alloc(a, 16, 4, 0);
	assert_int_equal(a.vcpus, 16);
	assert_int_equal(a.queues, 4);
	/* different thresholds: req_v = 4/0.8 = 5, req_n = 4/0.4 = 10;
	 * n_v = round(20 * 5/15) = round(6.67) = 7, n_nq = 13 */
	a = decide(&policy_vspace_p, 20, 4, 4, 0.8, 0.4, iso(10, 10));
	assert_alloc(a, 7, 13, 0);
	/* half rounds away from zero: T=5, req 1.25 each: round(2.5) = 3, n_nq = 2 */
	a = decide(&policy_vspace_p, 5, 1, 1, 0.8, 0.8, iso(3, 2));
	assert_alloc(a, 3, 2, 0);
}

static void test_p_clamps(void **state)
{
	struct vs_alloc a;

	/* no vCPU load: round(8 * 0) = 0, clamped to 1; n_nq = 7 */
	a = decide(&policy_vspace_p, 8, 0, 5, 0.8, 0.8, iso(4, 4));
	assert_alloc(a, 1, 7, 0);
	/* no NQ load: round(8 * 1) = 8, clamped to T-1 = 7; n_nq = 1 */
	a = decide(&policy_vspace_p, 8, 5, 0, 0.8, 0.8, iso(4, 4));
	assert_alloc(a, 7, 1, 0);
	/* T = 2 can only be 1 + 1 */
	a = decide(&policy_vspace_p, 2, 10, 10, 0.8, 0.8, iso(1, 1));
	assert_alloc(a, 1, 1, 0);
	/* req_v + req_n == 0: keep the previous allocation 12 + 8 */
	a = decide(&policy_vspace_p, 20, 0, 0, 0.8, 0.8, iso(12, 8));
	assert_alloc(a, 12, 8, 0);
}

static void test_e_grow(void **state)
{
	struct vs_alloc a;

	/* req_v = max(1, ceil(7.3/0.8 = 9.125)) = 10, req_n = ceil(2.625) = 3;
	 * 13 <= 20; prev 2 <= 10 and 2 <= 3, so both grow at once: 10 + 3 */
	a = decide(&policy_vspace_e, 20, 7.3, 2.1, 0.8, 0.8, iso(2, 2));
	assert_alloc(a, 10, 3, 0);
}

static void test_e_margin_holds(void **state)
{
	struct vs_alloc a;

	/* req_v = ceil(7.5/0.8 = 9.375) = 10; prev 11 > 10, so
	 * n_v = min(11, ceil(1.1 * 9.375 = 10.3125)) = 11: the margin keeps 11.
	 * req_n = ceil(2.625) = 3; prev 4 > 3: min(4, ceil(1.1 * 2.625 = 2.8875)) = 3 */
	a = decide(&policy_vspace_e, 20, 7.5, 2.1, 0.8, 0.8, iso(11, 4));
	assert_alloc(a, 11, 3, 0);
}

static void test_e_shrink(void **state)
{
	struct vs_alloc a;

	/* req_v = ceil(4/0.8 = 5) = 5; prev 15 > 5: min(15, ceil(1.1*5 = 5.5)) = 6
	 * req_n = ceil(1/0.8 = 1.25) = 2; prev 5 > 2: min(5, ceil(1.375)) = 2 */
	a = decide(&policy_vspace_e, 20, 4, 1, 0.8, 0.8, iso(15, 5));
	assert_alloc(a, 6, 2, 0);
	/* no load: req 1 + 1; ceil(1.1*0) = 0 is below req, so 1 + 1 */
	a = decide(&policy_vspace_e, 20, 0, 0, 0.8, 0.8, iso(10, 10));
	assert_alloc(a, 1, 1, 0);
}

static void test_e_over_capacity(void **state)
{
	struct vs_alloc a;

	/* T = 10: req_v = ceil(8/0.8) = 10, req_n = ceil(4/0.8) = 5, 15 > 10:
	 * divide as P: round(10 * 10/15 = 6.67) = 7, n_nq = 3 */
	a = decide(&policy_vspace_e, 10, 8, 4, 0.8, 0.8, iso(5, 5));
	assert_alloc(a, 7, 3, 0);
	/* req_v = ceil(8.8/0.8 = 11) = 11, req_n = ceil(7.2/0.8 = 9) = 9: 20 fits;
	 * prev_v 12 > 11: min(12, ceil(1.1*11 = 12.1)) = 12; prev_nq 8 < 9: 9;
	 * 12 + 9 = 21 > 20: divide as P: round(20 * 11/20) = 11, n_nq = 9 */
	a = decide(&policy_vspace_e, 20, 8.8, 7.2, 0.8, 0.8, iso(12, 8));
	assert_alloc(a, 11, 9, 0);
}

static void test_ceil_tolerance(void **state)
{
	/* 3 * 0.8 / 0.8 is 3.0000000000000004 in binary floating point */
	assert_int_equal(policy_ceil(2.4000000000000004 / 0.8), 3);
	assert_int_equal(policy_ceil(3.001), 4);
	assert_int_equal(policy_ceil(0), 0);
	struct vs_alloc a = decide(&policy_vspace_e, 20, 0.8 * 3, 0.8 * 2, 0.8, 0.8, iso(1, 1));
	assert_alloc(a, 3, 2, 0);
}

static void test_r_gives_idle_to_be(void **state)
{
	struct vs_alloc a;

	/* LC as E: 10 + 3 (see test_e_grow); BE gets 20 - 13 = 7 */
	a = decide(&policy_vspace_r, 20, 7.3, 2.1, 0.8, 0.8, iso(2, 2));
	assert_alloc(a, 10, 3, 7);
	assert_false(a.be_paused);
	/* T = 10 over capacity: 7 + 3 (see test_e_over_capacity): no idle core, BE paused */
	a = decide(&policy_vspace_r, 10, 8, 4, 0.8, 0.8, iso(5, 5));
	assert_alloc(a, 7, 3, 0);
	assert_true(a.be_paused);
}

static void test_initial(void **state)
{
	struct vs_alloc a = vs_alloc_initial(21);
	assert_alloc(a, 11, 10, 0);
	a = vs_alloc_initial(2);
	assert_alloc(a, 1, 1, 0);
}

static void test_lookup(void **state)
{
	struct vs_policy p;
	char err[256];

	assert_int_equal(policy_lookup("vspace-e", 20, &p, err, sizeof(err)), 0);
	assert_ptr_equal(p.ops, &policy_vspace_e);
	assert_int_equal(policy_lookup("vspace-p:3", 20, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no arguments"));
	assert_int_equal(policy_lookup("vspace-x", 20, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown policy \"vspace-x\""));
	assert_int_equal(policy_lookup("vspace-e", 1, &p, err, sizeof(err)), -1);
}

static void test_params_check(void **state)
{
	struct vs_params p;
	char err[256];

	vs_params_defaults(&p);
	assert_int_equal(vs_params_check(&p, err, sizeof(err)), 0);
	assert_true(p.th_vcpu_init == 0.8 && p.margin == 1.1 && p.weight == 0.7 &&
		    p.reward == 1.03 && p.allow_violation == 0.02 && p.window == 1000 &&
		    p.th_min == 0.3 && p.th_max == 0.95);
	p.margin = 0.9;
	assert_int_equal(vs_params_check(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "margin"));
	vs_params_defaults(&p);
	p.th_vcpu_init = 0.99; /* above th_max while exploring */
	assert_int_equal(vs_params_check(&p, err, sizeof(err)), -1);
	p.explore = false;
	assert_int_equal(vs_params_check(&p, err, sizeof(err)), 0);
	p.th_nq_init = 0;
	assert_int_equal(vs_params_check(&p, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p_proportional), cmocka_unit_test(test_p_clamps),
		cmocka_unit_test(test_e_grow),	       cmocka_unit_test(test_e_margin_holds),
		cmocka_unit_test(test_e_shrink),       cmocka_unit_test(test_e_over_capacity),
		cmocka_unit_test(test_ceil_tolerance), cmocka_unit_test(test_r_gives_idle_to_be),
		cmocka_unit_test(test_initial),	       cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_params_check),
	};
	vs_params_defaults(&params);
	return VS_RUN_TESTS(tests);
}
