/* etc.c - the loadgen's request mix: random numbers, Poisson gaps, ETC-like key and value sizes. */
#include "loadgen/etc.h"

#include <math.h>
#include <stdlib.h>

static uint64_t etc_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64: expands one seed into well-mixed state words. */
static uint64_t etc_splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void etc_rng_seed(struct etc_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = etc_splitmix(&seed);
}

uint64_t etc_rng_next(struct etc_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = etc_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = etc_rotl(s[3], 45);
	return result;
}

double etc_rng_unit(struct etc_rng *r)
{
	/* 53 random bits, shifted by half a step: (0, 1) exclusive. */
	return ((double)(etc_rng_next(r) >> 11) + 0.5) / (double)(UINT64_C(1) << 53);
}

uint64_t etc_rng_below(struct etc_rng *r, uint64_t n)
{
	/* Multiply-shift (Lemire); the bias for n << 2^64 is negligible here. */
	return (uint64_t)(((unsigned __int128)etc_rng_next(r) * n) >> 64);
}

double etc_rng_exp(struct etc_rng *r, double mean)
{
	return -mean * log(etc_rng_unit(r));
}

double etc_key_size_icdf(double u)
{
	/* GEV: F(x) = exp(-(1 + k (x - mu) / s)^(-1/k))  =>  x = mu + s/k ((-ln u)^(-k) - 1) */
	return ETC_KEY_LOC + ETC_KEY_SCALE / ETC_KEY_SHAPE * (pow(-log(u), -ETC_KEY_SHAPE) - 1);
}

double etc_value_size_icdf(double u)
{
	/* GPD: F(x) = 1 - (1 + k x / s)^(-1/k)  =>  x = s/k ((1 - u)^(-k) - 1) */
	return ETC_VALUE_SCALE / ETC_VALUE_SHAPE * (pow(1 - u, -ETC_VALUE_SHAPE) - 1);
}

static double etc_clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

int etc_keys_init(struct etc_keys *k, uint32_t n_keys, uint32_t value_max, uint64_t seed)
{
	struct etc_rng r;

	k->n_keys = n_keys;
	k->value_max = value_max < 1 ? 1 : value_max;
	k->key_len = malloc(n_keys ? n_keys : 1);
	k->value_len = malloc((n_keys ? n_keys : 1) * sizeof(*k->value_len));
	if (!k->key_len || !k->value_len) {
		etc_keys_free(k);
		return -1;
	}
	etc_rng_seed(&r, seed ^ UINT64_C(0x6b657973)); /* "keys" */
	for (uint32_t i = 0; i < n_keys; i++) {
		double ks = etc_clamp(round(etc_key_size_icdf(etc_rng_unit(&r))), ETC_KEY_MIN,
				      ETC_KEY_MAX);
		double vs =
			etc_clamp(round(etc_value_size_icdf(etc_rng_unit(&r))), 1, k->value_max);
		k->key_len[i] = (uint8_t)ks;
		k->value_len[i] = (uint32_t)vs;
	}
	return 0;
}

void etc_keys_free(struct etc_keys *k)
{
	free(k->key_len);
	free(k->value_len);
	k->key_len = NULL;
	k->value_len = NULL;
	k->n_keys = 0;
}

size_t etc_key_format(const struct etc_keys *k, uint32_t id, char *dst)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = k->key_len[id];

	dst[0] = 'k';
	for (int i = 0; i < 8; i++)
		dst[1 + i] = hex[(id >> (28 - 4 * i)) & 0xf];
	for (size_t i = 9; i < len; i++)
		dst[i] = (char)('a' + (i + id) % 26);
	return len;
}
