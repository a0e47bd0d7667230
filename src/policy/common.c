/* common.c - policy parameters, allocation helpers and the proportional split. */
#include "policy/policy.h"

#include <math.h>
#include <stdio.h>

void vs_params_defaults(struct vs_params *p)
{
	*p = (struct vs_params){
		.th_vcpu_init = 0.8,
		.th_nq_init = 0.8,
		.th_min = 0.3,
		.th_max = 0.95,
		.margin = 1.1,
		.weight = 0.7,
		.reward = 1.03,
		.allow_violation = 0.02,
		.window = 1000,
		.explore = true,
		.freeze_after = 0,
		.stable_delta = 0.01,
		.shared_util_target = 0.8,
		.corenap_hold_slack = 0.2,
	};
}

static int params_range(char *err, size_t errlen, const char *name, double v, double lo, double hi,
			bool lo_open)
{
	if (!isfinite(v) || (lo_open ? v <= lo : v < lo) || v > hi) {
		snprintf(err, errlen, "%s = %g is out of range (%s%g, %g]", name, v,
			 lo_open ? "" : "=", lo, hi);
		return -1;
	}
	return 0;
}

int vs_params_check(const struct vs_params *p, char *err, size_t errlen)
{
	if (params_range(err, errlen, "threshold vcpu", p->th_vcpu_init, 0, 1, true) ||
	    params_range(err, errlen, "threshold nq", p->th_nq_init, 0, 1, true) ||
	    params_range(err, errlen, "th_min", p->th_min, 0, 1, true) ||
	    params_range(err, errlen, "th_max", p->th_max, 0, 1, true) ||
	    params_range(err, errlen, "margin", p->margin, 1, 10, false) ||
	    params_range(err, errlen, "weight", p->weight, 0, 1, true) ||
	    params_range(err, errlen, "reward", p->reward, 1, 10, false) ||
	    params_range(err, errlen, "allow_violation", p->allow_violation, 0, 1, false) ||
	    params_range(err, errlen, "stable_delta", p->stable_delta, 0, 1, false) ||
	    params_range(err, errlen, "shared_util_target", p->shared_util_target, 0, 1, true) ||
	    params_range(err, errlen, "corenap_hold_slack", p->corenap_hold_slack, 0, 1, false))
		return -1;
	if (p->explore && (p->th_vcpu_init < p->th_min || p->th_vcpu_init > p->th_max ||
			   p->th_nq_init < p->th_min || p->th_nq_init > p->th_max)) {
		snprintf(err, errlen,
			 "initial thresholds vcpu=%g nq=%g must lie in [th_min %g, th_max %g] "
			 "while exploration is on",
			 p->th_vcpu_init, p->th_nq_init, p->th_min, p->th_max);
		return -1;
	}
	if (p->th_min > p->th_max) {
		snprintf(err, errlen, "th_min %g is above th_max %g", p->th_min, p->th_max);
		return -1;
	}
	if (p->window < 1 || p->window > 1000000) {
		snprintf(err, errlen, "window = %d is out of range [1, 1000000]", p->window);
		return -1;
	}
	if (p->freeze_after < 0) {
		snprintf(err, errlen, "freeze_after = %d must not be negative", p->freeze_after);
		return -1;
	}
	return 0;
}

int vs_alloc_lc_cores(const struct vs_alloc *a)
{
	if (a->layout == VS_LAYOUT_ISOLATED)
		return a->n_vcpu + a->n_nq;
	return a->n_vcpu;
}

struct vs_alloc vs_alloc_initial(int n_cores)
{
	int n_v = (n_cores + 1) / 2;

	return (struct vs_alloc){
		.layout = VS_LAYOUT_ISOLATED,
		.n_vcpu = n_v,
		.n_nq = n_cores - n_v,
		.n_be = 0,
		.vcpus = n_v,
		.queues = n_cores - n_v,
		.be_paused = false,
	};
}

int policy_ceil(double x)
{
	return (int)ceil(x - 1e-9);
}

void policy_split_proportional(int n_cores, double req_v, double req_n, int *n_v, int *n_nq)
{
	long v = lround((double)n_cores * req_v / (req_v + req_n));

	if (v < 1)
		v = 1;
	if (v > n_cores - 1)
		v = n_cores - 1;
	*n_v = (int)v;
	*n_nq = n_cores - (int)v;
}

void policy_divide(int total, const double *weight, int n, int min_each, int *out)
{
	double sum = 0, ideal_scale;
	int given = 0;

	for (int i = 0; i < n; i++)
		sum += weight[i] > 0 ? weight[i] : 0;
	ideal_scale = sum > 0 ? (double)total / sum : 0;
	for (int i = 0; i < n; i++) {
		double w = sum > 0 ? (weight[i] > 0 ? weight[i] : 0) : 1;
		double ideal = sum > 0 ? w * ideal_scale : (double)total / n;
		out[i] = (int)floor(ideal);
		if (out[i] < min_each)
			out[i] = min_each;
		given += out[i];
	}
	/* hand out or take back one core at a time by largest/smallest remainder */
	while (given != total) {
		int best = -1;
		double best_r = 0;

		for (int i = 0; i < n; i++) {
			double w = sum > 0 ? (weight[i] > 0 ? weight[i] : 0) : 1;
			double ideal = sum > 0 ? w * ideal_scale : (double)total / n;
			double r = ideal - out[i];

			if (given > total && out[i] <= min_each)
				continue;
			if (best < 0 || (given < total ? r > best_r : r < best_r)) {
				best = i;
				best_r = r;
			}
		}
		if (best < 0)
			break; /* cannot go below min_each: caller checked n*min_each <= total */
		out[best] += given < total ? 1 : -1;
		given += given < total ? 1 : -1;
	}
}
