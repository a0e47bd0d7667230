/* test_controller.c - the loop's order (sample, explore, decide, place, apply) against a scripted
 * platform. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "control/controller.h"
#include "lib/strutil.h"
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
	controller_set_hold(&c, true);
	assert_int_equal(controller_step(&c), 0);
	assert_int_equal(sp.applies, 1); /* paused: measured, not applied */
	assert_int_equal(c.plan.wl[0].alloc.n_vcpu, 4);
	controller_set_hold(&c, false);
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

/* ---- Reconcile: discovery reports by name, the controller follows ---------------------------- */

/* A host whose workloads come and go by name: refresh reports the changes,
 * sample measures each workload by the name the controller gives, apply
 * records the plan. Its own order of workloads is not the controller's. */
struct named_wl {
	const char *name;
	bool present, reported;
	double busy_vcpu, busy_nq;
};

struct named_platform {
	struct vs_platform base;
	struct named_wl wl[4];
	int n_wl;
	struct vs_wl_report app[4], van[4];
	struct vs_plan last;
	struct vs_wl_plan last_wl[4];
	int unknown_samples; /* names asked for that the host does not know */
};

static int named_refresh(struct vs_platform *p, double now_s, struct vs_discovery *d)
{
	struct named_platform *np = vs_container_of(p, struct named_platform, base);

	memset(d, 0, sizeof(*d));
	d->appeared = np->app;
	d->vanished = np->van;
	for (int i = 0; i < np->n_wl; i++) {
		struct named_wl *w = &np->wl[i];
		struct vs_wl_report *r;
		if (w->present == w->reported)
			continue;
		w->reported = w->present;
		r = w->present ? &np->app[d->n_appeared++] : &np->van[d->n_vanished++];
		memset(r, 0, sizeof(*r));
		str_copy(r->name, w->name, sizeof(r->name));
		r->slo_p95_us = 1000;
		snprintf(r->found, sizeof(r->found), "%s", w->present ? "found" : "gone");
	}
	return 0;
}

static int named_sample(struct vs_platform *p, struct vs_host_sample *s)
{
	struct named_platform *np = vs_container_of(p, struct named_platform, base);

	for (int i = 0; i < s->n_workloads; i++) {
		const struct named_wl *w = NULL;
		for (int k = 0; k < np->n_wl; k++)
			if (!strcmp(np->wl[k].name, s->name[i]))
				w = &np->wl[k];
		s->present[i] = w && w->present;
		if (!w) {
			np->unknown_samples++;
			continue;
		}
		s->wl[i] = (struct vs_sample){ .busy_vcpu = w->busy_vcpu, .busy_nq = w->busy_nq };
	}
	s->period_s = 0.1;
	return 0;
}

static int named_apply(struct vs_platform *p, const struct vs_plan *plan)
{
	struct named_platform *np = vs_container_of(p, struct named_platform, base);

	np->last = *plan;
	memcpy(np->last_wl, plan->wl, sizeof(plan->wl[0]) * (size_t)plan->n_workloads);
	np->last.wl = np->last_wl;
	return 0;
}

static const struct vs_platform_ops named_ops = {
	.name = "named", .refresh = named_refresh, .sample = named_sample, .apply = named_apply
};

/* What reconcile told its caller, one line per event: "+web found", "-web
 * gone", "!c why". */
struct notes {
	char text[1024];
	size_t n;
};

static void note(void *arg, enum vs_reconcile_event ev, const struct vs_wl_report *wl,
		 const char *why)
{
	struct notes *nt = arg;
	str_appendf(nt->text, sizeof(nt->text), &nt->n, "%c%s %s\n",
		    ev == VS_RECONCILE_ADDED	 ? '+'
		    : ev == VS_RECONCILE_DROPPED ? '-'
						 : '!',
		    wl->name, why);
}

static int named_sync(struct vs_controller *c, struct named_platform *np, struct notes *nt)
{
	struct vs_discovery d;

	nt->n = 0;
	nt->text[0] = '\0';
	assert_int_equal(np->base.ops->refresh(&np->base, 0, &d), 0);
	return controller_reconcile(c, &d, note, nt);
}

