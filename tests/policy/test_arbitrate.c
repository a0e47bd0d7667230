/* test_arbitrate.c - sharing cores among several LC workloads (SPEC §3.5), worked by hand. */
#include <string.h>

#include "policy/policy.h"
#include "testutil.h"

static struct vs_decision dec(int n_v, int n_nq, double want_v, double want_n)
{
	struct vs_decision d;
	memset(&d, 0, sizeof(d));
	d.alloc = (struct vs_alloc){ .layout = VS_LAYOUT_ISOLATED,
				     .n_vcpu = n_v,
				     .n_nq = n_nq,
				     .vcpus = n_v,
				     .queues = n_nq };
	d.want_vcpu = want_v;
	d.want_nq = want_n;
	return d;
}

static struct vs_policy pol(const char *spec, int T)
{
	struct vs_policy p;
	char err[128];
	assert_int_equal(policy_lookup(spec, T, &p, err, sizeof(err)), 0);
	return p;
}

static void test_fit(void **state)
{
	/* E: 3+2 and 4+1 = 10 of 20 cores: each keeps its request */
	struct vs_policy p = pol("vspace-e", 20);
	struct vs_decision d[2] = { dec(3, 2, 2.5, 1.5), dec(4, 1, 3.5, 0.5) };
	char err[128];

	assert_int_equal(policy_arbitrate(&p, 20, d, 2, err, sizeof(err)), 0);
	assert_int_equal(d[0].alloc.n_vcpu, 3);
	assert_int_equal(d[0].alloc.n_nq, 2);
	assert_int_equal(d[1].alloc.n_vcpu, 4);
	assert_int_equal(d[1].alloc.n_nq, 1);
	assert_int_equal(d[0].alloc.n_be, 0);
	/* R: the 10 left go to best-effort work */
	p = pol("vspace-r", 20);
	assert_int_equal(policy_arbitrate(&p, 20, d, 2, err, sizeof(err)), 0);
	assert_int_equal(d[0].alloc.n_be, 10);
	assert_int_equal(d[1].alloc.n_be, 10);
	assert_false(d[1].alloc.be_paused);
}

static void test_oversubscribed(void **state)
{
	/* two E requests of 10+5 on 20 cores, demand 9.5:4.5:9.5:4.5 (sum 28):
	 * ideal 6.786, 3.214, 6.786, 3.214 -> floors 6,3,6,3 = 18; the two largest
	 * remainders (0.786, groups 0 and 2) get one more: 7,3,7,3 */
	struct vs_policy p = pol("vspace-r", 20);
	struct vs_decision d[2] = { dec(10, 5, 9.5, 4.5), dec(10, 5, 9.5, 4.5) };
	char err[128];

	assert_int_equal(policy_arbitrate(&p, 20, d, 2, err, sizeof(err)), 0);
	assert_int_equal(d[0].alloc.n_vcpu, 7);
	assert_int_equal(d[0].alloc.n_nq, 3);
	assert_int_equal(d[1].alloc.n_vcpu, 7);
	assert_int_equal(d[1].alloc.n_nq, 3);
	assert_int_equal(d[0].alloc.vcpus, 7);
	assert_int_equal(d[0].alloc.queues, 3);
	assert_int_equal(d[0].alloc.n_be, 0);
	assert_true(d[0].alloc.be_paused);
}

static void test_min_one(void **state)
{
	/* requests 5+1 and 1+1 = 8 > 6 cores; demand 12 : 0 : 0.1 : 0 (sum 12.1):
	 * ideal 5.95, 0, 0.05, 0 -> floors 5,0,0,0, raised to the minimum 1:
	 * 5,1,1,1 = 8 > 6. Groups at the minimum cannot give a core back, so
	 * group 0 gives two: 3,1,1,1 */
	struct vs_policy p = pol("vspace-e", 6);
	struct vs_decision d[2] = { dec(5, 1, 12, 0), dec(1, 1, 0.1, 0) };
	char err[128];

	assert_int_equal(policy_arbitrate(&p, 6, d, 2, err, sizeof(err)), 0);
	assert_int_equal(d[0].alloc.n_vcpu, 3);
	assert_int_equal(d[0].alloc.n_nq, 1);
	assert_int_equal(d[1].alloc.n_vcpu, 1);
	assert_int_equal(d[1].alloc.n_nq, 1);
}

static void test_p_fills_all(void **state)
{
	/* P: demand 1:1:3:3 on 16 cores: 2,2,6,6 exactly, every core in use */
	struct vs_policy p = pol("vspace-p", 16);
	struct vs_decision d[2] = { dec(8, 8, 1, 1), dec(8, 8, 3, 3) };
	char err[128];

	assert_int_equal(policy_arbitrate(&p, 16, d, 2, err, sizeof(err)), 0);
	assert_int_equal(d[0].alloc.n_vcpu, 2);
	assert_int_equal(d[0].alloc.n_nq, 2);
	assert_int_equal(d[1].alloc.n_vcpu, 6);
	assert_int_equal(d[1].alloc.n_nq, 6);
	/* no demand at all: keep the proportions of the requests (8:8:8:8 -> 4 each) */
	d[0] = dec(8, 8, 0, 0);
	d[1] = dec(8, 8, 0, 0);
	assert_int_equal(policy_arbitrate(&p, 16, d, 2, err, sizeof(err)), 0);
	assert_int_equal(d[0].alloc.n_vcpu, 4);
	assert_int_equal(d[1].alloc.n_nq, 4);
}

static void test_too_many(void **state)
{
	struct vs_policy p = pol("vspace-e", 5);
	struct vs_decision d[3] = { dec(1, 1, 1, 1), dec(1, 1, 1, 1), dec(1, 1, 1, 1) };
	char err[128];

	assert_int_equal(policy_arbitrate(&p, 5, d, 3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "6 core groups"));
}

static void test_divide(void **state)
{
	double w[3] = { 1, 1, 1 };
	int out[3];

	/* 10 / 3: 3.33 each -> 3,3,3 + one to the lowest index on a tie */
	policy_divide(10, w, 3, 1, out);
	assert_int_equal(out[0], 4);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 3);
	double z[2] = { 0, 0 };
	policy_divide(5, z, 2, 1, out);
	assert_int_equal(out[0] + out[1], 5);
	assert_int_equal(out[0], 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit),	 cmocka_unit_test(test_oversubscribed),
		cmocka_unit_test(test_min_one),	 cmocka_unit_test(test_p_fills_all),
		cmocka_unit_test(test_too_many), cmocka_unit_test(test_divide),
	};
	return VS_RUN_TESTS(tests);
}
