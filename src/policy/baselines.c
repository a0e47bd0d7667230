/* baselines.c - comparison policies of SPEC §3.6: static-ts, static-iso, corenap, demeter. */
#include "policy/policy.h"

#include <stdio.h>
#include <string.h>

#include "lib/strutil.h"

/* Largest NV or NQ accepted by the static policies (a VM's vCPUs / queues). */
#define BASELINE_MAX_COUNT 1024

/* Parse "A:B" (two counts) or "A" (one) into out[]; returns 0 or -1. */
static int baseline_parse_counts(const char *name, const char *usage, const char *args, int want,
				 int *out, char *err, size_t errlen)
{
	char buf[64];
	char *field[3];
	int n;

	if (!args || strlen(args) >= sizeof(buf))
		goto bad;
	str_copy(buf, args, sizeof(buf));
	n = str_split(buf, ':', field, 3);
	if (n != want)
		goto bad;
	for (int i = 0; i < n; i++) {
		long v;
		if (str_to_long(field[i], 1, BASELINE_MAX_COUNT, &v) < 0)
			goto bad;
		out[i] = (int)v;
	}
	return 0;
bad:
	snprintf(err, errlen, "policy %s needs arguments %s:%s (whole numbers 1..%d), got \"%s\"",
		 name, name, usage, BASELINE_MAX_COUNT, args ? args : "");
	return -1;
}

/* ---- static-ts NV NQ: the default Linux/KVM time-sharing set-up ---------- */

static int static_ts_init(struct vs_policy *pol, const char *args, int n_cores, char *err,
			  size_t errlen)
{
	int v[2];

	if (baseline_parse_counts("static-ts", "NV:NQ", args, 2, v, err, errlen) < 0)
		return -1;
	pol->arg_vcpus = v[0];
	pol->arg_queues = v[1];
	return 0;
}

static void static_ts_decide(const struct vs_policy *pol, const struct vs_decide_in *in,
			     struct vs_decision *out)
{
	out->alloc = (struct vs_alloc){
		.layout = VS_LAYOUT_SHARED_ALL,
		.n_vcpu = in->n_cores,
		.n_nq = in->n_cores,
		.vcpus = pol->arg_vcpus,
		.queues = pol->arg_queues,
	};
	out->want_vcpu = in->sample->busy_vcpu;
	out->want_nq = in->sample->busy_nq;
	snprintf(out->why, sizeof(out->why),
		 "static-ts: %d vCPUs and %d queues time-share all %d cores", pol->arg_vcpus,
		 pol->arg_queues, in->n_cores);
}

const struct vs_policy_ops policy_static_ts = {
	.name = "static-ts",
	.args_usage = "NV:NQ",
	.summary = "time-sharing: NV vCPUs and NQ queues on all cores (Linux/KVM default)",
	.init = static_ts_init,
	.decide = static_ts_decide,
};

/* ---- static-iso NV NQ: a fixed isolated split ----------------------------- */

static int static_iso_init(struct vs_policy *pol, const char *args, int n_cores, char *err,
			   size_t errlen)
{
	int v[2];

	if (baseline_parse_counts("static-iso", "NV:NQ", args, 2, v, err, errlen) < 0)
		return -1;
	if (v[0] + v[1] > n_cores) {
		snprintf(err, errlen, "policy static-iso:%d:%d needs %d cores, only %d managed",
			 v[0], v[1], v[0] + v[1], n_cores);
		return -1;
	}
	pol->arg_vcpus = v[0];
	pol->arg_queues = v[1];
	return 0;
}

static void static_iso_decide(const struct vs_policy *pol, const struct vs_decide_in *in,
			      struct vs_decision *out)
{
	out->alloc = (struct vs_alloc){
		.layout = VS_LAYOUT_ISOLATED,
		.n_vcpu = pol->arg_vcpus,
		.n_nq = pol->arg_queues,
		.vcpus = pol->arg_vcpus,
		.queues = pol->arg_queues,
	};
	out->want_vcpu = pol->arg_vcpus;
	out->want_nq = pol->arg_queues;
	snprintf(out->why, sizeof(out->why), "static-iso: fixed %d vCPU cores + %d NQ cores",
		 pol->arg_vcpus, pol->arg_queues);
}

const struct vs_policy_ops policy_static_iso = {
	.parallelism_follows_cores = true,
	.name = "static-iso",
	.args_usage = "NV:NQ",
	.summary = "fixed isolated split: NV vCPU cores, NQ queue cores",
	.init = static_iso_init,
	.decide = static_iso_decide,
};

