/* vspace.c - the vSPACE policies: P (performance), E (energy), R (resource efficiency). */
#include "policy/policy.h"

#include <math.h>
#include <stdio.h>

static void vspace_set_isolated(struct vs_alloc *a, int n_v, int n_nq)
{
	*a = (struct vs_alloc){
		.layout = VS_LAYOUT_ISOLATED,
		.n_vcpu = n_v,
		.n_nq = n_nq,
		.vcpus = n_v,
		.queues = n_nq,
	};
}

/* SPEC §3.1: all cores always in use, split in proportion to U/Th. */
static void vspace_p_decide(const struct vs_policy *pol, const struct vs_decide_in *in,
			    struct vs_decision *out)
{
	const struct vs_sample *s = in->sample;
	double req_v = s->busy_vcpu / in->th.vcpu;
	double req_n = s->busy_nq / in->th.nq;
	int n_v, n_nq;

	out->want_vcpu = req_v;
	out->want_nq = req_n;
	if (req_v + req_n <= 0) {
		const struct vs_alloc *p = in->prev;
		if (p->layout == VS_LAYOUT_ISOLATED && p->n_vcpu >= 1 && p->n_nq >= 1 &&
		    p->n_vcpu + p->n_nq == in->n_cores) {
			vspace_set_isolated(&out->alloc, p->n_vcpu, p->n_nq);
		} else {
			out->alloc = vs_alloc_initial(in->n_cores);
		}
		snprintf(out->why, sizeof(out->why), "P: no load measured; keep %d+%d",
			 out->alloc.n_vcpu, out->alloc.n_nq);
		return;
	}
	policy_split_proportional(in->n_cores, req_v, req_n, &n_v, &n_nq);
	vspace_set_isolated(&out->alloc, n_v, n_nq);
	snprintf(out->why, sizeof(out->why),
		 "P: req_v=%.3f/%.3f=%.3f req_n=%.3f/%.3f=%.3f; n_v=round(%d*%.3f)=%d n_nq=%d",
		 s->busy_vcpu, in->th.vcpu, req_v, s->busy_nq, in->th.nq, req_n, in->n_cores,
		 req_v / (req_v + req_n), n_v, n_nq);
}

/* One group's E-mode size: grow at once to req, shrink only below MARGIN*U/Th. */
static int vspace_e_group(int prev, int req, double busy, double th, double margin)
{
	int shrunk;

	if (prev <= req)
		return req;
	shrunk = policy_ceil(margin * busy / th);
	if (shrunk > prev)
		shrunk = prev;
	return shrunk > req ? shrunk : req;
}

/* SPEC §3.2: as few cores as keep both groups under their thresholds. */
static void vspace_e_decide(const struct vs_policy *pol, const struct vs_decide_in *in,
			    struct vs_decision *out)
{
	const struct vs_sample *s = in->sample;
	const struct vs_alloc *p = in->prev;
	double rv = s->busy_vcpu / in->th.vcpu, rn = s->busy_nq / in->th.nq;
	int req_v = policy_ceil(rv), req_n = policy_ceil(rn);
	int n_v, n_nq, prev_v = 0, prev_nq = 0;

	if (req_v < 1)
		req_v = 1;
	if (req_n < 1)
		req_n = 1;
	out->want_vcpu = rv;
	out->want_nq = rn;
	if (req_v + req_n > in->n_cores) {
		policy_split_proportional(in->n_cores, rv, rn, &n_v, &n_nq);
		vspace_set_isolated(&out->alloc, n_v, n_nq);
		snprintf(out->why, sizeof(out->why),
			 "E: req_v=ceil(%.3f)=%d + req_n=ceil(%.3f)=%d > T=%d; split "
			 "proportionally %d+%d",
			 rv, req_v, rn, req_n, in->n_cores, n_v, n_nq);
		return;
	}
	if (p->layout == VS_LAYOUT_ISOLATED) {
		prev_v = p->n_vcpu;
		prev_nq = p->n_nq;
	}
	n_v = vspace_e_group(prev_v, req_v, s->busy_vcpu, in->th.vcpu, in->params->margin);
	n_nq = vspace_e_group(prev_nq, req_n, s->busy_nq, in->th.nq, in->params->margin);
	if (n_v + n_nq > in->n_cores) {
		policy_split_proportional(in->n_cores, rv, rn, &n_v, &n_nq);
		vspace_set_isolated(&out->alloc, n_v, n_nq);
		snprintf(out->why, sizeof(out->why),
			 "E: req %d+%d, margin keeps %d+%d > T=%d; split proportionally %d+%d",
			 req_v, req_n, prev_v, prev_nq, in->n_cores, n_v, n_nq);
		return;
	}
	vspace_set_isolated(&out->alloc, n_v, n_nq);
	snprintf(out->why, sizeof(out->why),
		 "E: req_v=ceil(%.3f/%.3f)=%d req_n=ceil(%.3f/%.3f)=%d prev %d+%d margin %.2f "
		 "-> %d+%d",
		 s->busy_vcpu, in->th.vcpu, req_v, s->busy_nq, in->th.nq, req_n, prev_v, prev_nq,
		 in->params->margin, n_v, n_nq);
}

/* SPEC §3.3: E's LC allocation; the idle cores go to best-effort work. */
static void vspace_r_decide(const struct vs_policy *pol, const struct vs_decide_in *in,
			    struct vs_decision *out)
{
	size_t len;

	vspace_e_decide(pol, in, out);
	out->alloc.n_be = in->n_cores - out->alloc.n_vcpu - out->alloc.n_nq;
	out->alloc.be_paused = out->alloc.n_be == 0;
	out->why[0] = 'R';
	len = 0;
	while (out->why[len])
		len++;
	snprintf(out->why + len, sizeof(out->why) - len, "; BE %d%s", out->alloc.n_be,
		 out->alloc.be_paused ? " (paused)" : "");
}

static int vspace_init(struct vs_policy *pol, const char *args, int n_cores, char *err,
		       size_t errlen)
{
	if (args) {
		snprintf(err, errlen, "policy %s takes no arguments (got \":%s\")", pol->ops->name,
			 args);
		return -1;
	}
	if (n_cores < 2) {
		snprintf(err, errlen, "policy %s needs at least 2 cores (got %d)", pol->ops->name,
			 n_cores);
		return -1;
	}
	return 0;
}

const struct vs_policy_ops policy_vspace_p = {
	.parallelism_follows_cores = true,
	.name = "vspace-p",
	.summary = "vSPACE-P: isolated groups sized by U/Th, all cores in use",
	.init = vspace_init,
	.decide = vspace_p_decide,
	.fills_all = true,
	.uses_thresholds = true,
};

const struct vs_policy_ops policy_vspace_e = {
	.parallelism_follows_cores = true,
	.name = "vspace-e",
	.summary = "vSPACE-E: fewest cores that keep both groups under threshold",
	.init = vspace_init,
	.decide = vspace_e_decide,
	.uses_thresholds = true,
};

const struct vs_policy_ops policy_vspace_r = {
	.parallelism_follows_cores = true,
	.name = "vspace-r",
	.summary = "vSPACE-R: as E, idle cores go to best-effort work",
	.init = vspace_init,
	.decide = vspace_r_decide,
	.gives_be = true,
	.uses_thresholds = true,
};
