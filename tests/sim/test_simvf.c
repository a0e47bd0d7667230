/* test_simvf.c - the FlexVF model (src/sim/vf.c): latencies built from its stages, PV latency rising with the host's load, drops at full rings, the strategies' VF shares, determinism. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simrun/vf.h"
#include "testutil.h"

/* A small host: 20 VMs in 4 groups, short windows. */
static struct simvf_cfg small(void)
{
	struct simvf_cfg c;
	simvf_defaults(&c);
	c.vms = 20;
	c.vfs = 2;
	c.intervals = 10;
	c.window_ms = 20;
	c.warmup_ms = 5;
	c.host_cores = 8;
	return c;
}

static struct simvf_result *run(const struct simvf_cfg *c)
{
	struct simvf_result *r = calloc(1, sizeof(*r));
	char err[256];

	assert_non_null(r);
	if (simvf_run(c, r, err, sizeof(err)) < 0)
		printf("# %s\n", err);
	return r;
}

static double q_us(const struct simvf_result *r, int g, double q)
{
	return (double)hist_quantile(&r->group[g].lat_ns, q) / 1000;
}

/* With every VM on a VF a packet costs the wire and the guest only; with
 * none on a VF and an idle host, the wire, the host path and the guest. */
static void test_stages(void **state)
{
	struct simvf_cfg c = small();
	struct simvf_result *r;
	/* 1,538 B at 25 Gb/s: 0.49 us */
	double wire = 1538 * 8 / 25e9 * 1e6;

	c.vfs = c.vms;
	c.strategy = &vf_policy_activity;
	c.n_groups = 1;
	c.group_pps[0] = 1000; /* light: no queueing */
	r = run(&c);
	assert_true(fabs(q_us(r, 0, 0.5) - (wire + c.guest_vf_ns / 1000)) < 0.1);
	assert_true(r->host_util_mean == 0);
	assert_int_equal(r->group[0].vf_intervals, r->group[0].vm_intervals);
	free(r);
	c.strategy = NULL;
	r = run(&c);
	assert_true(fabs(q_us(r, 0, 0.5) - (wire + (c.host_pkt_ns + c.guest_pv_ns) / 1000)) < 0.1);
	assert_int_equal(r->group[0].vf_intervals, 0);
	assert_int_equal(r->plugs, 0);
	free(r);
}

/* PV latency rises with the host's load: fewer cores, or dearer packets. */
static void test_pv_grows_with_load(void **state)
{
	struct simvf_cfg c = small();
	double last = 0;

	c.strategy = NULL;
	for (int cores = 16; cores >= 8; cores -= 2) {
		c.host_cores = cores;
		struct simvf_result *r = run(&c);
		double p95 = q_us(r, 0, 0.95);
		assert_true(p95 >= last);
		last = p95;
		free(r);
	}
	/* 20 VMs averaging 60 kpps at 4 us need 4.8 cores: on 4 the NIC rings fill */
	c.host_cores = 4;
	struct simvf_result *r = run(&c);
	assert_true(r->group[0].drops > 0);
	assert_true(r->host_util_mean > 0.99);
	free(r);
}

/* fair gives every group the same share of VF intervals (N / V); activity
 * gives them to the busiest group; VF holders see no host stage. */
static void test_shares(void **state)
{
	struct simvf_cfg c = small();
	struct simvf_result *r;

	c.intervals = 20;
	c.strategy = &vf_policy_fair;
	r = run(&c);
	for (int g = 0; g < 4; g++)
		assert_int_equal(r->group[g].vf_intervals * 10, r->group[g].vm_intervals);
	free(r);
	c.strategy = &vf_policy_activity;
	r = run(&c);
	assert_int_equal(
		r->group[0].vf_intervals + r->group[1].vf_intervals + r->group[2].vf_intervals, 0);
	assert_int_equal(r->group[3].vf_intervals, 2 * 20);
	/* the busiest group's VF holders: p5 is the VF path's */
	assert_true(q_us(r, 3, 0.05) < q_us(r, 0, 0.05));
	free(r);
}

/* Rates varying by 10 % make activity swap VFs among equals each interval;
 * a 25 % margin stops that. */
static void test_hysteresis_plugs(void **state)
{
	struct simvf_cfg c = small();
	struct simvf_result *a, *b;

	c.strategy = &vf_policy_activity;
	c.n_groups = 1;
	c.group_pps[0] = 50000;
	a = run(&c);
	c.hysteresis = 0.25;
	b = run(&c);
	assert_true(a->plugs > 5);
	assert_int_equal(b->plugs, 2);
	free(a);
	free(b);
}

/* The same seed gives the same result; another seed another one. */
static void test_deterministic(void **state)
{
	struct simvf_cfg c = small();
	struct simvf_result *a = run(&c), *b = run(&c), *d;

	c.bulk_pps = 0;
	assert_true(memcmp(a, b, sizeof(*a)) == 0);
	c.seed = 2;
	d = run(&c);
	assert_true(memcmp(a, d, sizeof(*a)) != 0);
	free(a);
	free(b);
	free(d);
}

/* The bulk neighbour: a TCP-like stream at its bottleneck (its vCPU), on a VF
 * under activity all the time. */
static void test_bulk(void **state)
{
	struct simvf_cfg c = small();
	struct simvf_result *r;

	c.bulk_pps = 800000;
	c.strategy = &vf_policy_activity;
	r = run(&c);
	assert_true(r->has_bulk);
	assert_int_equal(r->group[4].vf_intervals, r->group[4].vm_intervals);
	/* 0.95 of 1/3.2 us per packet, measured over the windows */
	double pps =
		(double)r->group[4].packets / (c.intervals * (c.window_ms - c.warmup_ms) / 1e3);
	assert_true(fabs(pps - 0.95e9 / c.guest_vf_ns) / pps < 0.02);
	free(r);
}

static void test_check(void **state)
{
	struct simvf_cfg c = small();
	char err[256];

	c.vms = 0;
	assert_int_equal(simvf_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--vms"));
	c = small();
	c.group_pps[1] = -1;
	assert_int_equal(simvf_check(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--groups"));
	c = small();
	c.window_ms = c.warmup_ms;
	assert_int_equal(simvf_check(&c, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stages),	      cmocka_unit_test(test_pv_grows_with_load),
		cmocka_unit_test(test_shares),	      cmocka_unit_test(test_hysteresis_plugs),
		cmocka_unit_test(test_deterministic), cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_check),
	};
	return VS_RUN_TESTS(tests);
}
