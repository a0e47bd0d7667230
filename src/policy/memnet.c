/* memnet.c - MemNet region sizing: M/M/1 model + response-time feedback per VM, max-min fair division of the host budget (pure). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "policy/memnet.h"

/* Quotas are whole pages (the region's data extents are page-aligned). */
#define MEMNET_SIZING_PAGE 4096u

void memnet_sizing_defaults(struct memnet_sizing_params *p)
{
	p->overflow_prob = 0.05;
	p->gain = 0.25;
	p->band = 0.2;
	p->factor_min = 0.25;
	p->factor_max = 16;
	p->min_bytes = 1u << 20;
}

int memnet_sizing_check(const struct memnet_sizing_params *p, char *err, size_t errlen)
{
	if (!(p->overflow_prob > 0 && p->overflow_prob < 1)) {
		snprintf(err, errlen, "overflow probability %g: must be in (0, 1)",
			 p->overflow_prob);
		return -1;
	}
	if (!(p->gain > 0 && p->gain < 1)) {
		snprintf(err, errlen, "feedback gain %g: must be in (0, 1)", p->gain);
		return -1;
	}
	if (!(p->band >= 0 && p->band < 1)) {
		snprintf(err, errlen, "feedback band %g: must be in [0, 1)", p->band);
		return -1;
	}
	if (!(p->factor_min > 0 && p->factor_min <= 1 && p->factor_max >= 1 &&
	      isfinite(p->factor_max))) {
		snprintf(err, errlen, "correction clamps [%g, %g]: need 0 < min <= 1 <= max",
			 p->factor_min, p->factor_max);
		return -1;
	}
	return 0;
}

static uint64_t memnet_page_round_up(double bytes)
{
	if (!(bytes > 0))
		return 0;
	if (bytes >= 0x1p62)
		return (UINT64_C(1) << 62);
	uint64_t b = (uint64_t)ceil(bytes);
	return (b + MEMNET_SIZING_PAGE - 1) / MEMNET_SIZING_PAGE * MEMNET_SIZING_PAGE;
}

void memnet_size(const struct memnet_sizing_params *p, struct memnet_sizing_state *st,
		 const struct memnet_sizing_in *in, struct memnet_sizing_out *out)
{
	memset(out, 0, sizeof(*out));
	if (st->factor <= 0)
		st->factor = 1;
	out->factor_prev = st->factor;
	if (in->interval_s > 0)
		out->lambda_per_s = in->arrivals / in->interval_s;
	if (in->service_ms > 0)
		out->mu_per_s = 1000.0 / in->service_ms;
	if (out->lambda_per_s > 0 && out->mu_per_s > 0) {
		out->rho = out->lambda_per_s / out->mu_per_s;
		if (out->rho < 1) {
			/* smallest n with rho^(n+1) <= eps */
			double n = ceil(log(p->overflow_prob) / log(out->rho)) - 1;
			out->n_jobs = n < 1 ? 1 : n;
		} else {
			out->saturated = true;
			out->n_jobs = ceil(out->lambda_per_s * in->slo_ms / 1000.0);
			if (out->n_jobs < 1)
				out->n_jobs = 1;
		}
	}
	out->model_bytes = out->n_jobs * in->object_bytes;

	if (in->has_response && in->slo_ms > 0) {
		double e = in->response_ms / in->slo_ms;
		if (e > 1) {
			st->factor *= 1 + p->gain * (e - 1 < 1 ? e - 1 : 1);
		} else if (e < 1 - p->band) {
			double x = (1 - p->band - e) / (1 - p->band);
			st->factor *= 1 - p->gain * (x < 1 ? x : 1);
		}
		if (st->factor < p->factor_min)
			st->factor = p->factor_min;
		if (st->factor > p->factor_max)
			st->factor = p->factor_max;
	}
	out->factor = st->factor;
	double want = out->factor * out->model_bytes;
	if (want < (double)p->min_bytes)
		want = (double)p->min_bytes;
	if (in->need_bytes > 0 && (double)in->used_bytes + (double)in->need_bytes > want) {
		want = (double)in->used_bytes + (double)in->need_bytes;
		out->for_need = true;
	}
	out->request_bytes = memnet_page_round_up(want);
}

static int memnet_u64_cmp(const void *a, const void *b)
{
	uint64_t x = **(uint64_t *const *)a, y = **(uint64_t *const *)b;
	return x < y ? -1 : x > y;
}

void memnet_orchestrate(uint64_t budget_bytes, const uint64_t *request, const uint64_t *cap,
			size_t n, uint64_t *grant)
{
	uint64_t total = 0;
	uint64_t **order;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		grant[i] = request[i];
		if (cap && cap[i] && grant[i] > cap[i])
			grant[i] = cap[i];
		total += grant[i];
	}
	if (total > budget_bytes) {
		/* water-filling over the demands in increasing order */
		order = malloc(n * sizeof(*order));
		if (!order) { /* no memory: an equal share each */
			for (size_t i = 0; i < n; i++)
				grant[i] =
					grant[i] < budget_bytes / n ? grant[i] : budget_bytes / n;
		} else {
			uint64_t left = budget_bytes;
			for (size_t i = 0; i < n; i++)
				order[i] = &grant[i];
			qsort(order, n, sizeof(*order), memnet_u64_cmp);
			for (size_t k = 0; k < n; k++) {
				uint64_t share = left / (n - k);
				uint64_t *g = order[k];
				if (*g > share)
					*g = share;
				left -= *g;
			}
			free(order);
		}
	}
	for (size_t i = 0; i < n; i++)
		grant[i] = grant[i] / MEMNET_SIZING_PAGE * MEMNET_SIZING_PAGE;
}

void memnet_sizing_explain(const struct memnet_sizing_params *p, const struct memnet_sizing_in *in,
			   const struct memnet_sizing_out *out, uint64_t grant, char *buf,
			   size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	str_appendf(buf, len, &n, "lambda=%.3f/s mu=%.3f/s rho=%.3f ", out->lambda_per_s,
		    out->mu_per_s, out->rho);
	if (out->lambda_per_s <= 0)
		str_appendf(buf, len, &n, "no jobs: n=0");
	else if (out->saturated)
		str_appendf(buf, len, &n, "saturated: n=lambda*slo=%.0f", out->n_jobs);
	else
		str_appendf(buf, len, &n, "n=%.0f (P(N>n)<=%g)", out->n_jobs, p->overflow_prob);
	str_appendf(buf, len, &n, " S=%.0f model=%.0f; ", in->object_bytes, out->model_bytes);
	if (in->has_response && in->slo_ms > 0)
		str_appendf(buf, len, &n, "response %.1f ms vs slo %.1f ms: ", in->response_ms,
			    in->slo_ms);
	else
		str_appendf(buf, len, &n, "no response time: ");
	str_appendf(buf, len, &n, "factor %.4f->%.4f; ", out->factor_prev, out->factor);
	if (out->for_need)
		str_appendf(buf, len, &n, "a put waits for %llu more (in use %llu): ",
			    (unsigned long long)in->need_bytes, (unsigned long long)in->used_bytes);
	str_appendf(buf, len, &n, "request=%llu granted=%llu",
		    (unsigned long long)out->request_bytes, (unsigned long long)grant);
}
