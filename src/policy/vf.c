/* vf.c - FlexVF's VF ranking: fair, activity and random, with a minimum hold and a hysteresis margin (SPEC §7.2). */
#include "policy/vf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"

void vf_params_defaults(struct vf_params *p)
{
	memset(p, 0, sizeof(*p));
	p->n_vfs = 0;
	p->hysteresis = 0;
	p->min_hold = 1;
	p->seed = 1;
}

int vf_params_check(const struct vf_params *p, char *err, size_t errlen)
{
	if (p->n_vfs < 0 || p->n_vfs > VF_MAX_VMS) {
		snprintf(err, errlen, "VFs: %d is not in [0, %d]", p->n_vfs, VF_MAX_VMS);
		return -1;
	}
	if (!(p->hysteresis >= 0 && p->hysteresis <= 100)) {
		snprintf(err, errlen, "hysteresis: %g is not in [0, 100] (a fraction: 0.25 = 25%%)",
			 p->hysteresis);
		return -1;
	}
	if (p->min_hold < 1 || p->min_hold > 1000000) {
		snprintf(err, errlen, "min_hold: %d is not in [1, 1000000] intervals", p->min_hold);
		return -1;
	}
	return 0;
}

/* ---- Strategies ------------------------------------------------------------- */

/* Ties at equal key: a holder before a contender (no plug for nothing), then
 * the name. */
