/* hist.h - log-linear latency histogram: bounded relative error, O(1) insert, mergeable. */
#ifndef VS_LIB_HIST_H
#define VS_LIB_HIST_H

#include <stdint.h>

/*
 * Values (any unit; the loadgen uses nanoseconds) below 2^VS_HIST_SUB_BITS are
 * counted exactly. Above, each power of two is cut into 2^VS_HIST_SUB_BITS
 * equal buckets, so a bucket is at most 1/128 of its values wide and a
 * reported quantile (the bucket's midpoint) is within 1/256 (0.4 %) of the
 * true order statistic.
 */
#define VS_HIST_SUB_BITS 7
#define VS_HIST_SUB	 (1u << VS_HIST_SUB_BITS)
#define VS_HIST_BUCKETS	 ((int)(VS_HIST_SUB + (64 - VS_HIST_SUB_BITS) * VS_HIST_SUB))

struct vs_hist {
	uint64_t counts[VS_HIST_BUCKETS];
	uint64_t total; /* values recorded */
	uint64_t min;	/* smallest value recorded (UINT64_MAX when empty) */
	uint64_t max;	/* largest value recorded */
	double sum;	/* sum of values, for the mean */
};

void hist_init(struct vs_hist *h);
void hist_add(struct vs_hist *h, uint64_t v);
void hist_add_n(struct vs_hist *h, uint64_t v, uint64_t n);
/* dst += src */
void hist_merge(struct vs_hist *dst, const struct vs_hist *src);
/* The value at quantile q in [0, 1]: the midpoint of the bucket holding the
 * ceil(q * total)-th smallest value (at least the 1st), clamped to
 * [min, max]. 0 when empty. */
uint64_t hist_quantile(const struct vs_hist *h, double q);
/* Distribution-free confidence interval for quantile q: the values at ranks
 * n*q -/+ z*sqrt(n*q*(1-q)) (z = 1.96 for 95 %). */
void hist_quantile_ci(const struct vs_hist *h, double q, double z, uint64_t *lo, uint64_t *hi);
double hist_mean(const struct vs_hist *h);

/* Bucket arithmetic (exposed for tests). */
int hist_bucket(uint64_t v);
uint64_t hist_bucket_low(int b);
uint64_t hist_bucket_width(int b);

#endif
