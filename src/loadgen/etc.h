/* etc.h - the loadgen's request mix: random numbers, Poisson gaps, ETC-like key and value sizes. */
#ifndef VS_LOADGEN_ETC_H
#define VS_LOADGEN_ETC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Key and value sizes follow the fits published for Facebook's ETC memcached
 * pool (Atikoglu et al., "Workload Analysis of a Large-Scale Key-Value Store",
 * SIGMETRICS 2012), the same ones mutilate uses:
 *   key size   Generalized Extreme Value, location 30.7984, scale 8.20449, shape 0.078688
 *   value size Generalized Pareto, location 0, scale 214.476, shape 0.348238
 * Both are clamped: keys to [ETC_KEY_MIN, ETC_KEY_MAX] (memcached's key limit is
 * 250 bytes; the lower bound leaves room for the unique key id), values to
 * [1, value_max]. ETC's GET:SET ratio is about 30:1.
 */
#define ETC_KEY_MIN	12
#define ETC_KEY_MAX	250
#define ETC_KEY_LOC	30.7984
#define ETC_KEY_SCALE	8.20449
#define ETC_KEY_SHAPE	0.078688
#define ETC_VALUE_SCALE 214.476
#define ETC_VALUE_SHAPE 0.348238
#define ETC_GET_PER_SET 30.0

/* xoshiro256** state: small, fast, good enough for arrival times and key picks. */
struct etc_rng {
	uint64_t s[4];
};

void etc_rng_seed(struct etc_rng *r, uint64_t seed);
uint64_t etc_rng_next(struct etc_rng *r);
/* Uniform real in (0, 1): never exactly 0 or 1. */
double etc_rng_unit(struct etc_rng *r);
/* Uniform integer in [0, n), n > 0. */
uint64_t etc_rng_below(struct etc_rng *r, uint64_t n);
/* Exponential gap with the given mean (a Poisson process's inter-arrival time). */
double etc_rng_exp(struct etc_rng *r, double mean);

/* Inverse CDFs of the two fits for u in (0, 1), before clamping. */
double etc_key_size_icdf(double u);
double etc_value_size_icdf(double u);

/* The key space: key i has a fixed key size and value size (drawn once from the
 * fits with a seed), so a SET of key i always writes the same number of bytes. */
struct etc_keys {
	uint32_t n_keys;
	uint32_t value_max;  /* largest value size, bytes */
	uint8_t *key_len;    /* per key, ETC_KEY_MIN..ETC_KEY_MAX */
	uint32_t *value_len; /* per key, 1..value_max */
};

/* Returns 0, or -1 when memory is short. */
int etc_keys_init(struct etc_keys *k, uint32_t n_keys, uint32_t value_max, uint64_t seed);
void etc_keys_free(struct etc_keys *k);
/* Write key id's text (key_len[id] bytes, no NUL) to dst; returns its length.
 * Keys are "k" + 8 hex digits of the id + filler: unique and memcached-safe. */
size_t etc_key_format(const struct etc_keys *k, uint32_t id, char *dst);

#endif
