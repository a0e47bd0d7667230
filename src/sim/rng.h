/* rng.h - seeded random-number streams (splitmix64) for the simulator. */
#ifndef VS_SIM_RNG_H
#define VS_SIM_RNG_H

#include <stdint.h>

/* splitmix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by the golden
 * gamma and finalised by a mixing function; passes BigCrush. Streams are
 * seeded from (seed, stream id), so adding a draw in one stream never shifts
 * another. */
struct sim_rng {
	uint64_t state;
};

void rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(struct sim_rng *r);
/* Uniform in (0, 1): never 0, so logarithms are safe. */
double rng_unit(struct sim_rng *r);
/* Uniform integer in [0, n). */
uint32_t rng_below(struct sim_rng *r, uint32_t n);
/* Exponential with the given mean. */
double rng_exp(struct sim_rng *r, double mean);

#endif