static void named_setup(struct vs_controller *c, struct named_platform *np, int T)
{
	struct vs_policy pol;
	struct vs_topology topo;
	struct vs_params p;
	char err[256];

	vs_params_defaults(&p);
	p.explore = false;
	np->base.ops = &named_ops;
	topology_init_flat(&topo, T);
	assert_int_equal(policy_lookup("vspace-e", T, &pol, err, sizeof(err)), 0);
	assert_int_equal(controller_init(c, &pol, &p, &topo, &np->base, err, sizeof(err)), 0);
}

/* Two workloads through reconcile: each is measured and planned by its name,
 * whatever the order on either side; one vanishes, the other keeps its
 * numbers. */
static void test_reconcile_two_workloads(void **state)
{
	/* the host lists db first; web appears first */
	struct named_platform np = {
		.wl = { { .name = "db", .busy_vcpu = 3, .busy_nq = 1 },
			{ .name = "web", .present = true, .busy_vcpu = 6, .busy_nq = 2 } },
		.n_wl = 2
	};
	struct vs_controller c;
	struct notes nt;

	named_setup(&c, &np, 20);
	assert_int_equal(named_sync(&c, &np, &nt), 1);
	assert_string_equal(nt.text, "+web found\n");
	np.wl[0].present = true;
	assert_int_equal(named_sync(&c, &np, &nt), 1);
	assert_string_equal(nt.text, "+db found\n");
	assert_int_equal(named_sync(&c, &np, &nt), 0); /* nothing new */
	assert_string_equal(nt.text, "");
	assert_int_equal(c.n_wl, 2);
	assert_string_equal(c.wl[0].name, "web");
	assert_string_equal(c.wl[1].name, "db");
	assert_float_equal(c.wl[1].slo_p95_us, 1000, 0);

	/* first allocation: 10 cores each, split 5 + 5; the plan names them */
	assert_int_equal(controller_start(&c), 0);
	assert_int_equal(np.last.n_workloads, 2);
	assert_string_equal(np.last.wl[0].name, "web");
	assert_string_equal(np.last.wl[1].name, "db");

	/* the period (Th 0.8, prev 5 + 5; a shrinking group keeps 1.1 x its need):
	 * web 6/0.8 = 7.5 -> 8, 2/0.8 = 2.5 -> ceil(2.75) = 3;
	 * db 3/0.8 = 3.75 -> ceil(4.125) = 5, 1/0.8 = 1.25 -> ceil(1.375) = 2 */
	assert_int_equal(controller_step(&c), 0);
	assert_int_equal(np.unknown_samples, 0);
	assert_float_equal(c.wl[0].last.busy_vcpu, 6, 0);
	assert_float_equal(c.wl[1].last.busy_vcpu, 3, 0);
	assert_string_equal(np.last.wl[0].name, "web");
	assert_int_equal(np.last.wl[0].alloc.n_vcpu, 8);
	assert_int_equal(np.last.wl[0].alloc.n_nq, 3);
	assert_string_equal(np.last.wl[1].name, "db");
	assert_int_equal(np.last.wl[1].alloc.n_vcpu, 5);
	assert_int_equal(np.last.wl[1].alloc.n_nq, 2);

	/* web vanishes: db moves to the front with its own numbers and cores */
	np.wl[1].present = false;
	assert_int_equal(named_sync(&c, &np, &nt), 0);
	assert_string_equal(nt.text, "-web gone\n");
	assert_int_equal(c.n_wl, 1);
	assert_int_equal(controller_find_workload(&c, "db"), 0);
	assert_int_equal(c.plan.wl[0].alloc.n_vcpu, 5);
	assert_int_equal(c.plan.wl[0].alloc.n_nq, 2);
	assert_int_equal(controller_step(&c), 0);
	assert_int_equal(np.last.n_workloads, 1);
	assert_string_equal(np.last.wl[0].name, "db");
	assert_float_equal(c.wl[0].last.busy_vcpu, 3, 0);
	assert_int_equal(np.last.wl[0].alloc.n_vcpu, 5); /* its need has not changed */
	assert_int_equal(np.last.wl[0].alloc.n_nq, 2);

	/* web comes back: a new first allocation, by name again */
	np.wl[1].present = true;
	assert_int_equal(named_sync(&c, &np, &nt), 1);
	assert_int_equal(controller_start(&c), 0);
	assert_string_equal(np.last.wl[1].name, "web");
	assert_int_equal(controller_step(&c), 0);
	assert_float_equal(c.wl[1].last.busy_vcpu, 6, 0);
	assert_int_equal(np.unknown_samples, 0);
	controller_free(&c);
}

