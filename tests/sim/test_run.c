/* test_run.c - one simulated run under the real controller: every packet path, determinism,
 * BE co-location, parallel runs, and configuration errors. */
#include <math.h>
#include <string.h>

#include "simrun/run.h"
#include "simrun/scenario.h"
#include "testutil.h"

static void small(struct sim_run_config *c, const char *policy, double qps)
{
	sim_run_defaults(c, SIM_WL_MEMCACHED);
	snprintf(c->policy, sizeof(c->policy), "%s", policy);
	c->n_phases = 1;
	c->phase[0] = (struct sim_phase){ .duration_s = 0.6, .qps = qps };
	c->warmup_s = 0.2;
}

/* Every path carries a moderate load: replies match requests, the p95 is
 * small, the decision was always placeable. */
static void test_paths_carry_load(void **state)
{
	const char *pol[] = {
		"vspace-p", "vspace-e", "static-ts:20:20", "static-iso:16:4", "corenap",
		"es2",	    "sriov"
	};

	for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
		struct sim_run_config c;
		struct sim_run_result r;
		char err[256];

		small(&c, pol[i], 60000);
		if (strcmp(pol[i], "corenap") == 0)
			/* with the halt-poll accounting corenap sizes its time-shared
			 * group by demand, and KVM polling in so small a group costs
			 * milliseconds (test_polling_in_small_shared_group): this test
			 * is about the paths, so corenap runs as before the accounting */
			c.halt_poll_accounting = VS_HALTPOLL_OFF;
		assert_int_equal(sim_run(&c, &r, err, sizeof(err)), 0);
		print_message("# %-16s p95 %6.1f us, %.0f QPS, %.2f exits/req, %.1f LC cores\n",
			      pol[i], r.p95_us, r.achieved_qps, r.exits_per_req, r.mean_lc_cores);
		assert_true(fabs(r.achieved_qps - 60000) < 3000);
		assert_true(r.p95_us > 10 && r.p95_us < 1000);
		assert_int_equal(r.plan_errors, 0);
		assert_int_equal(r.anomalies, 0);
		assert_int_equal(r.periods, 4);
		if (strcmp(pol[i], "sriov") == 0)
			assert_true(r.pirqs_per_s == 0);
		else
			assert_true(r.pirqs_per_s > 0);
		/* the per-stage breakdown adds up to the mean latency */
		double sum = 0;
		for (int k = 0; k < SIM_STAGES; k++)
			sum += r.stage_us[k];
		assert_true(fabs(sum - r.mean_us) < 0.02 * r.mean_us + 1);
	}
}

/* KVM halt polling in a small time-shared group (docs/SIMULATOR.md, "What the
 * sweeps show"): a core where a vCPU polls is not idle to wake-up placement,
 * so the other threads of the group wait behind busy cores. 2 cores, 2 vCPUs,
 * 2 queues, all time-shared, 50k: with polling the p95 is many times that
 * without (measured: 4.9 ms against 0.21 ms), whatever the accounting (a
 * static policy). */
static void test_polling_in_small_shared_group(void **state)
{
	double p95[2];

	for (int k = 0; k < 2; k++) {
		struct sim_run_config c;
		struct sim_run_result r;
		char err[256];

		small(&c, "static-ts:2:2", 50000);
		c.n_cores = 2;
		c.phase[0].duration_s = 1.0;
		c.halt_poll_us = k ? 200 : 0;
		assert_int_equal(sim_run(&c, &r, err, sizeof(err)), 0);
		p95[k] = r.p95_us;
		print_message("# static-ts:2:2 on 2 cores at 50k, halt polling %s: p95 %.1f us\n",
			      k ? "200 us" : "off", r.p95_us);
		assert_true(fabs(r.achieved_qps - 50000) < 5000);
	}
	assert_true(p95[0] < 1000);
	assert_true(p95[1] > 5 * p95[0]);
}

/* Overload (drops, retransmissions, ksoftirqd, deferred guest softirq) on every
 * path: requests are conserved (none completes twice). */
static void test_overload_conserves_requests(void **state)
{
	const char *pol[] = { "vspace-e", "static-ts:20:1", "static-ts:20:20",
			      "es2",	  "sriov",	    "corenap" };

	for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
		struct sim_run_config c;
		struct sim_run_result r;
		char err[256];

		small(&c, pol[i], 700000);
		c.phase[0].duration_s = 0.5;
		assert_int_equal(sim_run(&c, &r, err, sizeof(err)), 0);
		print_message("# %-16s at 700k: %.0f QPS, %.0f drops/s\n", pol[i], r.achieved_qps,
			      r.drops_per_s);
		assert_int_equal(r.anomalies, 0);
		assert_true(r.achieved_qps < 700000 * 1.05);
	}
}

static void test_same_seed_same_result(void **state)
{
	struct sim_run_config c;
	struct sim_run_result a, b, d;
	char err[256];

	small(&c, "vspace-e", 120000);
	assert_int_equal(sim_run(&c, &a, err, sizeof(err)), 0);
	assert_int_equal(sim_run(&c, &b, err, sizeof(err)), 0);
	c.seed = 2;
	assert_int_equal(sim_run(&c, &d, err, sizeof(err)), 0);
	assert_true(a.events == b.events);
	assert_true(a.p95_us == b.p95_us && a.energy_j == b.energy_j);
	assert_true(a.events != d.events);
}

