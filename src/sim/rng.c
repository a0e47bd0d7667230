/* rng.c - seeded random-number streams (splitmix64) for the simulator. */
#include "sim/rng.h"

#include <math.h>

static uint64_t rng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	r->state = rng_mix(seed ^ rng_mix(stream + UINT64_C(0x9e3779b97f4a7c15)));
}

uint64_t rng_next(struct sim_rng *r)
{
	r->state += UINT64_C(0x9e3779b97f4a7c15);
	return rng_mix(r->state);
}

double rng_unit(struct sim_rng *r)
{
	/* 53 random bits, shifted by half a step: in (0, 1) */
	return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

uint32_t rng_below(struct sim_rng *r, uint32_t n)
{
	/* Lemire's multiply-shift; the bias (n / 2^32) is negligible here */
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double rng_exp(struct sim_rng *r, double mean)
{
	return -mean * log(rng_unit(r));
}
