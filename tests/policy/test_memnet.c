/* test_memnet.c - MemNet sizing: the M/M/1 quantile, saturation, the feedback factor, max-min division of the budget (expected values derived by hand in the comments). */
#include <math.h>
#include <string.h>

#include "policy/memnet.h"
#include "testutil.h"

static struct memnet_sizing_in in_of(double arrivals, double service_ms, double bytes,
				     double response_ms, double slo_ms)
{
	struct memnet_sizing_in in = { .interval_s = 1,
				       .arrivals = arrivals,
				       .service_ms = service_ms,
				       .object_bytes = bytes,
				       .has_response = response_ms >= 0,
				       .response_ms = response_ms,
				       .slo_ms = slo_ms };
	return in;
}

/* lambda 10/s, service 50 ms: mu 20/s, rho 0.5. P(N > n) = 0.5^(n+1) <= 0.05 first at
 * n = 4 (0.5^5 = 0.031; 0.5^4 = 0.0625). 4 results of 1 MiB: 4 MiB. Response on target:
 * factor stays 1. */
static void test_mm1_quantile(void **state)
{
	struct memnet_sizing_params p;
	struct memnet_sizing_state st = { 0 };
	struct memnet_sizing_in in = in_of(10, 50, 1048576, 90, 100);
	struct memnet_sizing_out out;

	memnet_sizing_defaults(&p);
	memnet_size(&p, &st, &in, &out);
	assert_true(fabs(out.lambda_per_s - 10) < 1e-9);
	assert_true(fabs(out.mu_per_s - 20) < 1e-9);
	assert_true(fabs(out.rho - 0.5) < 1e-9);
	assert_false(out.saturated);
	assert_true(out.n_jobs == 4);
	assert_true(out.factor == 1);
	assert_int_equal(out.request_bytes, 4u * 1048576u);
	/* rho 0.9 (lambda 18): ln 0.05 / ln 0.9 = 28.43 -> n = 28 (0.9^29 = 0.047) */
	in = in_of(18, 50, 100000, 90, 100);
	memnet_size(&p, &st, &in, &out);
	assert_true(out.n_jobs == 28);
	/* 28 * 100000 = 2.8 MB is over the 1 MiB floor; rounded up to a page: 2801664 */
	assert_int_equal(out.request_bytes, 2801664);
	/* rho small: at least one result while jobs arrive; the floor applies */
	in = in_of(1, 1, 4096, 1, 100);
	memnet_size(&p, &st, &in, &out);
	assert_true(out.n_jobs == 1);
	assert_int_equal(out.request_bytes, p.min_bytes);
	/* no jobs: n 0, the floor */
	in = in_of(0, 0, 0, -1, 100);
	memnet_size(&p, &st, &in, &out);
	assert_true(out.n_jobs == 0 && out.lambda_per_s == 0);
	assert_int_equal(out.request_bytes, p.min_bytes);
}

/* rho >= 1: Little's law at the target. lambda 30/s, mu 20/s, SLO 500 ms: n = 15. */
static void test_saturated(void **state)
{
	struct memnet_sizing_params p;
	struct memnet_sizing_state st = { 0 };
	struct memnet_sizing_in in = in_of(30, 50, 1048576, 400, 500);
	struct memnet_sizing_out out;

	memnet_sizing_defaults(&p);
	memnet_size(&p, &st, &in, &out);
	assert_true(out.saturated);
	assert_true(out.n_jobs == 15);
	assert_int_equal(out.request_bytes, 15u * 1048576u);
}

/* The factor: R = 2 SLO: *1.25; R = 1.5 SLO: *1.125; R in the band: kept; R = 0.4 SLO with
 * band 0.2: x = (0.8 - 0.4) / 0.8 = 0.5 -> *(1 - 0.125); clamps at 16 and 0.25. */
static void test_feedback(void **state)
{
	struct memnet_sizing_params p;
	struct memnet_sizing_state st = { 0 };
	struct memnet_sizing_in in = in_of(10, 50, 1048576, 200, 100);
	struct memnet_sizing_out out;

	memnet_sizing_defaults(&p);
	memnet_size(&p, &st, &in, &out);
	assert_true(fabs(out.factor - 1.25) < 1e-12);
	assert_int_equal(out.request_bytes, 5u * 1048576u); /* 1.25 * 4 MiB */
	in.response_ms = 150;
	memnet_size(&p, &st, &in, &out);
	assert_true(fabs(out.factor - 1.25 * 1.125) < 1e-12);
	in.response_ms = 90; /* within [80, 100]: kept */
	memnet_size(&p, &st, &in, &out);
	assert_true(fabs(out.factor - 1.25 * 1.125) < 1e-12);
	in.response_ms = 40;
	memnet_size(&p, &st, &in, &out);
	assert_true(fabs(out.factor - 1.25 * 1.125 * 0.875) < 1e-12);
	in.has_response = false; /* no feedback without a measurement */
	memnet_size(&p, &st, &in, &out);
	assert_true(fabs(out.factor - 1.25 * 1.125 * 0.875) < 1e-12);
	in.has_response = true;
	in.response_ms = 1e9;
	for (int i = 0; i < 40; i++)
		memnet_size(&p, &st, &in, &out);
	assert_true(out.factor == p.factor_max);
	in.response_ms = 0;
	for (int i = 0; i < 80; i++)
		memnet_size(&p, &st, &in, &out);
	assert_true(out.factor == p.factor_min);
	/* 0.25 * 4 MiB = 1 MiB = the floor */
	assert_int_equal(out.request_bytes, 1048576);
}

