/* test_etc.c - the loadgen's request mix: Poisson gaps, ETC key/value size fits, unique keys, report lines. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen/etc.h"
#include "loadgen/loadgen.h"
#include "loadgen/report.h"
#include "testutil.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Exponential gaps: mean and the share above the mean (e^-1) match a Poisson process. */
static void test_exp_gaps(void **state)
{
	struct etc_rng r;
	int n = 400000, above = 0;
	double sum = 0;

	etc_rng_seed(&r, 42);
	for (int i = 0; i < n; i++) {
		double g = etc_rng_exp(&r, 50.0);
		assert_true(g >= 0);
		sum += g;
		above += g > 50.0;
	}
	/* standard error of the mean: 50 / sqrt(n) = 0.08; allow 5 of them */
	assert_true(fabs(sum / n - 50.0) < 0.4);
	assert_true(fabs((double)above / n - exp(-1)) < 0.005);
}

/* Inverse CDFs against the fits' closed-form quantiles. */
static void test_icdf(void **state)
{
	/* GEV median: mu + s/k ((ln 2)^-k - 1) */
	double med =
		ETC_KEY_LOC + ETC_KEY_SCALE / ETC_KEY_SHAPE * (pow(log(2), -ETC_KEY_SHAPE) - 1);
	assert_true(fabs(etc_key_size_icdf(0.5) - med) < 1e-9);
	assert_true(fabs(med - 33.85) < 0.05);
	/* GPD: P(X > x) = (1 + k x / s)^(-1/k); at u = 0.9, x = s/k (10^k - 1) */
	double x90 = ETC_VALUE_SCALE / ETC_VALUE_SHAPE * (pow(10, ETC_VALUE_SHAPE) - 1);
	assert_true(fabs(etc_value_size_icdf(0.9) - x90) < 1e-9);
	assert_true(fabs(pow(1 + ETC_VALUE_SHAPE * x90 / ETC_VALUE_SCALE, -1 / ETC_VALUE_SHAPE) -
			 0.1) < 1e-12);
	/* monotone */
	for (double u = 0.01; u < 0.99; u += 0.01) {
		assert_true(etc_key_size_icdf(u + 0.01) > etc_key_size_icdf(u));
		assert_true(etc_value_size_icdf(u + 0.01) > etc_value_size_icdf(u));
	}
}

/* Drawn sizes: within the clamps, medians near the fits' medians. */
static void test_key_space(void **state)
{
	struct etc_keys k;
	uint32_t n = 50000;
	double *ks = malloc(n * sizeof(*ks)), *vs = malloc(n * sizeof(*vs));
	char a[ETC_KEY_MAX + 1], b[ETC_KEY_MAX + 1];

	assert_int_equal(etc_keys_init(&k, n, 4096, 3), 0);
	for (uint32_t i = 0; i < n; i++) {
		assert_true(k.key_len[i] >= ETC_KEY_MIN && k.key_len[i] <= ETC_KEY_MAX);
		assert_true(k.value_len[i] >= 1 && k.value_len[i] <= 4096);
		ks[i] = k.key_len[i];
		vs[i] = k.value_len[i];
	}
	qsort(ks, n, sizeof(*ks), cmp_double);
	qsort(vs, n, sizeof(*vs), cmp_double);
	/* key median 33.85 -> 34 after rounding; value median s/k (2^k - 1) = 168.3 */
	assert_true(fabs(ks[n / 2] - 34) <= 1);
	assert_true(fabs(vs[n / 2] - 168.3) < 6);
	/* the clamp at 4096 is reached by about (1 + k 4096 / s)^(-1/k) = 0.29 % of values */
	assert_true(vs[n - 1] == 4096);
	/* keys: exact length, memcached-safe characters, unique (id in the first 9 bytes) */
	for (uint32_t i = 0; i < n; i += 997) {
		size_t la = etc_key_format(&k, i, a);
		assert_int_equal(la, k.key_len[i]);
		for (size_t j = 0; j < la; j++)
			assert_true(a[j] > ' ' && a[j] < 127);
		size_t lb = etc_key_format(&k, i + 1, b);
		assert_false(la == lb && memcmp(a, b, la) == 0);
	}
	etc_key_format(&k, 0x12ab, a);
	assert_memory_equal(a, "k000012ab", 9);
	/* same seed, same key space */
	struct etc_keys k2;
	assert_int_equal(etc_keys_init(&k2, n, 4096, 3), 0);
	assert_memory_equal(k.key_len, k2.key_len, n);
	etc_keys_free(&k2);
	etc_keys_free(&k);
	free(ks);
	free(vs);
}

