/* test_invariants.c - every policy, thousands of random samples: groups >= 1 core, sum <= T, placed
 * sets disjoint. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "control/controller.h"
#include "testutil.h"

static const char *const specs[] = {
	"vspace-p",	  "vspace-e", "vspace-r",  "static-ts:20:20", "static-ts:20:1",
	"static-iso:1:1", "corenap",  "demeter:1", "demeter:20",
};
#define N_SPECS (sizeof(specs) / sizeof(specs[0]))

static double rand_busy(uint64_t *rng, int T)
{
	uint64_t k = vs_test_rand(rng) % 10;
	if (k == 0)
		return 0; /* idle */
	if (k == 1)
		return T; /* every core busy */
	return vs_test_unit(rng) * T * 1.2;
}

static struct vs_alloc rand_prev(uint64_t *rng, int T)
{
	int v = 1 + (int)(vs_test_rand(rng) % (unsigned)(T - 1));
	int n = 1 + (int)(vs_test_rand(rng) % (unsigned)(T - v));
	if (vs_test_rand(rng) % 4 == 0) {
		int c = 1 + (int)(vs_test_rand(rng) % (unsigned)T);
		return (struct vs_alloc){
			.layout = VS_LAYOUT_SHARED, .n_vcpu = c, .n_nq = c, .vcpus = c, .queues = c
		};
	}
	return (struct vs_alloc){
		.layout = VS_LAYOUT_ISOLATED, .n_vcpu = v, .n_nq = n, .vcpus = v, .queues = n
	};
}

/* alone: the allocation is the only LC workload on the host */
static void check_alloc(const struct vs_policy *pol, const struct vs_alloc *a, int T, bool alone)
{
	char what[160];

	snprintf(what, sizeof(what), "%s T=%d: %d+%d be %d", pol->spec, T, a->n_vcpu, a->n_nq,
		 a->n_be);
	if (!(a->n_vcpu >= 1 && a->n_nq >= 1 && a->n_be >= 0 && a->vcpus >= 1 && a->queues >= 1))
		fail_msg("group below 1 core: %s", what);
	if (a->layout == VS_LAYOUT_ISOLATED) {
		if (a->n_vcpu + a->n_nq + a->n_be > T)
			fail_msg("more than T cores: %s", what);
	} else {
		if (a->n_vcpu != a->n_nq || a->n_vcpu + a->n_be > T)
			fail_msg("shared group inconsistent: %s", what);
	}
	if (alone && pol->ops == &policy_vspace_p && a->n_vcpu + a->n_nq != T)
		fail_msg("P must use all cores: %s", what);
	if (alone && pol->ops == &policy_vspace_r && a->n_vcpu + a->n_nq + a->n_be != T)
		fail_msg("R must give every idle core to BE: %s", what);
	if (pol->ops->gives_be && a->be_paused != (a->n_be == 0))
		fail_msg("BE paused flag wrong: %s", what);
}

static void test_decide_random(void **state)
{
	uint64_t rng = 7;
	struct vs_params params;
	int checked = 0;

	vs_params_defaults(&params);
	for (size_t k = 0; k < N_SPECS; k++) {
		for (int iter = 0; iter < 3000; iter++) {
			int T = iter % 5 == 0	? 2
				: iter % 5 == 1 ? 256
						: 2 + (int)(vs_test_rand(&rng) % 255);
			struct vs_policy pol;
			char err[256];
			if (policy_lookup(specs[k], T, &pol, err, sizeof(err)) < 0)
				fail_msg("%s", err);
			struct vs_sample s = {
				.busy_vcpu = rand_busy(&rng, T),
				.busy_nq = rand_busy(&rng, T),
				.busy_vcpu_threads = rand_busy(&rng, T),
				.has_p95 = vs_test_rand(&rng) % 2 == 0,
				.p95_us = vs_test_unit(&rng) * 3000,
			};
			struct vs_alloc prev = rand_prev(&rng, T);
			struct vs_decide_in in = {
				.sample = &s,
				.prev = &prev,
				.th = { 0.3 + 0.65 * vs_test_unit(&rng),
					0.3 + 0.65 * vs_test_unit(&rng) },
				.n_cores = T,
				.slo_p95_us = iter % 3 == 0 ? 0 : 1000,
				.params = &params,
			};
			struct vs_decision d;
			memset(&d, 0, sizeof(d));
			pol.ops->decide(&pol, &in, &d);
			check_alloc(&pol, &d.alloc, T, true);
			assert_true(isfinite(d.want_vcpu) && isfinite(d.want_nq));
			assert_true(d.why[0] != '\0');
			checked++;
		}
	}
	assert_int_equal(checked, 3000 * (int)N_SPECS);
}

/* Platform feeding random samples to n workloads. */
struct rand_platform {
	struct vs_platform base;
	uint64_t rng;
	int T;
};

