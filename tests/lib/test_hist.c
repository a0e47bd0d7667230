/* test_hist.c - the histogram's percentile error bound on known distributions. */
#include <math.h>
#include <stdlib.h>

#include "lib/hist.h"
#include "testutil.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Check every listed quantile against the exact order statistic of the
 * sorted sample: relative error within 1 % (the design bound is 1/256). */
static void check_quantiles(uint64_t *v, size_t n)
{
	static const double qs[] = { 0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0 };
	struct vs_hist *h = malloc(sizeof(*h));

	hist_init(h);
	for (size_t i = 0; i < n; i++)
		hist_add(h, v[i]);
	qsort(v, n, sizeof(v[0]), cmp_u64);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		size_t rank = (size_t)ceil(qs[k] * (double)n - 1e-9);
		uint64_t exact = v[rank - 1], got = hist_quantile(h, qs[k]);
		double rel = exact ? fabs((double)got - (double)exact) / (double)exact : 0;
		if (rel > 0.01)
			fail_msg("q%.3f: got %llu, exact %llu (%.3f%%)", qs[k],
				 (unsigned long long)got, (unsigned long long)exact, rel * 100);
		assert_true(rel <= 1.0 / 256 + 1e-12);
	}
	assert_int_equal(h->total, n);
	free(h);
}

static void test_uniform(void **state)
{
	uint64_t rng = 1;
	size_t n = 200000;
	uint64_t *v = malloc(n * sizeof(*v));

	/* uniform 1 us .. 10 ms in ns */
	for (size_t i = 0; i < n; i++)
		v[i] = 1000 + (uint64_t)(vs_test_unit(&rng) * 9999000.0);
	check_quantiles(v, n);
	free(v);
}

static void test_exponential(void **state)
{
	uint64_t rng = 2;
	size_t n = 200000;
	uint64_t *v = malloc(n * sizeof(*v));

	/* exponential, mean 250 us, in ns: heavy right tail across many octaves */
	for (size_t i = 0; i < n; i++)
		v[i] = 1 + (uint64_t)(-log(1 - vs_test_unit(&rng)) * 250000.0);
	check_quantiles(v, n);
	free(v);
}

static void test_buckets_cover(void **state)
{
	/* every value falls in a bucket whose [low, low + width) contains it, and
	 * a bucket is at most 1/128 of its low value wide */
	uint64_t rng = 3;
	for (int i = 0; i < 100000; i++) {
		uint64_t v = vs_test_rand(&rng) >> (vs_test_rand(&rng) % 64);
		int b = hist_bucket(v);
		assert_true(b >= 0 && b < VS_HIST_BUCKETS);
		assert_true(hist_bucket_low(b) <= v);
		assert_true(v - hist_bucket_low(b) < hist_bucket_width(b));
		if (v >= VS_HIST_SUB)
			assert_true(hist_bucket_width(b) * 128 <= hist_bucket_low(b));
	}
	assert_int_equal(hist_bucket(UINT64_MAX), VS_HIST_BUCKETS - 1);
	for (uint64_t v = 0; v < 128; v++)
		assert_int_equal(hist_bucket_low(hist_bucket(v)), v);
}

static void test_merge_mean_ci(void **state)
{
	struct vs_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uint64_t lo, hi;

	hist_init(a);
	hist_init(b);
	assert_int_equal(hist_quantile(a, 0.95), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		hist_add(v <= 500 ? a : b, v * 1000);
	hist_merge(a, b);
	assert_int_equal(a->total, 1000);
	assert_float_equal(hist_mean(a), 500500.0, 1e-6);
	assert_int_equal(a->min, 1000);
	assert_int_equal(a->max, 1000000);
	/* p95 = 950th value = 950000 within 1/256 */
	assert_true(fabs((double)hist_quantile(a, 0.95) - 950000.0) <= 950000.0 / 256);
	/* 95 % interval for p95 of n = 1000: ranks 950 -/+ 1.96*sqrt(47.5) = 936.5 .. 963.5 */
	hist_quantile_ci(a, 0.95, 1.96, &lo, &hi);
	assert_true(fabs((double)lo - 936000.0) <= 936000.0 / 256);
	assert_true(fabs((double)hi - 964000.0) <= 964000.0 / 256);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_exponential),
		cmocka_unit_test(test_buckets_cover),
		cmocka_unit_test(test_merge_mean_ci),
	};
	return VS_RUN_TESTS(tests);
}