static void test_report_spec(void **state)
{
	char path[REPORT_PATH_MAX], wl[REPORT_WORKLOAD_MAX], err[256];

	assert_int_equal(report_parse_spec("unix:/run/x.sock:web", path, sizeof(path), wl,
					   sizeof(wl), err, sizeof(err)),
			 0);
	assert_string_equal(path, "/run/x.sock");
	assert_string_equal(wl, "web");
	/* a path with a colon: the workload is after the last one */
	assert_int_equal(report_parse_spec("unix:/tmp/a:b.sock:mem-1", path, sizeof(path), wl,
					   sizeof(wl), err, sizeof(err)),
			 0);
	assert_string_equal(path, "/tmp/a:b.sock");
	assert_string_equal(wl, "mem-1");
	static const char *const bad[] = { "tcp:1.2.3.4:5:web", "unix:/x.sock",
					   "unix::web",		"unix:/x.sock:",
					   "unix:/x.sock:we b", "unix:/x.sock:a\"b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(report_parse_spec(bad[i], path, sizeof(path), wl, sizeof(wl), err,
						   sizeof(err)),
				 -1);
		assert_true(strlen(err) > 10);
	}
}

/* The report line is vspaced's "report" request, and valid JSON. */
static void test_report_format(void **state)
{
	char *line = report_format("web", 850.5, 1234);
	json_error_t e;
	json_t *o = json_loads(line, 0, &e);

	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "cmd")), "report");
	assert_string_equal(json_string_value(json_object_get(o, "workload")), "web");
	assert_true(fabs(json_real_value(json_object_get(o, "p95_us")) - 850.5) < 1e-9);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), 1234);
	assert_null(strchr(line, '\n'));
	json_decref(o);
	free(line);
}

static void test_server_parse(void **state)
{
	struct loadgen_config c;
	char err[256];

	loadgen_config_init(&c);
	assert_int_equal(loadgen_set_server(&c, "127.0.0.1:11211", err, sizeof(err)), 0);
	assert_int_equal(c.addr.ss_family, AF_INET);
	assert_int_equal(loadgen_set_server(&c, "[::1]:80", err, sizeof(err)), 0);
	assert_int_equal(c.addr.ss_family, AF_INET6);
	static const char *const bad[] = { "127.0.0.1",	     "127.0.0.1:0", "127.0.0.1:65536",
					   "127.0.0.1:http", ":80",	    "[::1]80",
					   "127.0.0.1:1x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(loadgen_set_server(&c, bad[i], err, sizeof(err)), -1);
}

/* Search verdicts: each reason a run fails, the judge's status with it. */
static void test_search_judge(void **state)
{
	struct loadgen_config c;
	struct loadgen_result *r = calloc(1, sizeof(*r));
	const char *v;
	int st;

	loadgen_config_init(&c);
	hist_init(&r->latency);
	hist_init(&r->lag);
	for (int i = 0; i < 100; i++)
		hist_add(&r->latency, 100000 + (uint64_t)i * 10000); /* 100 .. 1090 us */
	r->scheduled = r->sent = r->received = r->completed = r->ok = 100;
	r->duration_s = 1;
	assert_true(loadgen_search_judge(&c, r, 1100, &v, &st));
	assert_string_equal(v, "ok");
	assert_int_equal(st, LOADGEN_OK);
	/* p95 = 95th value = 1040 us: the run is valid, the SLO missed */
	assert_false(loadgen_search_judge(&c, r, 1000, &v, &st));
	assert_string_equal(v, "p95 over SLO");
	assert_int_equal(st, LOADGEN_OK);
	r->received = 90;
	assert_false(loadgen_search_judge(&c, r, 1100, &v, &st));
	assert_string_equal(v, "rate not held");
	assert_int_equal(st, LOADGEN_E_RATE);
	r->ok = 99;
	r->timeouts = 1;
	assert_false(loadgen_search_judge(&c, r, 1100, &v, &st));
	assert_string_equal(v, "timeouts");
	assert_int_equal(st, LOADGEN_E_TIMEOUTS);
	r->ok = 100;
	r->timeouts = 0;
	r->received = 100;
	r->lagging = true;
	assert_false(loadgen_search_judge(&c, r, 1100, &v, &st));
	assert_string_equal(v, "sender lag");
	assert_int_equal(st, LOADGEN_E_LAG);
	r->lagging = false;
	r->ok = 0;
	r->received = 100; /* answered, but nothing that counts */
	r->errors = 100;
	assert_false(loadgen_search_judge(&c, r, 1100, &v, &st));
	assert_string_equal(v, "error replies");
	/* a schedule that drew nothing measured nothing: not "no replies" */
	memset(r, 0, sizeof(*r));
	r->duration_s = 0.3;
	assert_false(loadgen_search_judge(&c, r, 1100, &v, &st));
	assert_string_equal(v, "no request drawn");
	assert_int_equal(st, LOADGEN_OK);
	r->scheduled = r->sent = 3; /* drawn, none answered: the server's failure */
	assert_false(loadgen_search_judge(&c, r, 1100, &v, &st));
	assert_string_equal(v, "rate not held");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exp_gaps),      cmocka_unit_test(test_icdf),
		cmocka_unit_test(test_key_space),     cmocka_unit_test(test_report_spec),
		cmocka_unit_test(test_report_format), cmocka_unit_test(test_server_parse),
		cmocka_unit_test(test_search_judge),
	};
	return VS_RUN_TESTS(tests);
}