static int rand_sample(struct vs_platform *p, struct vs_host_sample *s)
{
	struct rand_platform *rp = vs_container_of(p, struct rand_platform, base);
	for (int i = 0; i < s->n_workloads; i++) {
		s->wl[i].busy_vcpu = rand_busy(&rp->rng, rp->T) / s->n_workloads;
		s->wl[i].busy_nq = rand_busy(&rp->rng, rp->T) / s->n_workloads;
		s->wl[i].busy_vcpu_threads = s->wl[i].busy_vcpu;
		s->wl[i].has_p95 = vs_test_rand(&rp->rng) % 3 != 0;
		s->wl[i].p95_us = vs_test_unit(&rp->rng) * 2000;
	}
	return 0;
}

static int rand_apply(struct vs_platform *p, const struct vs_plan *plan)
{
	return 0;
}

static const struct vs_platform_ops rand_ops = { .name = "random",
						 .sample = rand_sample,
						 .apply = rand_apply };

/* The whole loop: random traces through every policy, with exploration on
 * (small windows), 1-4 workloads; every plan's core sets are checked. */
static void test_controller_random(void **state)
{
	uint64_t rng = 99;
	int plans = 0;

	for (size_t k = 0; k < N_SPECS; k++) {
		for (int run = 0; run < 12; run++) {
			int T = run % 3 == 0   ? 2
				: run % 3 == 1 ? 256
					       : 2 + (int)(vs_test_rand(&rng) % 60);
			int n_wl = 1 + (int)(vs_test_rand(&rng) % 4);
			struct rand_platform rp = { .base = { .ops = &rand_ops },
						    .rng = rng + run,
						    .T = T };
			struct vs_controller c;
			struct vs_topology topo;
			struct vs_params params;
			struct vs_policy pol;
			char err[256];

			if (2 * n_wl > T)
				n_wl = T / 2;
			vs_params_defaults(&params);
			params.window = 5;
			topology_init_flat(&topo, T);
			assert_int_equal(policy_lookup(specs[k], T, &pol, err, sizeof(err)), 0);
			assert_int_equal(controller_init(&c, &pol, &params, &topo, &rp.base, err,
							 sizeof(err)),
					 0);
			for (int i = 0; i < n_wl; i++) {
				char name[16];
				snprintf(name, sizeof(name), "w%d", i);
				assert_true(controller_add_workload(&c, name, 1000, err,
								    sizeof(err)) >= 0);
			}
			assert_int_equal(controller_start(&c), 0);
			for (int step = 0; step < 60; step++) {
				struct vs_cpuset used;
				int lc = 0;

				assert_int_equal(controller_step(&c), 0);
				cpuset_zero(&used);
				for (int i = 0; i < n_wl; i++) {
					const struct vs_wl_plan *w = &c.plan.wl[i];
					check_alloc(&pol, &w->alloc, T, n_wl == 1);
					assert_int_equal(cpuset_count(&w->vcpu_cores),
							 w->alloc.n_vcpu);
					assert_int_equal(cpuset_count(&w->nq_cores), w->alloc.n_nq);
					for (int t = 0; t < 2; t++) {
						if (w->alloc.layout == VS_LAYOUT_SHARED_ALL)
							continue;
						const struct vs_cpuset *g =
							t ? &w->nq_cores : &w->vcpu_cores;
						if (t && w->alloc.layout == VS_LAYOUT_SHARED)
							continue;
						assert_false(cpuset_intersects(&used, g));
						cpuset_or(&used, &used, g);
					}
					lc += vs_alloc_lc_cores(&w->alloc);
					double th_v = c.wl[i].ex.th.vcpu, th_n = c.wl[i].ex.th.nq;
					assert_true(th_v >= params.th_min - 1e-12 &&
						    th_v <= params.th_max + 1e-12);
					assert_true(th_n >= params.th_min - 1e-12 &&
						    th_n <= params.th_max + 1e-12);
				}
				assert_false(cpuset_intersects(&used, &c.plan.be_cores));
				/* the host as a whole: P uses every core, R gives the rest to BE */
				if (pol.ops == &policy_vspace_p)
					assert_int_equal(lc, T);
				if (pol.ops == &policy_vspace_r)
					assert_int_equal(lc + cpuset_count(&c.plan.be_cores), T);
				if (pol.ops->fills_all || pol.ops == &policy_vspace_e)
					assert_true(lc <= T);
				assert_true(cpuset_count(&c.plan.be_cores) <= T);
				plans++;
			}
			controller_free(&c);
		}
	}
	assert_int_equal(plans, (int)N_SPECS * 12 * 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_random),
		cmocka_unit_test(test_controller_random),
	};
	return VS_RUN_TESTS(tests);
}