static int vf_tie(const struct vf_cand *a, const struct vf_cand *b)
{
	if (a->st.holds != b->st.holds)
		return a->st.holds ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int vf_fair_compare(const struct vf_cand *a, const struct vf_cand *b,
			   const struct vf_decide_in *in)
{
	if (a->st.served != b->st.served)
		return a->st.served < b->st.served ? -1 : 1;
	if (a->st.holds != b->st.holds)
		return a->st.holds ? -1 : 1;
	if (a->st.idle_for != b->st.idle_for) /* waited longer first */
		return a->st.idle_for > b->st.idle_for ? -1 : 1;
	return strcmp(a->name, b->name);
}

const struct vf_policy_ops vf_policy_fair = {
	.name = "fair",
	.summary = "round robin: the VMs that held a VF for the fewest intervals get them",
	.by_rate = false,
	.compare = vf_fair_compare,
};

static int vf_activity_compare(const struct vf_cand *a, const struct vf_cand *b,
			       const struct vf_decide_in *in)
{
	if (a->pps != b->pps)
		return a->pps > b->pps ? -1 : 1;
	return vf_tie(a, b);
}

const struct vf_policy_ops vf_policy_activity = {
	.name = "activity",
	.summary = "the VMs with the highest packet rate over the last interval",
	.by_rate = true,
	.compare = vf_activity_compare,
};

/* A 64-bit mix of the seed, the interval and the name (splitmix64 finaliser
 * over FNV-1a of the name): a per-interval draw without a generator's state. */
static uint64_t vf_draw(const struct vf_cand *c, const struct vf_decide_in *in)
{
	uint64_t h = 1469598103934665603u;

	for (const char *s = c->name; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	h ^= in->params->seed * 0x9e3779b97f4a7c15u + (uint64_t)in->interval;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebu;
	return h ^ (h >> 31);
}

static int vf_random_compare(const struct vf_cand *a, const struct vf_cand *b,
			     const struct vf_decide_in *in)
{
	uint64_t da = vf_draw(a, in), db = vf_draw(b, in);

	if (da != db)
		return da < db ? -1 : 1;
	return vf_tie(a, b);
}

const struct vf_policy_ops vf_policy_random = {
	.name = "random",
	.summary = "N VMs drawn at random each interval (a baseline)",
	.by_rate = false,
	.compare = vf_random_compare,
};

static const struct vf_policy_ops *const vf_policies[] = {
	&vf_policy_fair,
	&vf_policy_activity,
	&vf_policy_random,
	NULL,
};

const struct vf_policy_ops *const *vf_policy_all(void)
{
	return vf_policies;
}

const struct vf_policy_ops *vf_policy_lookup(const char *name)
{
	for (int i = 0; vf_policies[i]; i++)
		if (strcmp(vf_policies[i]->name, name) == 0)
			return vf_policies[i];
	return NULL;
}

/* ---- Deciding ----------------------------------------------------------------- */

struct vf_sort_ctx {
	const struct vf_policy_ops *ops;
	const struct vf_decide_in *in;
};

static int vf_sort_cmp(const void *pa, const void *pb, void *arg)
{
	const struct vf_sort_ctx *ctx = arg;
	const struct vf_cand *c = ctx->in->cand;

	return ctx->ops->compare(&c[*(const int *)pa], &c[*(const int *)pb], ctx->in);
}

/* Does contender c take holder h's VF? */
static bool vf_beats(const struct vf_policy_ops *ops, const struct vf_decide_in *in,
		     const struct vf_cand *c, const struct vf_cand *h)
{
	if (!ops->by_rate || in->params->hysteresis <= 0)
		return true; /* c ranks before h: that is enough */
	return c->pps > h->pps * (1 + in->params->hysteresis);
}

static void vf_set(struct vf_verdict *v, bool grant, enum vf_why why, int other)
{
	v->grant = grant;
	v->why = why;
	v->other = other;
}

int vf_decide(const struct vf_policy_ops *ops, const struct vf_decide_in *in,
	      struct vf_verdict *out)
{
	const struct vf_cand *c = in->cand;
	int order[VF_MAX_VMS], rest[VF_MAX_VMS], want_add[VF_MAX_VMS], evicted[VF_MAX_VMS];
	int n = in->n < VF_MAX_VMS ? in->n : VF_MAX_VMS;
	int n_elig = 0, n_rest = 0, n_add = 0, n_ev = 0, n_holders = 0, granted = 0;
	int slots = in->params->n_vfs;
	struct vf_sort_ctx ctx = { ops, in };

	for (int i = 0; i < n; i++) {
		out[i] = (struct vf_verdict){ .other = -1 };
		if (!c[i].eligible)
			vf_set(&out[i], false,
			       c[i].st.holds ? VF_WHY_RELEASED : VF_WHY_NOT_ELIGIBLE, -1);
		else
			order[n_elig++] = i;
	}
	qsort_r(order, (size_t)n_elig, sizeof(order[0]), vf_sort_cmp, &ctx);
	for (int r = 0; r < n_elig; r++)
		out[order[r]].rank = r + 1;

	/* 2, 3: pinned VMs, then holders within their minimum hold, in rank order */
	for (int pass = 0; pass < 2; pass++)
		for (int r = 0; r < n_elig; r++) {
			int i = order[r];
			bool take = pass == 0 ? c[i].pinned
					      : (!c[i].pinned && c[i].st.holds &&
						 c[i].st.held_for < in->params->min_hold);
			if (!take)
				continue;
			if (granted < slots) {
				vf_set(&out[i], true, pass == 0 ? VF_WHY_PINNED : VF_WHY_MIN_HOLD,
				       -1);
				granted++;
			} else {
				vf_set(&out[i], false, VF_WHY_NO_ROOM, -1);
				out[i].rank = -out[i].rank; /* decided: skip below */
			}
		}
	/* 4: the others, in rank order */
	for (int r = 0; r < n_elig; r++) {
		int i = order[r];
		if (out[i].grant || out[i].rank < 0)
			continue;
		rest[n_rest++] = i;
		if (c[i].st.holds)
			n_holders++;
	}
	for (int i = 0; i < n; i++)
		if (out[i].rank < 0)
			out[i].rank = -out[i].rank;
	int left = slots - granted; /* VFs for the rest */
	int free_vfs = left - n_holders;
	for (int r = 0; r < n_rest; r++) {
		int i = rest[r];
		bool wanted = r < left;
		if (wanted && c[i].st.holds) {
			vf_set(&out[i], true, VF_WHY_RANK, -1);
			granted++;
		} else if (wanted) {
			want_add[n_add++] = i; /* best first */
		} else if (c[i].st.holds) {
			evicted[n_ev++] = i; /* best first */
		} else {
			vf_set(&out[i], false, VF_WHY_NO_ROOM, -1);
		}
	}
	/* more holders than VFs left (the pool shrank, or pinned VMs took them):
	 * the weakest holders outside the wanted set go without a contest */
	for (; free_vfs < 0 && n_ev > 0; free_vfs++)
		vf_set(&out[evicted[--n_ev]], false, VF_WHY_NO_ROOM, -1);
	int a = 0;
	for (; a < n_add && a < free_vfs; a++) {
		vf_set(&out[want_add[a]], true, VF_WHY_FREE, -1);
		granted++;
	}
	/* contenders strongest first against holders weakest first */
	int e = n_ev - 1;
	for (; a < n_add && e >= 0; a++, e--) {
		int ci = want_add[a], hi = evicted[e];
		if (vf_beats(ops, in, &c[ci], &c[hi])) {
			vf_set(&out[ci], true, VF_WHY_DISPLACES, hi);
			vf_set(&out[hi], false, VF_WHY_OUTRANKED, ci);
		} else {
			vf_set(&out[ci], false, VF_WHY_MARGIN_SHORT, hi);
			vf_set(&out[hi], true, VF_WHY_MARGIN_KEPT, ci);
		}
		granted++;
	}
	/* (the counts match: every contender left met a holder and vice versa) */
	for (; a < n_add; a++)
		vf_set(&out[want_add[a]], false, VF_WHY_NO_ROOM, -1);
	for (; e >= 0; e--)
		vf_set(&out[evicted[e]], false, VF_WHY_NO_ROOM, -1);
	return granted;
}

void vf_hold_advance(struct vf_hold *h, bool granted)
{
	if (granted) {
		h->held_for = h->holds ? h->held_for + 1 : 1;
		h->served++;
		h->idle_for = 0;
	} else {
		h->held_for = 0;
		h->idle_for++;
	}
	h->holds = granted;
}

long vf_join_served(const struct vf_cand *cand, int n)
{
	long least = 0;
	bool any = false;

	for (int i = 0; i < n; i++)
		if (cand[i].eligible && (!any || cand[i].st.served < least)) {
			least = cand[i].st.served;
			any = true;
		}
	return least;
}

const char *vf_why_name(enum vf_why why)
{
	switch (why) {
	case VF_WHY_NOT_ELIGIBLE:
		return "not_eligible";
	case VF_WHY_RELEASED:
		return "released";
	case VF_WHY_PINNED:
		return "pinned";
	case VF_WHY_MIN_HOLD:
		return "min_hold";
	case VF_WHY_RANK:
		return "rank";
	case VF_WHY_FREE:
		return "free";
	case VF_WHY_DISPLACES:
		return "displaces";
	case VF_WHY_MARGIN_KEPT:
		return "margin_kept";
	case VF_WHY_OUTRANKED:
		return "outranked";
	case VF_WHY_MARGIN_SHORT:
		return "margin_short";
	case VF_WHY_NO_ROOM:
		return "no_room";
	}
	return "?";
}

/* "rank 2 of 5 by packet rate (41000 pkt/s)" */
static void vf_rank_text(const struct vf_policy_ops *ops, const struct vf_decide_in *in,
			 const struct vf_verdict *out, int i, char *buf, size_t len, size_t *k)
{
	int n_elig = 0;

	for (int j = 0; j < in->n; j++)
		n_elig += in->cand[j].eligible;
	str_appendf(buf, len, k, "rank %d of %d", out[i].rank, n_elig);
	if (ops->by_rate)
		str_appendf(buf, len, k, " by packet rate (%.0f pkt/s)", in->cand[i].pps);
	else if (ops == &vf_policy_fair)
		str_appendf(buf, len, k, " by intervals held (%ld)", in->cand[i].st.served);
	else
		str_appendf(buf, len, k, " by %s", ops->name);
}

const char *vf_why_text(const struct vf_policy_ops *ops, const struct vf_decide_in *in,
			const struct vf_verdict *out, int i, char *buf, size_t len)
{
	const struct vf_cand *c = in->cand;
	const struct vf_verdict *v = &out[i];
	const char *other = v->other >= 0 ? c[v->other].name : "";
	double need = v->other >= 0 ? c[v->other].pps * (1 + in->params->hysteresis) : 0;
	size_t k = 0;

	if (len > 0)
		buf[0] = '\0';
	switch (v->why) {
	case VF_WHY_NOT_ELIGIBLE:
		str_appendf(buf, len, &k, "no VF: not eligible");
		break;
	case VF_WHY_RELEASED:
		str_appendf(buf, len, &k, "releases its VF: no longer eligible");
		break;
	case VF_WHY_PINNED:
		str_appendf(buf, len, &k, "holds: forced by the operator");
		break;
	case VF_WHY_MIN_HOLD:
		str_appendf(buf, len, &k, "keeps: held %d of the minimum %d intervals",
			    c[i].st.held_for, in->params->min_hold);
		break;
	case VF_WHY_RANK:
	case VF_WHY_FREE:
		str_appendf(buf, len, &k, "%s: ", c[i].st.holds ? "keeps" : "gets a free VF");
		vf_rank_text(ops, in, out, i, buf, len, &k);
		break;
	case VF_WHY_DISPLACES:
		str_appendf(buf, len, &k, "takes %s's VF: ", other);
		vf_rank_text(ops, in, out, i, buf, len, &k);
		if (ops->by_rate && in->params->hysteresis > 0)
			str_appendf(buf, len, &k, ", above the %.0f pkt/s the margin needs", need);
		break;
	case VF_WHY_MARGIN_KEPT:
		str_appendf(buf, len, &k,
			    "keeps: %s (%.0f pkt/s) outranks it but not by the %g%% margin", other,
			    c[v->other].pps, in->params->hysteresis * 100);
		break;
	case VF_WHY_OUTRANKED:
		str_appendf(buf, len, &k, "releases its VF to %s: ", other);
		vf_rank_text(ops, in, out, i, buf, len, &k);
		break;
	case VF_WHY_MARGIN_SHORT:
		need = c[v->other].pps * (1 + in->params->hysteresis);
		str_appendf(
			buf, len, &k,
			"no VF: outranks %s (%.0f pkt/s) but not by the %g%% margin (%.0f pkt/s "
			"needed)",
			other, c[v->other].pps, in->params->hysteresis * 100, need);
		break;
	case VF_WHY_NO_ROOM:
		str_appendf(buf, len, &k, "no VF: ");
		vf_rank_text(ops, in, out, i, buf, len, &k);
		str_appendf(buf, len, &k, ", %d VF%s", in->params->n_vfs,
			    in->params->n_vfs == 1 ? "" : "s");
		break;
	}
	return buf;
}
