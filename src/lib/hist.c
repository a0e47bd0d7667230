/* hist.c - log-linear latency histogram: bounded relative error, O(1) insert, mergeable. */
#include "lib/hist.h"

#include <math.h>
#include <string.h>

void hist_init(struct vs_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

int hist_bucket(uint64_t v)
{
	int e;

	if (v < VS_HIST_SUB)
		return (int)v;
	e = 63 - __builtin_clzll(v); /* floor(log2 v) >= SUB_BITS */
	return (int)(VS_HIST_SUB + (unsigned)(e - VS_HIST_SUB_BITS) * VS_HIST_SUB +
		     ((v >> (e - VS_HIST_SUB_BITS)) - VS_HIST_SUB));
}

uint64_t hist_bucket_low(int b)
{
	int e;
	uint64_t sub;

	if (b < (int)VS_HIST_SUB)
		return (uint64_t)b;
	e = (b - (int)VS_HIST_SUB) / (int)VS_HIST_SUB + VS_HIST_SUB_BITS;
	sub = (uint64_t)((b - (int)VS_HIST_SUB) % (int)VS_HIST_SUB);
	return (VS_HIST_SUB + sub) << (e - VS_HIST_SUB_BITS);
}

uint64_t hist_bucket_width(int b)
{
	if (b < (int)VS_HIST_SUB)
		return 1;
	return UINT64_C(1) << ((b - (int)VS_HIST_SUB) / (int)VS_HIST_SUB);
}

void hist_add_n(struct vs_hist *h, uint64_t v, uint64_t n)
{
	if (n == 0)
		return;
	h->counts[hist_bucket(v)] += n;
	h->total += n;
	h->sum += (double)v * (double)n;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hist_add(struct vs_hist *h, uint64_t v)
{
	hist_add_n(h, v, 1);
}

void hist_merge(struct vs_hist *dst, const struct vs_hist *src)
{
	if (src->total == 0)
		return;
	for (int b = 0; b < VS_HIST_BUCKETS; b++)
		dst->counts[b] += src->counts[b];
	dst->total += src->total;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Value of the rank-th smallest recorded value (1-based), bucket midpoint. */
static uint64_t hist_at_rank(const struct vs_hist *h, uint64_t rank)
{
	uint64_t seen = 0;

	if (h->total == 0)
		return 0;
	if (rank < 1)
		rank = 1;
	if (rank > h->total)
		rank = h->total;
	for (int b = 0; b < VS_HIST_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen >= rank) {
			uint64_t v = hist_bucket_low(b) + hist_bucket_width(b) / 2;
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

uint64_t hist_quantile(const struct vs_hist *h, double q)
{
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	return hist_at_rank(h, (uint64_t)ceil(q * (double)h->total - 1e-9));
}

void hist_quantile_ci(const struct vs_hist *h, double q, double z, uint64_t *lo, uint64_t *hi)
{
	double n = (double)h->total, half = z * sqrt(n * q * (1 - q));
	double r_lo = floor(n * q - half), r_hi = ceil(n * q + half);

	*lo = hist_at_rank(h, r_lo < 1 ? 1 : (uint64_t)r_lo);
	*hi = hist_at_rank(h, r_hi < 1 ? 1 : (uint64_t)r_hi);
}

double hist_mean(const struct vs_hist *h)
{
	return h->total ? h->sum / (double)h->total : 0;
}