/* ---- corenap: one time-shared group sized by total demand ----------------- */

static int noargs_init(struct vs_policy *pol, const char *args, int n_cores, char *err,
		       size_t errlen)
{
	if (args) {
		snprintf(err, errlen, "policy %s takes no arguments (got \":%s\")", pol->ops->name,
			 args);
		return -1;
	}
	if (n_cores < 1) {
		snprintf(err, errlen, "policy %s needs at least 1 core", pol->ops->name);
		return -1;
	}
	return 0;
}

static int clamp_cores(int c, int n_cores)
{
	if (c < 1)
		return 1;
	return c > n_cores ? n_cores : c;
}

/*
 * C = ceil((U_v + U_n) / target), then latency-slack feedback: with p95 over
 * the SLO the group grows by one beyond its previous size; with p95 within
 * corenap_hold_slack of the SLO it does not shrink.
 */
static void corenap_decide(const struct vs_policy *pol, const struct vs_decide_in *in,
			   struct vs_decision *out)
{
	const struct vs_sample *s = in->sample;
	double target = in->params->shared_util_target;
	double busy = s->busy_vcpu + s->busy_nq;
	int demand = policy_ceil(busy / target), prev_c, c;
	const char *fb = "demand";

	prev_c = in->prev->layout == VS_LAYOUT_ISOLATED ? vs_alloc_lc_cores(in->prev)
							: in->prev->n_vcpu;
	c = demand;
	if (s->has_p95 && in->slo_p95_us > 0) {
		if (s->p95_us > in->slo_p95_us) {
			if (c < prev_c + 1)
				c = prev_c + 1;
			fb = "p95 over SLO: grow";
		} else if (s->p95_us > (1 - in->params->corenap_hold_slack) * in->slo_p95_us) {
			if (c < prev_c)
				c = prev_c;
			fb = "p95 near SLO: hold";
		}
	}
	c = clamp_cores(c, in->n_cores);
	out->alloc = (struct vs_alloc){
		.layout = VS_LAYOUT_SHARED,
		.n_vcpu = c,
		.n_nq = c,
		.vcpus = c,
		.queues = c,
	};
	out->want_vcpu = s->busy_vcpu / target;
	out->want_nq = s->busy_nq / target;
	snprintf(out->why, sizeof(out->why),
		 "corenap: ceil((%.3f+%.3f)/%.2f)=%d, %s (prev %d) -> %d shared cores",
		 s->busy_vcpu, s->busy_nq, target, demand, fb, prev_c, c);
}

const struct vs_policy_ops policy_corenap = {
	.parallelism_follows_cores = true,
	.name = "corenap",
	.summary = "CoreNap-style: one time-shared group sized by total demand + latency slack",
	.init = noargs_init,
	.decide = corenap_decide,
};

/* ---- demeter NQ: sized from vCPU threads only, BE gets the rest ----------- */

static int demeter_init(struct vs_policy *pol, const char *args, int n_cores, char *err,
			size_t errlen)
{
	int v[1];

	if (baseline_parse_counts("demeter", "NQ", args, 1, v, err, errlen) < 0)
		return -1;
	pol->arg_queues = v[0];
	return 0;
}

static void demeter_decide(const struct vs_policy *pol, const struct vs_decide_in *in,
			   struct vs_decision *out)
{
	const struct vs_sample *s = in->sample;
	double target = in->params->shared_util_target;
	int c = clamp_cores(policy_ceil(s->busy_vcpu_threads / target), in->n_cores);

	out->alloc = (struct vs_alloc){
		.layout = VS_LAYOUT_SHARED,
		.n_vcpu = c,
		.n_nq = c,
		.n_be = in->n_cores - c,
		.vcpus = in->n_cores,
		.queues = pol->arg_queues,
		.be_paused = in->n_cores - c == 0,
	};
	out->want_vcpu = s->busy_vcpu_threads / target;
	out->want_nq = 0;
	snprintf(out->why, sizeof(out->why),
		 "demeter: ceil(vCPU threads %.3f/%.2f)=%d shared cores, %d queues; BE %d%s",
		 s->busy_vcpu_threads, target, c, pol->arg_queues, in->n_cores - c,
		 c == in->n_cores ? " (paused)" : "");
}

const struct vs_policy_ops policy_demeter = {
	.name = "demeter",
	.args_usage = "NQ",
	.summary = "Demeter-style: time-shared cores sized by vCPU threads only, BE gets the rest",
	.init = demeter_init,
	.decide = demeter_decide,
	.gives_be = true,
};
