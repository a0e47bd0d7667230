/* test_baselines.c - worked examples of static-ts, static-iso, corenap and demeter (SPEC §3.6). */
#include <string.h>

#include "policy/policy.h"
#include "testutil.h"

static struct vs_decision run(const char *spec, int T, struct vs_sample s, struct vs_alloc prev,
			      double slo)
{
	struct vs_params params;
	struct vs_policy pol;
	char err[256];
	struct vs_decision d;

	vs_params_defaults(&params);
	assert_int_equal(policy_lookup(spec, T, &pol, err, sizeof(err)), 0);
	struct vs_decide_in in = { .sample = &s,
				   .prev = &prev,
				   .th = { 0.8, 0.8 },
				   .n_cores = T,
				   .slo_p95_us = slo,
				   .params = &params };
	memset(&d, 0, sizeof(d));
	pol.ops->decide(&pol, &in, &d);
	return d;
}

static struct vs_alloc shared(int c)
{
	return (struct vs_alloc){
		.layout = VS_LAYOUT_SHARED, .n_vcpu = c, .n_nq = c, .vcpus = c, .queues = c
	};
}

static void test_static_ts(void **state)
{
	struct vs_sample s = { .busy_vcpu = 3, .busy_nq = 1 };
	struct vs_decision d = run("static-ts:20:20", 20, s, vs_alloc_initial(20), 0);

	/* every thread and IRQ on all 20 cores: both groups are the 20 cores */
	assert_int_equal(d.alloc.layout, VS_LAYOUT_SHARED_ALL);
	assert_int_equal(d.alloc.n_vcpu, 20);
	assert_int_equal(d.alloc.n_nq, 20);
	assert_int_equal(d.alloc.n_be, 0);
	assert_int_equal(d.alloc.vcpus, 20);
	assert_int_equal(d.alloc.queues, 20);
	d = run("static-ts:20:1", 20, s, vs_alloc_initial(20), 0);
	assert_int_equal(d.alloc.queues, 1);
}

static void test_static_iso(void **state)
{
	struct vs_sample s = { .busy_vcpu = 19, .busy_nq = 0 };
	struct vs_decision d = run("static-iso:16:4", 20, s, vs_alloc_initial(20), 0);

	/* fixed 16 + 4 whatever the load */
	assert_int_equal(d.alloc.layout, VS_LAYOUT_ISOLATED);
	assert_int_equal(d.alloc.n_vcpu, 16);
	assert_int_equal(d.alloc.n_nq, 4);
	assert_int_equal(d.alloc.queues, 4);
}

static void test_corenap(void **state)
{
	struct vs_sample s = { .busy_vcpu = 3, .busy_nq = 1 };
	struct vs_decision d;

	/* no latency: C = ceil((3 + 1)/0.8) = ceil(5) = 5; vCPUs = queues = 5 */
	d = run("corenap", 20, s, shared(8), 1000);
	assert_int_equal(d.alloc.layout, VS_LAYOUT_SHARED);
	assert_int_equal(d.alloc.n_vcpu, 5);
	assert_int_equal(d.alloc.n_nq, 5);
	assert_int_equal(d.alloc.vcpus, 5);
	assert_int_equal(d.alloc.queues, 5);
	/* p95 1200 > SLO 1000: demand ceil((1.6+0.8)/0.8) = 3 but grow past prev 5: 6 */
	s = (struct vs_sample){ .busy_vcpu = 1.6, .busy_nq = 0.8, .has_p95 = true, .p95_us = 1200 };
	d = run("corenap", 20, s, shared(5), 1000);
	assert_int_equal(d.alloc.n_vcpu, 6);
	/* p95 900 is within 20 % of the SLO: hold prev 6 rather than shrink to 3 */
	s.p95_us = 900;
	d = run("corenap", 20, s, shared(6), 1000);
	assert_int_equal(d.alloc.n_vcpu, 6);
	/* p95 500: plenty of slack, follow demand: 3 */
	s.p95_us = 500;
	d = run("corenap", 20, s, shared(6), 1000);
	assert_int_equal(d.alloc.n_vcpu, 3);
	/* over SLO at T: cannot grow past T = 6 */
	s.p95_us = 5000;
	d = run("corenap", 6, s, shared(6), 1000);
	assert_int_equal(d.alloc.n_vcpu, 6);
	/* isolated prev 4 + 2 counts as 6 cores */
	d = run("corenap", 20, s, (struct vs_alloc){ .n_vcpu = 4, .n_nq = 2 }, 1000);
	assert_int_equal(d.alloc.n_vcpu, 7);
}

static void test_demeter(void **state)
{
	/* vCPU threads 3.3 cores: C = ceil(3.3/0.8 = 4.125) = 5; packet work
	 * (busy_nq 6) is ignored; BE gets 20 - 5 = 15; queues fixed at 1 */
	struct vs_sample s = { .busy_vcpu = 9, .busy_nq = 6, .busy_vcpu_threads = 3.3 };
	struct vs_decision d = run("demeter:1", 20, s, vs_alloc_initial(20), 0);

	assert_int_equal(d.alloc.layout, VS_LAYOUT_SHARED);
	assert_int_equal(d.alloc.n_vcpu, 5);
	assert_int_equal(d.alloc.n_be, 15);
	assert_int_equal(d.alloc.queues, 1);
	assert_int_equal(d.alloc.vcpus, 20);
	assert_false(d.alloc.be_paused);
	/* threads need ceil(20/0.8) = 25 > T: all 20 cores, BE paused */
	s.busy_vcpu_threads = 20;
	d = run("demeter:20", 20, s, vs_alloc_initial(20), 0);
	assert_int_equal(d.alloc.n_vcpu, 20);
	assert_int_equal(d.alloc.n_be, 0);
	assert_int_equal(d.alloc.queues, 20);
	assert_true(d.alloc.be_paused);
}

static void test_bad_specs(void **state)
{
	static const char *const bad[] = { "static-ts",	    "static-ts:20",	"static-ts:0:1",
					   "static-ts:a:b", "static-ts:1:2:3",	"static-iso:16:5",
					   "demeter",	    "demeter:1:2",	"demeter:-1",
					   "corenap:2",	    "static-ts:1:2000", "" };
	struct vs_policy p;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(policy_lookup(bad[i], 20, &p, err, sizeof(err)), -1);
		assert_true(strlen(err) > 10);
	}
	assert_int_equal(policy_lookup("static-iso:16:4", 20, &p, err, sizeof(err)), 0);
	assert_int_equal(p.arg_vcpus, 16);
	assert_int_equal(p.arg_queues, 4);
	assert_string_equal(p.spec, "static-iso:16:4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_ts), cmocka_unit_test(test_static_iso),
		cmocka_unit_test(test_corenap),	  cmocka_unit_test(test_demeter),
		cmocka_unit_test(test_bad_specs),
	};
	return VS_RUN_TESTS(tests);
}