/* vspace-r hands the idle cores to a CPU-bound BE VM; static policies give it
 * none (it stays paused). */
static void test_be_vm_gets_idle_cores(void **state)
{
	struct sim_run_config c;
	struct sim_run_result r;
	char err[256];

	small(&c, "vspace-r", 30000);
	c.n_be_vcpus = 8;
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), 0);
	print_message("# vspace-r at 30k: BE cores %.1f, BE CPU %.2f cores, p95 %.1f us\n",
		      r.mean_be_cores, r.be_cores, r.p95_us);
	assert_true(r.mean_be_cores >= 4);
	/* 8 CPU-bound vCPUs use all of their cores, up to 8 */
	double can = r.mean_be_cores < 8 ? r.mean_be_cores : 8;
	assert_true(r.be_cores > 0.95 * can && r.be_cores <= can + 0.01);
	small(&c, "static-ts:20:20", 30000);
	c.n_be_vcpus = 8;
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), 0);
	assert_true(r.be_cores < 0.01);
}

/* Configurations run in child processes give exactly what they give here. */
static void test_parallel_equals_serial(void **state)
{
	struct sim_run_config c[3];
	struct sim_run_result par[3], ser[3];
	char err[256];

	small(&c[0], "vspace-p", 80000);
	small(&c[1], "es2", 80000);
	small(&c[2], "static-ts:20:1", 80000);
	assert_int_equal(sim_scen_parallel(c, NULL, 3, 2, par, err, sizeof(err)), 0);
	assert_int_equal(sim_scen_parallel(c, NULL, 3, 1, ser, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(par[i].events == ser[i].events);
		assert_true(par[i].p95_us == ser[i].p95_us);
	}
}

/*
 * Two LC workloads on one simulated host under one controller, through the
 * reconcile path (SPEC §3.5): vspace-p hands out all 20 cores in proportion to
 * demand, so the workload offered 4 times the load gets more; both keep their
 * SLO; their replies are their own.
 */
static void test_two_lc_workloads(void **state)
{
	struct sim_run_config c;
	struct sim_run_result r;
	char err[256];

	small(&c, "vspace-p", 200000);
	c.n_lc = 2;
	c.lc_scale[1] = 0.25;
	c.phase[0].duration_s = 1.5;
	c.warmup_s = 0.5;
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n_lc, 2);
	for (int i = 0; i < 2; i++)
		print_message("# lc%d: %.0f QPS offered, %.0f achieved, p95 %.1f us, %.2f + %.2f "
			      "cores\n",
			      i + 1, r.lc[i].offered_qps, r.lc[i].achieved_qps, r.lc[i].p95_us,
			      r.lc[i].mean_vcpu_cores, r.lc[i].mean_nq_cores);
	assert_true(fabs(r.lc[0].achieved_qps - 200000) < 10000);
	assert_true(fabs(r.lc[1].achieved_qps - 50000) < 3000);
	assert_true(r.lc[0].p95_us < 1000 && r.lc[1].p95_us < 1000);
	/* all 20 cores, the busier workload more of them */
	double c0 = r.lc[0].mean_vcpu_cores + r.lc[0].mean_nq_cores;
	double c1 = r.lc[1].mean_vcpu_cores + r.lc[1].mean_nq_cores;
	assert_true(fabs(c0 + c1 - 20) < 0.01);
	assert_true(c0 > c1 && c1 >= 2);
	/* the run's own figures are the first workload's */
	assert_true(r.p95_us == r.lc[0].p95_us);
	assert_int_equal(r.plan_errors, 0);
	assert_int_equal(r.anomalies, 0);
}

static void test_bad_configurations(void **state)
{
	struct sim_run_config c;
	struct sim_run_result r;
	char err[256];

	small(&c, "no-such-policy", 1000);
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown policy"));

	small(&c, "vspace-e", 1000);
	c.phase[0].duration_s = 0.01;
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least one period"));

	small(&c, "vspace-e", 1000);
	c.n_cores = 65;
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cores = 65"));

	small(&c, "vspace-e", 1000);
	c.slo_us = 0;
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SLO"));

	small(&c, "static-iso:18:4", 1000);
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs 22 cores"));

	small(&c, "vspace-e", 1000);
	c.n_lc = SIM_MAX_VMS + 1;
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "LC workloads is out of range"));

	small(&c, "vspace-e", 1000);
	c.halt_poll_accounting = (enum vs_haltpoll_mode)7;
	assert_int_equal(sim_run(&c, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "halt-poll accounting 7 is not auto or off"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_carry_load),
		cmocka_unit_test(test_polling_in_small_shared_group),
		cmocka_unit_test(test_overload_conserves_requests),
		cmocka_unit_test(test_same_seed_same_result),
		cmocka_unit_test(test_be_vm_gets_idle_cores),
		cmocka_unit_test(test_parallel_equals_serial),
		cmocka_unit_test(test_two_lc_workloads),
		cmocka_unit_test(test_bad_configurations),
	};
	return VS_RUN_TESTS(tests);
}
