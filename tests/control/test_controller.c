/* test_controller.c - the loop's order (sample, explore, decide, place, apply) against a scripted
 * platform. */
#include <math.h>
#include <string.h>

#include "control/controller.h"
#include "testutil.h"

/* A platform that replays scripted samples and records what it was asked to apply. */
struct script_platform {
	struct vs_platform base;
	const struct vs_sample *rows; /* rows[period] for workload 0; others get row/2 */
	int n_rows, next_row;
	int samples, applies;
	bool fail_sample;
	struct vs_plan last;
	struct vs_wl_plan last_wl[8];
};

static int script_sample(struct vs_platform *p, struct vs_host_sample *s)
{
	struct script_platform *sp = vs_container_of(p, struct script_platform, base);
	sp->samples++;
	if (sp->fail_sample)
		return -1;
	if (sp->next_row < sp->n_rows) {
		for (int i = 0; i < s->n_workloads; i++) {
			s->wl[i] = sp->rows[sp->next_row];
			if (i > 0) {
				s->wl[i].busy_vcpu /= 2;
				s->wl[i].busy_nq /= 2;
			}
		}
		sp->next_row++;
	}
	return 0;
}

static int script_apply(struct vs_platform *p, const struct vs_plan *plan)
{
	struct script_platform *sp = vs_container_of(p, struct script_platform, base);
	sp->applies++;
	sp->last = *plan;
	memcpy(sp->last_wl, plan->wl, sizeof(plan->wl[0]) * (size_t)plan->n_workloads);
	sp->last.wl = sp->last_wl;
	return 0;
}

static const struct vs_platform_ops script_ops = { .name = "script",
						   .sample = script_sample,
						   .apply = script_apply };

static void setup(struct vs_controller *c, struct script_platform *sp, const char *policy, int T,
		  struct vs_params *p)
{
	struct vs_policy pol;
	struct vs_topology topo;
	char err[256];

	sp->base.ops = &script_ops;
	topology_init_flat(&topo, T);
	assert_int_equal(policy_lookup(policy, T, &pol, err, sizeof(err)), 0);
	assert_int_equal(controller_init(c, &pol, p, &topo, &sp->base, err, sizeof(err)), 0);
}

static void test_start_applies_half_split(void **state)
{
	struct vs_controller c;
	struct script_platform sp = { 0 };
	struct vs_params p;
	char err[128];

	vs_params_defaults(&p);
	setup(&c, &sp, "vspace-e", 21, &p);
	assert_int_equal(controller_add_workload(&c, "web", 1000, err, sizeof(err)), 0);
	assert_int_equal(controller_start(&c), 0);
	assert_int_equal(sp.applies, 1);
	assert_int_equal(sp.samples, 0);
	assert_int_equal(sp.last.wl[0].alloc.n_vcpu, 11);
	assert_int_equal(sp.last.wl[0].alloc.n_nq, 10);
	assert_int_equal(sp.last.seq, 1);
	assert_false(sp.last.be_paused); /* vspace-e: no best-effort work to pause */
	/* starting again changes nothing */
	assert_int_equal(controller_start(&c), 0);
	assert_int_equal(sp.applies, 1);
	controller_free(&c);
}