/* A workload that does not fit waits, is noted once, and is admitted when
 * another leaves; one that vanishes while waiting is forgotten. */
static void test_reconcile_waits_for_room(void **state)
{
	struct named_platform np = { .wl = { { .name = "a", .present = true },
					     { .name = "b", .present = true },
					     { .name = "c", .present = true },
					     { .name = "d" } },
				     .n_wl = 4 };
	struct vs_controller c;
	struct notes nt;

	named_setup(&c, &np, 4); /* room for two */
	assert_int_equal(named_sync(&c, &np, &nt), 2);
	assert_string_equal(nt.text, "+a found\n+b found\n!c workload \"c\": 3 LC workloads need "
				     "at least 6 cores, only 4 managed\n");
	assert_int_equal(c.n_waiting, 1);
	assert_int_equal(named_sync(&c, &np, &nt), 0);
	assert_string_equal(nt.text, ""); /* refused once, told once */
	np.wl[3].present = true;	  /* d waits behind c */
	assert_int_equal(named_sync(&c, &np, &nt), 0);
	assert_non_null(strstr(nt.text, "!d "));
	assert_int_equal(c.n_waiting, 2);

	np.wl[0].present = false; /* a leaves: c, first in line, is admitted */
	assert_int_equal(named_sync(&c, &np, &nt), 1);
	assert_string_equal(nt.text, "-a gone\n+c found\n");
	assert_int_equal(controller_find_workload(&c, "c"), 1);
	assert_int_equal(controller_find_workload(&c, "d"), -1);

	np.wl[3].present = false; /* d leaves while waiting: forgotten, no note */
	assert_int_equal(named_sync(&c, &np, &nt), 0);
	assert_string_equal(nt.text, "");
	assert_int_equal(c.n_waiting, 0);
	assert_int_equal(c.n_wl, 2);
	controller_free(&c);
}

/* The setters: by name, checked. */
static void test_setters(void **state)
{
	struct named_platform np = { .wl = { { .name = "web", .present = true } }, .n_wl = 1 };
	struct vs_controller c;
	struct notes nt;
	struct vs_thresholds th = { .vcpu = 0.5, .nq = 0.6 }, bad = { .vcpu = 0, .nq = 0.6 };
	char err[256];

	named_setup(&c, &np, 8);
	assert_int_equal(named_sync(&c, &np, &nt), 1);
	assert_int_equal(controller_set_thresholds(&c, "web", &th, err, sizeof(err)), 0);
	assert_float_equal(c.wl[0].ex.th.vcpu, 0.5, 0);
	assert_float_equal(c.wl[0].ex.th.nq, 0.6, 0);
	assert_int_equal(controller_set_thresholds(&c, "web", &bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "(0, 1]"));
	assert_float_equal(c.wl[0].ex.th.vcpu, 0.5, 0); /* unchanged */
	assert_int_equal(controller_set_thresholds(&c, "nope", &th, err, sizeof(err)), -1);
	assert_string_equal(err, "no workload \"nope\"");
	assert_int_equal(controller_set_slo(&c, "web", 250, err, sizeof(err)), 0);
	assert_float_equal(c.wl[0].slo_p95_us, 250, 0);
	assert_int_equal(controller_set_slo(&c, "web", -1, err, sizeof(err)), -1);
	assert_int_equal(controller_set_slo(&c, "web", NAN, err, sizeof(err)), -1);
	assert_float_equal(c.wl[0].slo_p95_us, 250, 0);
	assert_int_equal(controller_set_slo(&c, "nope", 250, err, sizeof(err)), -1);
	controller_set_hold(&c, true);
	assert_true(c.hold);
	controller_set_hold(&c, false);
	assert_false(c.hold);
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
		cmocka_unit_test(test_reconcile_two_workloads),
		cmocka_unit_test(test_reconcile_waits_for_room),
		cmocka_unit_test(test_setters),
	};
	return VS_RUN_TESTS(tests);
}
