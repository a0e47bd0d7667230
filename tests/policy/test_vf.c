/* test_vf.c - FlexVF's VF ranking: activity is exactly the top N, fair gives equal shares, min hold, hysteresis, pinning, ties (src/policy/vf.c, src/control/vfsched.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/vfsched.h"
#include "policy/vf.h"
#include "testutil.h"

#define MAXN 64

static char names[MAXN][16];

static void set_names(struct vf_cand *c, int n)
{
	for (int i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "vm%02d", i);
		c[i].name = names[i];
	}
}

static struct vf_params params(int n_vfs, double hyst, int hold)
{
	struct vf_params p;
	vf_params_defaults(&p);
	p.n_vfs = n_vfs;
	p.hysteresis = hyst;
	p.min_hold = hold;
	return p;
}

/* The reference: activity's order (rate down, holder first, name). */
static int ref_cmp(const void *a, const void *b)
{
	const struct vf_cand *x = *(const struct vf_cand *const *)a;
	const struct vf_cand *y = *(const struct vf_cand *const *)b;
	if (x->pps != y->pps)
		return x->pps > y->pps ? -1 : 1;
	if (x->st.holds != y->st.holds)
		return x->st.holds ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* activity with the defaults grants exactly the N highest rates, whatever
 * was held before, with ties broken as documented. */
static void test_activity_is_top_n(void **state)
{
	uint64_t rng = 42;

	for (int iter = 0; iter < 3000; iter++) {
		struct vf_cand c[MAXN] = { 0 };
		const struct vf_cand *sorted[MAXN];
		struct vf_verdict v[MAXN];
		int n = 1 + (int)(vs_test_rand(&rng) % MAXN);
		int n_elig = 0;
		struct vf_params p = params((int)(vs_test_rand(&rng) % (unsigned)(n + 3)), 0, 1);
		struct vf_decide_in in = { .cand = c, .n = n, .interval = iter, .params = &p };

		set_names(c, n);
		for (int i = 0; i < n; i++) {
			/* few distinct rates: many ties */
			c[i].pps = (double)(vs_test_rand(&rng) % 6) * 1000;
			c[i].eligible = vs_test_rand(&rng) % 8 != 0;
			c[i].st.holds = vs_test_rand(&rng) % 3 == 0;
			c[i].st.held_for = c[i].st.holds ? 1 + (int)(vs_test_rand(&rng) % 5) : 0;
			if (c[i].eligible)
				sorted[n_elig++] = &c[i];
		}
		qsort(sorted, (size_t)n_elig, sizeof(sorted[0]), ref_cmp);
		int got = vf_decide(&vf_policy_activity, &in, v);
		int want = n_elig < p.n_vfs ? n_elig : p.n_vfs;
		assert_int_equal(got, want);
		for (int r = 0; r < n_elig; r++) {
			int i = (int)(sorted[r] - c);
			assert_int_equal(v[i].grant, r < p.n_vfs);
			assert_int_equal(v[i].rank, r + 1);
		}
		for (int i = 0; i < n; i++)
			if (!c[i].eligible)
				assert_false(v[i].grant);
	}
}

/* fair, every VM present from the start: after t intervals each VM has held
 * floor(tN/M) or ceil(tN/M) of them, and after a whole cycle (M intervals)
 * exactly N each. */
static void test_fair_equal_shares(void **state)
{
	for (int m = 1; m <= 13; m++)
		for (int nv = 0; nv <= m + 1; nv++) {
			struct vf_sched s;
			struct vf_params p = params(nv, 0, 1);
			char err[128], name[16];
			int eff = nv < m ? nv : m;

			assert_int_equal(vf_sched_init(&s, &vf_policy_fair, &p, err, sizeof(err)),
					 0);
			for (int t = 1; t <= 3 * m; t++) {
				vf_sched_begin(&s);
				for (int i = 0; i < m; i++) {
					snprintf(name, sizeof(name), "v%d", i);
					/* rates must not matter to fair */
					assert_true(vf_sched_report(&s, name,
								    (double)((i * 7919 + t) % 97),
								    err, sizeof(err)) >= 0);
				}
				assert_int_equal(vf_sched_decide(&s), eff);
				long lo = (long)t * eff / m, hi = ((long)t * eff + m - 1) / m;
				for (int i = 0; i < m; i++) {
					assert_true(s.vm[i].st.served >= lo);
					assert_true(s.vm[i].st.served <= hi);
				}
				if (t % m == 0)
					for (int i = 0; i < m; i++)
						assert_int_equal(s.vm[i].st.served,
								 (long)t * eff / m);
			}
			vf_sched_free(&s);
		}
}

/* fair: a VM that joins late starts at the others' least count, so it does
 * not hold a VF for the whole history it missed, and shares are +-1 again
 * one cycle later. */
static void test_fair_joiner(void **state)
{
	struct vf_sched s;
	struct vf_params p = params(2, 0, 1);
	char err[128];
	const char *vm[] = { "a", "b", "c", "d" };

	assert_int_equal(vf_sched_init(&s, &vf_policy_fair, &p, err, sizeof(err)), 0);
	for (int t = 0; t < 30; t++) {
		vf_sched_begin(&s);
		for (int i = 0; i < 3; i++)
			vf_sched_report(&s, vm[i], 1, err, sizeof(err));
		vf_sched_decide(&s);
	}
	assert_int_equal(s.vm[0].st.served, 20); /* 30 * 2 / 3 */
	int streak = 0, max_streak = 0;
	for (int t = 0; t < 8; t++) {
		vf_sched_begin(&s);
		for (int i = 0; i < 4; i++)
			vf_sched_report(&s, vm[i], 1, err, sizeof(err));
		vf_sched_decide(&s);
		int d = vf_sched_find(&s, "d");
		streak = s.vm[d].v.grant ? streak + 1 : 0;
		max_streak = streak > max_streak ? streak : max_streak;
	}
	assert_true(max_streak <= 2);
	long lo = s.vm[0].st.served, hi = lo;
	for (int i = 0; i < 4; i++) {
		lo = s.vm[i].st.served < lo ? s.vm[i].st.served : lo;
		hi = s.vm[i].st.served > hi ? s.vm[i].st.served : hi;
	}
	assert_true(hi - lo <= 1);
	vf_sched_free(&s);
}

/* Hysteresis: a holder at 1000 pkt/s keeps its VF against 1200 with a 25 %
 * margin (1250 needed); 1300 takes it. */
static void test_hysteresis(void **state)
{
	struct vf_cand c[2] = { 0 };
	struct vf_verdict v[2];
	struct vf_params p = params(1, 0.25, 1);
	struct vf_decide_in in = { .cand = c, .n = 2, .params = &p };
	char why[200];

	set_names(c, 2);
	c[0] = (struct vf_cand){ .name = "holder",
				 .pps = 1000,
				 .eligible = true,
				 .st = { .holds = true, .held_for = 4, .served = 4 } };
	c[1] = (struct vf_cand){ .name = "contender", .pps = 1200, .eligible = true };
	assert_int_equal(vf_decide(&vf_policy_activity, &in, v), 1);
	assert_true(v[0].grant);
	assert_int_equal(v[0].why, VF_WHY_MARGIN_KEPT);
	assert_int_equal(v[0].other, 1);
	assert_false(v[1].grant);
	assert_int_equal(v[1].why, VF_WHY_MARGIN_SHORT);
	vf_why_text(&vf_policy_activity, &in, v, 1, why, sizeof(why));
	assert_string_equal(why, "no VF: outranks holder (1000 pkt/s) but not by the 25% margin "
				 "(1250 pkt/s needed)");
	c[1].pps = 1250; /* must exceed, not equal */
	vf_decide(&vf_policy_activity, &in, v);
	assert_true(v[0].grant);
	c[1].pps = 1300;
	vf_decide(&vf_policy_activity, &in, v);
	assert_false(v[0].grant);
	assert_int_equal(v[0].why, VF_WHY_OUTRANKED);
	assert_true(v[1].grant);
	assert_int_equal(v[1].why, VF_WHY_DISPLACES);
	vf_why_text(&vf_policy_activity, &in, v, 0, why, sizeof(why));
	assert_string_equal(why, "releases its VF to contender: rank 2 of 2 by packet rate "
				 "(1000 pkt/s)");
	/* with no margin the original strategy: the higher rate wins */
	p.hysteresis = 0;
	c[1].pps = 1001;
	vf_decide(&vf_policy_activity, &in, v);
	assert_true(v[1].grant);
	/* and at an equal rate the holder stays */
	c[1].pps = 1000;
	vf_decide(&vf_policy_activity, &in, v);
	assert_true(v[0].grant);
	assert_int_equal(v[0].why, VF_WHY_RANK);
}

/* Several swaps: the strongest contender is matched with the weakest
 * holder; a swap happens only past the margin, and holders not beaten stay. */
static void test_hysteresis_pairs(void **state)
{
	struct vf_cand c[6] = { 0 };
	struct vf_verdict v[6];
	struct vf_params p = params(3, 0.5, 1);
	struct vf_decide_in in = { .cand = c, .n = 6, .params = &p };
	/* holders h1 100, h2 200, h3 1000; contenders 400, 290, 50 */
	const char *nm[6] = { "h1", "h2", "h3", "c1", "c2", "c3" };
	double pps[6] = { 100, 200, 1000, 400, 290, 50 };

	for (int i = 0; i < 6; i++)
		c[i] = (struct vf_cand){ .name = nm[i],
					 .pps = pps[i],
					 .eligible = true,
					 .st = { .holds = i < 3, .held_for = i < 3 ? 5 : 0 } };
	/* wanted: h3 1000, c1 400, c2 290; c1 vs h1 (100*1.5=150): swap; c2 vs h2 (300): no */
	assert_int_equal(vf_decide(&vf_policy_activity, &in, v), 3);
	assert_true(v[2].grant && v[2].why == VF_WHY_RANK);
	assert_true(v[3].grant && v[3].why == VF_WHY_DISPLACES && v[3].other == 0);
	assert_true(!v[0].grant && v[0].why == VF_WHY_OUTRANKED && v[0].other == 3);
	assert_true(v[1].grant && v[1].why == VF_WHY_MARGIN_KEPT && v[1].other == 4);
	assert_true(!v[4].grant && v[4].why == VF_WHY_MARGIN_SHORT);
	assert_true(!v[5].grant && v[5].why == VF_WHY_NO_ROOM);
}

/* Minimum hold: a grant lasts K intervals even when outranked at once; then
 * it goes to the higher rate. */
static void test_min_hold(void **state)
{
	struct vf_sched s;
	struct vf_params p = params(1, 0, 3);
	char err[128];
	int a, b, held = 0;

	assert_int_equal(vf_sched_init(&s, &vf_policy_activity, &p, err, sizeof(err)), 0);
	vf_sched_begin(&s);
	a = vf_sched_report(&s, "a", 100, err, sizeof(err));
	b = vf_sched_report(&s, "b", 10, err, sizeof(err));
	vf_sched_decide(&s);
	assert_true(s.vm[a].v.grant);
	/* now b is far busier: a keeps the VF for 3 intervals in all */
	for (int t = 0; t < 4; t++) {
		vf_sched_begin(&s);
		vf_sched_report(&s, "a", 1, err, sizeof(err));
		vf_sched_report(&s, "b", 5000, err, sizeof(err));
		vf_sched_decide(&s);
		if (s.vm[a].v.grant) {
			held++;
			assert_int_equal(s.vm[a].v.why, VF_WHY_MIN_HOLD);
		}
	}
	assert_int_equal(held, 2);    /* intervals 2 and 3 of its hold */
	assert_true(s.vm[b].v.grant); /* took it at the 4th, holds it by min_hold at the 5th */
	assert_string_equal(s.vm[b].why, "keeps: held 1 of the minimum 3 intervals");
	/* a hold of 1 is the original: re-decided every interval */
	s.params.min_hold = 1;
	vf_sched_begin(&s);
	vf_sched_report(&s, "a", 9000, err, sizeof(err));
	vf_sched_report(&s, "b", 5000, err, sizeof(err));
	vf_sched_decide(&s);
	assert_true(s.vm[a].v.grant);
	vf_sched_free(&s);
}

/* Pinned VMs hold a VF whatever their rank, within N; ineligible holders are
 * released; a shrunken pool releases the weakest holders. */
static void test_pinned_ineligible_shrink(void **state)
{
	struct vf_cand c[4] = { 0 };
	struct vf_verdict v[4];
	struct vf_params p = params(2, 0.1, 1);
	struct vf_decide_in in = { .cand = c, .n = 4, .params = &p };

	set_names(c, 4);
	for (int i = 0; i < 4; i++) {
		c[i].eligible = true;
		c[i].pps = 1000.0 * (i + 1);
	}
	c[0].pinned = true;
	assert_int_equal(vf_decide(&vf_policy_activity, &in, v), 2);
	assert_true(v[0].grant && v[0].why == VF_WHY_PINNED);
	assert_true(v[3].grant && v[3].why == VF_WHY_FREE);
	assert_false(v[1].grant || v[2].grant);
	c[1].pinned = c[2].pinned = true; /* three pinned, two VFs: the best ranked two */
	vf_decide(&vf_policy_activity, &in, v);
	assert_true(v[2].grant && v[1].grant);
	assert_true(!v[0].grant && v[0].why == VF_WHY_NO_ROOM);
	assert_false(v[3].grant);

	for (int i = 0; i < 4; i++) {
		c[i].pinned = false;
		c[i].st = (struct vf_hold){ .holds = true, .held_for = 2 };
	}
	c[3].eligible = false;
	p.n_vfs = 2; /* four holders, two VFs: the weakest eligible go */
	assert_int_equal(vf_decide(&vf_policy_activity, &in, v), 2);
	assert_true(!v[3].grant && v[3].why == VF_WHY_RELEASED);
	assert_true(v[2].grant && v[1].grant);
	assert_true(!v[0].grant && v[0].why == VF_WHY_NO_ROOM);
}

/* fair ignores rates and hysteresis; random is deterministic per seed and
 * interval, grants exactly N and varies between intervals. */
static void test_fair_random(void **state)
{
	struct vf_cand c[8] = { 0 };
	struct vf_verdict v[8], w[8];
	struct vf_params p = params(3, 5, 1);
	struct vf_decide_in in = { .cand = c, .n = 8, .params = &p };
	int differ = 0;

	set_names(c, 8);
	for (int i = 0; i < 8; i++) {
		c[i].eligible = true;
		c[i].pps = 10.0 * i;
		c[i].st.served = i % 2;
	}
	vf_decide(&vf_policy_fair, &in, v);
	/* served 0: vm00 vm02 vm04 (by name) */
	assert_true(v[0].grant && v[2].grant && v[4].grant);
	for (long t = 0; t < 20; t++) {
		in.interval = t;
		assert_int_equal(vf_decide(&vf_policy_random, &in, v), 3);
		vf_decide(&vf_policy_random, &in, w);
		assert_memory_equal(v, w, sizeof(v));
		in.interval = t + 1;
		vf_decide(&vf_policy_random, &in, w);
		for (int i = 0; i < 8; i++)
			differ += v[i].grant != w[i].grant;
	}
	assert_true(differ > 0);
	assert_ptr_equal(vf_policy_lookup("activity"), &vf_policy_activity);
	assert_null(vf_policy_lookup("busiest"));
}

static void test_params_revoke(void **state)
{
	struct vf_params p = params(2, 0, 1);
	struct vf_sched s;
	char err[128];
	int a;

	assert_int_equal(vf_params_check(&p, err, sizeof(err)), 0);
	p.min_hold = 0;
	assert_int_equal(vf_params_check(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "min_hold"));
	p = params(2, -1, 1);
	assert_int_equal(vf_params_check(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hysteresis"));
	p = params(2, 0, 1);
	assert_int_equal(vf_sched_init(&s, &vf_policy_fair, &p, err, sizeof(err)), 0);
	assert_int_equal(vf_sched_report(&s, "", 1, err, sizeof(err)), -1);
	assert_int_equal(vf_sched_report(&s, "x", -1, err, sizeof(err)), -1);
	vf_sched_begin(&s);
	a = vf_sched_report(&s, "a", 1, err, sizeof(err));
	vf_sched_decide(&s);
	assert_true(s.vm[a].st.holds);
	assert_int_equal(s.vm[a].st.served, 1);
	vf_sched_revoke(&s, a); /* the plug failed */
	assert_false(s.vm[a].st.holds);
	assert_int_equal(s.vm[a].st.served, 0);
	vf_sched_adopt(&s, a, 3); /* found plugged */
	assert_true(s.vm[a].st.holds);
	assert_int_equal(s.vm[a].st.held_for, 3);
	vf_sched_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_activity_is_top_n),
		cmocka_unit_test(test_fair_equal_shares),
		cmocka_unit_test(test_fair_joiner),
		cmocka_unit_test(test_hysteresis),
		cmocka_unit_test(test_hysteresis_pairs),
		cmocka_unit_test(test_min_hold),
		cmocka_unit_test(test_pinned_ineligible_shrink),
		cmocka_unit_test(test_fair_random),
		cmocka_unit_test(test_params_revoke),
	};
	return VS_RUN_TESTS(tests);
}