static void test_explore_before_decide(void **state)
{
	/* T = 20, E, window 2, allow_violation 0 (allowed = 0), SLO 1000.
	 * Period 1 (cores 10+10): U 4, 2, p95 2000: u = 0.4, 0.2. Decide with Th 0.8:
	 *   req_v = ceil(5) = 5, prev 10 > 5: min(10, ceil(5.5)) = 6;
	 *   req_n = ceil(2.5) = 3, prev 10 > 3: min(10, ceil(2.75)) = 3 -> 6 + 3
	 * Period 2 (cores 6+3): the same U: u = 0.667, 0.667; the window is full:
	 *   V = both, dec = 2; Lv = p2(0.667) p1(0.4); Ln = p2(0.667) p1(0.2)
	 *   1) dv = 0.8-0.667 = dn: dv <= dn: Tv' = 0.667, remove p2
	 *   2) sv = sn = p1: dv = 0.667-0.4 = 0.267 < dn = 0.8-0.2 = 0.6: Tv' = 0.4
	 *   Th_v = 0.3*0.8 + 0.7*0.4 = 0.52, Th_n = 0.8
	 *   decide with the new Th_v: req_v = ceil(4/0.52 = 7.69) = 8 > prev 6: 8;
	 *   req_n = 3 = prev: 3 -> 8 + 3 (with the old Th_v it would stay 6 + 3) */
	static const struct vs_sample rows[] = {
		{ .busy_vcpu = 4, .busy_nq = 2, .has_p95 = true, .p95_us = 2000 },
		{ .busy_vcpu = 4, .busy_nq = 2, .has_p95 = true, .p95_us = 2000 },
	};
	struct vs_controller c;
	struct script_platform sp = { .rows = rows, .n_rows = 2 };
	struct vs_params p;
	char err[128];

	vs_params_defaults(&p);
	p.window = 2;
	p.allow_violation = 0;
	setup(&c, &sp, "vspace-e", 20, &p);
	assert_int_equal(controller_add_workload(&c, "web", 1000, err, sizeof(err)), 0);
	assert_int_equal(controller_start(&c), 0);
	assert_int_equal(controller_step(&c), 0);
	assert_int_equal(sp.last.wl[0].alloc.n_vcpu, 6);
	assert_int_equal(sp.last.wl[0].alloc.n_nq, 3);
	assert_float_equal(c.wl[0].ex.th.vcpu, 0.8, 1e-12);
	assert_int_equal(controller_step(&c), 0);
	assert_float_equal(c.wl[0].ex.th.vcpu, 0.52, 1e-9);
	assert_float_equal(c.wl[0].ex.th.nq, 0.8, 1e-12);
	assert_int_equal(sp.last.wl[0].alloc.n_vcpu, 8);
	assert_int_equal(sp.last.wl[0].alloc.n_nq, 3);
	assert_int_equal(sp.samples, 2);
	assert_int_equal(sp.applies, 3);
	assert_int_equal(sp.last.seq, 3);
	char text[2048];
	controller_explain(&c, text, sizeof(text));
	assert_non_null(strstr(text, "last window: cut, 2 of 2 samples over SLO"));
	assert_non_null(strstr(text, "workload web"));
	controller_free(&c);
}

static void test_skip_and_hold(void **state)
{
	static const struct vs_sample rows[] = { { .busy_vcpu = 1, .busy_nq = 1 },
						 { .busy_vcpu = 1, .busy_nq = 1 } };
	struct vs_controller c;
	struct script_platform sp = { .rows = rows, .n_rows = 2 };
	struct vs_params p;
	char err[128];

	vs_params_defaults(&p);
	setup(&c, &sp, "vspace-e", 8, &p);
	assert_int_equal(controller_add_workload(&c, "web", 0, err, sizeof(err)), 0);
	assert_int_equal(controller_start(&c), 0);
	sp.fail_sample = true;
	assert_int_equal(controller_step(&c), 1);
	assert_int_equal(c.skipped, 1);
	assert_int_equal(sp.applies, 1);
	sp.fail_sample = false;
	c.hold = true;
	assert_int_equal(controller_step(&c), 0);
	assert_int_equal(sp.applies, 1); /* paused: measured, not applied */
	assert_int_equal(c.plan.wl[0].alloc.n_vcpu, 4);
	c.hold = false;
	assert_int_equal(controller_step(&c), 0);
	assert_int_equal(sp.applies, 2);
	/* 1/0.8 -> 2 + 2 */
	assert_int_equal(c.plan.wl[0].alloc.n_vcpu, 2);
	controller_free(&c);
}