/* Budget 10 MiB, requests 2, 6, 8 MiB: fair share 10/3 = 3.33; the 2 MiB one is served,
 * the other two split the 8 left: 4 and 4. */
static void test_orchestrate(void **state)
{
	const uint64_t M = 1048576;
	uint64_t req[3] = { 6 * M, 2 * M, 8 * M }, grant[3];

	memnet_orchestrate(10 * M, req, NULL, 3, grant);
	assert_int_equal(grant[0], 4 * M);
	assert_int_equal(grant[1], 2 * M);
	assert_int_equal(grant[2], 4 * M);
	/* fits: everyone gets the request */
	memnet_orchestrate(16 * M, req, NULL, 3, grant);
	assert_int_equal(grant[0], 6 * M);
	assert_int_equal(grant[2], 8 * M);
	/* caps (the region's data area) bound a grant; what it leaves goes to the others:
	 * demands 6, 1 (capped), 8 in 10: 1, then 4.5 and 4.5 (rounded down to a page) */
	uint64_t cap[3] = { 0, 1 * M, 0 };
	memnet_orchestrate(10 * M, req, cap, 3, grant);
	assert_int_equal(grant[1], 1 * M);
	assert_int_equal(grant[0], 9 * M / 2 / 4096 * 4096);
	assert_int_equal(grant[2], 9 * M / 2 / 4096 * 4096);
	/* a liar asking for everything gets an equal share when the others ask for theirs */
	uint64_t liar[2] = { UINT64_C(1) << 50, 8 * M };
	memnet_orchestrate(16 * M, liar, NULL, 2, grant);
	assert_int_equal(grant[0], 8 * M);
	assert_int_equal(grant[1], 8 * M);
	/* invariant over random cases: sum <= budget, grant <= demand, pages */
	uint64_t seed = 7;
	for (int t = 0; t < 2000; t++) {
		uint64_t r[8], c[8], g[8], sum = 0, budget = vs_test_rand(&seed) % (64 * M);
		size_t n = 1 + vs_test_rand(&seed) % 8;
		for (size_t i = 0; i < n; i++) {
			r[i] = vs_test_rand(&seed) % (32 * M);
			c[i] = vs_test_rand(&seed) % 3 ? 0 : vs_test_rand(&seed) % (16 * M);
		}
		memnet_orchestrate(budget, r, c, n, g);
		for (size_t i = 0; i < n; i++) {
			uint64_t d = c[i] && c[i] < r[i] ? c[i] : r[i];
			assert_true(g[i] <= d);
			assert_int_equal(g[i] % 4096, 0);
			sum += g[i];
		}
		assert_true(sum <= budget);
	}
}

/* A VM whose put waits for room reports no finished job: the request still covers what it
 * holds plus what the put needs (3 MiB + 2 MiB), above the model's floor. */
static void test_need(void **state)
{
	struct memnet_sizing_params p;
	struct memnet_sizing_state st = { 0 };
	struct memnet_sizing_in in = in_of(0, 0, 0, -1, 100);
	struct memnet_sizing_out out;

	memnet_sizing_defaults(&p);
	in.used_bytes = 3u << 20;
	in.need_bytes = 2u << 20;
	memnet_size(&p, &st, &in, &out);
	assert_true(out.for_need);
	assert_int_equal(out.request_bytes, 5u << 20);
	/* below the model's answer it changes nothing: 4 MiB from the model */
	in = in_of(10, 50, 1048576, 90, 100);
	in.used_bytes = 1u << 20;
	in.need_bytes = 1u << 20;
	st.factor = 0;
	memnet_size(&p, &st, &in, &out);
	assert_false(out.for_need);
	assert_int_equal(out.request_bytes, 4u << 20); /* 90 ms of a 100 ms SLO: factor 1 */
}

static void test_params(void **state)
{
	struct memnet_sizing_params p;
	char err[128];

	memnet_sizing_defaults(&p);
	assert_int_equal(memnet_sizing_check(&p, err, sizeof(err)), 0);
	p.overflow_prob = 1;
	assert_int_equal(memnet_sizing_check(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "overflow probability"));
	memnet_sizing_defaults(&p);
	p.factor_max = 0.5;
	assert_int_equal(memnet_sizing_check(&p, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mm1_quantile), cmocka_unit_test(test_saturated),
		cmocka_unit_test(test_feedback),     cmocka_unit_test(test_orchestrate),
		cmocka_unit_test(test_need),	     cmocka_unit_test(test_params),
	};
	return VS_RUN_TESTS(tests);
}
