/* memnet.h - MemNet sizing (SPEC §7.3): an M/M/1 estimate of each VM's region quota, corrected online from the job response time, and the host budget's max-min fair division. Pure. */
#ifndef VS_POLICY_MEMNET_H
#define VS_POLICY_MEMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A VM's processing module runs jobs (transcode, compress) that arrive as a
 * Poisson stream; each job's result (S bytes on average) waits in the VM's
 * shared region until the host has sent it. Every interval, per VM:
 *
 *   model     lambda = arrivals / interval, mu = 1 / service time,
 *             rho = lambda / mu. In an M/M/1 queue the number of jobs in
 *             the system N is geometric: P(N >= n) = rho^n. The region
 *             should hold the results of all of them except with
 *             probability eps: the smallest n with rho^(n+1) <= eps,
 *             n = ceil(ln eps / ln rho) - 1 (at least 1 while jobs arrive).
 *             With rho >= 1 the queue has no steady state: the model falls
 *             back to Little's law at the target, n = lambda * SLO (the jobs
 *             that can be in the system while meeting it), flagged saturated.
 *             model_bytes = n * S.
 *   feedback  a correction factor f (starts at 1), from the measured mean
 *             job response time R against the SLO: R > SLO: f *= 1 + gain *
 *             min(R/SLO - 1, 1); R < (1 - band) * SLO: f *= 1 - gain * x
 *             with x = (1 - band - R/SLO) / (1 - band) in (0, 1]; within the
 *             band f stays. f is clamped to [factor_min, factor_max].
 *   request   max(min_bytes, f * model_bytes), rounded up to a page; and at
 *             least what the VM holds plus what a waiting put of its asks for
 *             (used_bytes + need_bytes, when need_bytes > 0): a VM whose puts
 *             cannot complete reports no jobs, so without this its quota
 *             could never grow past them.
 *
 * The orchestrator then divides the host budget: when the requests (each
 * capped by its VM's region) fit, every VM gets its request; otherwise
 * max-min fairness (water-filling): VMs asking less than an equal share
 * get what they ask, the rest share the remainder equally. A guest's
 * counters are untrusted, so inflated numbers win it at most an equal share
 * of what the others leave.
 */

/* Tunables (defaults in memnet_sizing_defaults, each with its source). */
struct memnet_sizing_params {
	double overflow_prob; /* eps: the region may be too small for the jobs in the system
				 at most this often; 0.05 (ours: the 95th percentile, as the
				 p95 SLOs elsewhere in vspace) */
	double gain;	      /* feedback step at full error; 0.25 (ours: a quarter per
				 interval, a 16x correction takes ~12 intervals) */
	double band;	      /* no shrink while R is within [(1 - band) SLO, SLO]; 0.2
				 (ours, the same slack corenap's feedback uses) */
	double factor_min;    /* correction clamps: 0.25 and 16 (ours: two octaves down, */
	double factor_max;    /*  four up, so a wrong model is corrected but bounded) */
	uint64_t min_bytes;   /* no VM gets less: 1 MiB (ours: one large result) */
};

/* What the controller keeps per VM between intervals. */
struct memnet_sizing_state {
	double factor; /* 0 before the first interval (then 1) */
};

/* One VM's measurements over the last interval. */
struct memnet_sizing_in {
	double interval_s;   /* the interval's length */
	double arrivals;     /* jobs that arrived (or finished: the same in steady state) */
	double service_ms;   /* their mean service time */
	double object_bytes; /* their results' mean size */
	bool has_response;   /* false: no job finished, no feedback this interval */
	double response_ms;  /* their mean response time (arrival to result in the region) */
	double slo_ms;	     /* the target for the mean response time */
	uint64_t used_bytes; /* what its live objects reserve now */
	uint64_t need_bytes; /* what a put of its waits for (0: none waits) */
};

struct memnet_sizing_out {
	double lambda_per_s, mu_per_s, rho;
	bool saturated;	    /* rho >= 1: Little's law at the SLO instead of M/M/1 */
	double n_jobs;	    /* results the region should hold */
	double model_bytes; /* n_jobs * object_bytes */
	double factor_prev, factor;
	bool for_need; /* the request is what a waiting put needs */
	uint64_t request_bytes;
};

void memnet_sizing_defaults(struct memnet_sizing_params *p);
/* Ranges: 0 < eps < 1, 0 < gain < 1, 0 <= band < 1, 0 < min <= 1 <= max.
 * Returns 0 or -1 with the parameter named in err. */
int memnet_sizing_check(const struct memnet_sizing_params *p, char *err, size_t errlen);
/* One VM, one interval: update st (the correction) and fill out. in must
 * hold finite, non-negative numbers (service_ms > 0 when arrivals > 0). */
void memnet_size(const struct memnet_sizing_params *p, struct memnet_sizing_state *st,
		 const struct memnet_sizing_in *in, struct memnet_sizing_out *out);
/* Divide budget_bytes among n VMs: request[i] capped by cap[i] (0 = no cap),
 * max-min fair when they do not fit; grants rounded down to a page. */
void memnet_orchestrate(uint64_t budget_bytes, const uint64_t *request, const uint64_t *cap,
			size_t n, uint64_t *grant);
/* The arithmetic of one decision as text (for --explain and the logs). */
void memnet_sizing_explain(const struct memnet_sizing_params *p, const struct memnet_sizing_in *in,
			   const struct memnet_sizing_out *out, uint64_t grant, char *buf,
			   size_t len);

#endif