static void test_workloads_come_and_go(void **state)
{
	static const struct vs_sample rows[] = { { .busy_vcpu = 6, .busy_nq = 2 },
						 { .busy_vcpu = 6, .busy_nq = 2 },
						 { .busy_vcpu = 6, .busy_nq = 2 },
						 { .busy_vcpu = 6, .busy_nq = 2 } };
	struct vs_controller c;
	struct script_platform sp = { .rows = rows, .n_rows = 4 };
	struct vs_params p;
	char err[128];

	vs_params_defaults(&p);
	setup(&c, &sp, "vspace-r", 16, &p);
	assert_int_equal(controller_add_workload(&c, "a", 0, err, sizeof(err)), 0);
	assert_int_equal(controller_add_workload(&c, "b", 0, err, sizeof(err)), 1);
	assert_int_equal(controller_add_workload(&c, "a", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already exists"));
	/* first allocation: fair share 8 each, split 4 + 4 */
	assert_int_equal(controller_start(&c), 0);
	assert_int_equal(c.plan.wl[0].alloc.n_vcpu, 4);
	assert_int_equal(c.plan.wl[1].alloc.n_nq, 4);
	/* a: 6/0.8 = 7.5 -> 8, 2/0.8 = 2.5 -> 3; b (half load): 3.75 -> 4, 1.25 -> 2;
	 * 17 > 16: shared by demand 7.5 : 2.5 : 3.75 : 1.25 (sum 15) of 16:
	 * ideal 8, 2.667, 4, 1.333 -> 8,2,4,1 = 15, one more by largest
	 * remainder (0.667, group 1): 8,3,4,1 */
	assert_int_equal(controller_step(&c), 0);
	assert_int_equal(c.plan.wl[0].alloc.n_vcpu, 8);
	assert_int_equal(c.plan.wl[0].alloc.n_nq, 3);
	assert_int_equal(c.plan.wl[1].alloc.n_vcpu, 4);
	assert_int_equal(c.plan.wl[1].alloc.n_nq, 1);
	assert_true(c.plan.be_paused);
	controller_remove_workload(&c, 0);
	assert_int_equal(c.n_wl, 1);
	assert_int_equal(controller_find_workload(&c, "b"), 0);
	/* b alone is now workload 0 and gets the full row 6, 2: req 8 + 3 (prev
	 * 4 + 1, so it grows at once); BE gets 16 - 11 = 5 */
	assert_int_equal(controller_step(&c), 0);
	assert_int_equal(c.plan.wl[0].alloc.n_vcpu, 8);
	assert_int_equal(c.plan.wl[0].alloc.n_nq, 3);
	assert_int_equal(cpuset_count(&c.plan.be_cores), 5);
	controller_free(&c);
}

static void test_first_allocation_pauses_be(void **state)
{
	struct vs_controller c;
	struct script_platform sp = { 0 };
	struct vs_params p;
	char err[128];

	/* vspace-r, one workload: the first allocation is 4 + 4 of 8 cores, so no
	 * core is left for best-effort work: it must be paused */
	vs_params_defaults(&p);
	setup(&c, &sp, "vspace-r", 8, &p);
	assert_int_equal(controller_add_workload(&c, "web", 0, err, sizeof(err)), 0);
	assert_int_equal(controller_start(&c), 0);
	assert_int_equal(sp.last.wl[0].alloc.n_be, 0);
	assert_true(sp.last.be_paused);
	controller_free(&c);
}

static void test_too_many_workloads(void **state)
{
	struct vs_controller c;
	struct script_platform sp = { 0 };
	struct vs_params p;
	char err[128];

	vs_params_defaults(&p);
	setup(&c, &sp, "vspace-e", 4, &p);
	assert_int_equal(controller_add_workload(&c, "a", 0, err, sizeof(err)), 0);
	assert_int_equal(controller_add_workload(&c, "b", 0, err, sizeof(err)), 1);
	assert_int_equal(controller_add_workload(&c, "c", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 6 cores"));
	controller_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_applies_half_split),
		cmocka_unit_test(test_explore_before_decide),
		cmocka_unit_test(test_skip_and_hold),
		cmocka_unit_test(test_workloads_come_and_go),
		cmocka_unit_test(test_first_allocation_pauses_be),
		cmocka_unit_test(test_too_many_workloads),
	};
	return VS_RUN_TESTS(tests);
}
