/* explore.c - online threshold exploration: learn Th_v and Th_n from the SLO (SPEC §3.4). */
#include "policy/explore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* qsort has no context argument: sort index arrays with a small merge sort
 * instead, which is also stable (ties keep sample order: deterministic). */
static void explore_sort_desc(int *idx, int *tmp, int n, const struct vs_explore_sample *s,
			      bool by_vcpu)
{
	if (n < 2)
		return;
	int mid = n / 2;
	explore_sort_desc(idx, tmp, mid, s, by_vcpu);
	explore_sort_desc(idx + mid, tmp, n - mid, s, by_vcpu);
	int i = 0, j = mid, k = 0;
	while (i < mid && j < n) {
		double a = by_vcpu ? s[idx[i]].u_vcpu : s[idx[i]].u_nq;
		double b = by_vcpu ? s[idx[j]].u_vcpu : s[idx[j]].u_nq;
		tmp[k++] = a >= b ? idx[i++] : idx[j++];
	}
	while (i < mid)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, sizeof(*idx) * (size_t)n);
}

void explore_window_update(const struct vs_explore_sample *s, int n, struct vs_thresholds th,
			   double slo_p95_us, const struct vs_params *p, int *scratch,
			   struct vs_explore_result *res)
{
	int *lv = scratch, *ln = scratch + n, *tmp = scratch + 2 * n;
	int nv = 0, dec, hv = 0, hn = 0;
	double tv, tn;

	memset(res, 0, sizeof(*res));
	res->n_samples = n;
	res->before = res->target = res->after = th;
	for (int i = 0; i < n; i++)
		if (s[i].p95_us > slo_p95_us)
			lv[nv++] = i;
	res->n_violations = nv;
	res->allowed = (int)ceil((double)n * p->allow_violation - 1e-9);
	if (res->allowed < 0)
		res->allowed = 0;
	dec = nv - res->allowed;
	if (dec > 0) {
		/* Lv and Ln: the violating samples by u_v and by u_n, descending;
		 * "removed" is marked by negating (index + 1) in both lists */
		memcpy(ln, lv, sizeof(*ln) * (size_t)nv);
		explore_sort_desc(lv, tmp, nv, s, true);
		explore_sort_desc(ln, tmp, nv, s, false);
		tv = th.vcpu;
		tn = th.nq;
		/* tmp now marks removed samples by index */
		memset(tmp, 0, sizeof(*tmp) * (size_t)n);
		while (dec > 0) {
			while (hv < nv && tmp[lv[hv]])
				hv++;
			while (hn < nv && tmp[ln[hn]])
				hn++;
			if (hv >= nv || hn >= nv)
				break; /* V empty */
			const struct vs_explore_sample *sv = &s[lv[hv]], *sn = &s[ln[hn]];
			double dv = tv - sv->u_vcpu, dn = tn - sn->u_nq;
			if (dv <= dn) {
				if (sv->u_vcpu < tv)
					tv = sv->u_vcpu;
				tmp[lv[hv]] = 1;
				res->cuts_vcpu++;
			} else {
				if (sn->u_nq < tn)
					tn = sn->u_nq;
				tmp[ln[hn]] = 1;
				res->cuts_nq++;
			}
			dec--;
		}
		res->target.vcpu = tv;
		res->target.nq = tn;
		res->after.vcpu = (1 - p->weight) * th.vcpu + p->weight * tv;
		res->after.nq = (1 - p->weight) * th.nq + p->weight * tn;
		if (res->after.vcpu < p->th_min)
			res->after.vcpu = p->th_min;
		if (res->after.nq < p->th_min)
			res->after.nq = p->th_min;
		res->action = VS_EXPLORE_CUT;
	} else if (nv == 0) {
		res->after.vcpu = fmin(p->th_max, p->reward * th.vcpu);
		res->after.nq = fmin(p->th_max, p->reward * th.nq);
		res->action = VS_EXPLORE_REWARD;
	} else {
		res->action = VS_EXPLORE_HOLD;
	}
}

int explore_init(struct vs_explore *ex, const struct vs_params *p)
{
	memset(ex, 0, sizeof(*ex));
	ex->th.vcpu = p->th_vcpu_init;
	ex->th.nq = p->th_nq_init;
	return explore_resize(ex, p->window);
}

void explore_free(struct vs_explore *ex)
{
	free(ex->win);
	free(ex->scratch);
	ex->win = NULL;
	ex->scratch = NULL;
	ex->cap = ex->n = 0;
}

int explore_resize(struct vs_explore *ex, int window)
{
	struct vs_explore_sample *win;
	int *scratch;

	if (window < 1)
		return -1;
	win = calloc((size_t)window, sizeof(*win));
	scratch = calloc((size_t)window * 3, sizeof(*scratch));
	if (!win || !scratch) {
		free(win);
		free(scratch);
		return -1;
	}
	free(ex->win);
	free(ex->scratch);
	ex->win = win;
	ex->scratch = scratch;
	ex->cap = window;
	ex->n = 0;
	return 0;
}

bool explore_record(struct vs_explore *ex, const struct vs_params *p, double slo_p95_us,
		    bool has_p95, const struct vs_explore_sample *s, struct vs_explore_result *res)
{
	struct vs_explore_result r;

	if (!p->explore || ex->frozen || !has_p95 || slo_p95_us <= 0 || ex->cap < 1)
		return false;
	if (!isfinite(s->p95_us) || !isfinite(s->u_vcpu) || !isfinite(s->u_nq))
		return false;
	ex->win[ex->n++] = *s;
	if (ex->n < ex->cap)
		return false;
	explore_window_update(ex->win, ex->n, ex->th, slo_p95_us, p, ex->scratch, &r);
	ex->n = 0;
	ex->windows++;
	if (fabs(r.after.vcpu - r.before.vcpu) <= p->stable_delta &&
	    fabs(r.after.nq - r.before.nq) <= p->stable_delta)
		ex->stable_windows++;
	else
		ex->stable_windows = 0;
	if (p->freeze_after > 0 && ex->stable_windows >= p->freeze_after)
		ex->frozen = true;
	ex->th = r.after;
	ex->last = r;
	if (res)
		*res = r;
	return true;
}

const char *explore_action_name(enum vs_explore_action a)
{
	switch (a) {
	case VS_EXPLORE_REWARD:
		return "reward";
	case VS_EXPLORE_CUT:
		return "cut";
	case VS_EXPLORE_HOLD:
		return "hold";
	case VS_EXPLORE_NONE:
		break;
	}
	return "none";
}
