/* engine.h - the discrete-event engine: timer slots in an indexed heap, a seeded RNG, id rings. */
#ifndef VS_SIM_ENGINE_H
#define VS_SIM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

/* Simulated time in nanoseconds. */
typedef int64_t sim_ns;

/*
 * Every source of future events owns a fixed timer slot (a core's "segment
 * done", a queue's interrupt, the next arrival, ...). Setting a slot that is
 * already armed moves it; there are no stale events and no allocation after
 * engine_init. Events fire in (time, order armed) order, so a run is
 * deterministic.
 */
struct sim_heap_ent {
	sim_ns at;
	uint64_t seq;
	int slot;
};

struct sim_engine {
	sim_ns now;		   /* time of the event being handled */
	int n_slots;		   /* slots 0..n_slots-1 */
	int n;			   /* armed slots (heap entries) */
	struct sim_heap_ent *heap; /* binary min-heap on (at, seq) */
	int *pos;		   /* heap index of each slot, -1 when not armed */
	uint64_t next_seq;	   /* order of arming, breaks ties */
	uint64_t events;	   /* events fired so far */
};

/* Returns 0, or -1 when out of memory. */
int engine_init(struct sim_engine *e, int n_slots);
void engine_free(struct sim_engine *e);
/* Arm (or move) slot to fire at time at (>= now). */
void engine_at(struct sim_engine *e, int slot, sim_ns at);
void engine_cancel(struct sim_engine *e, int slot);
bool engine_armed(const struct sim_engine *e, int slot);
/* Time the slot fires; only meaningful when armed. */
sim_ns engine_when(const struct sim_engine *e, int slot);
/* Pop the earliest event if it fires at or before limit: sets now to its
 * time and returns its slot; otherwise sets now to limit and returns -1. */
int engine_pop(struct sim_engine *e, sim_ns limit);

/* ---- Random numbers: one independent stream per purpose ------------------ */

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

/* ---- Rings of ids (request or queue numbers) -------------------------------- */

/* A FIFO of uint32 ids. A fixed ring refuses pushes when full; a growable
 * one doubles (rarely: amortised, never per event in steady state). */
struct sim_ring {
	uint32_t *buf;
	uint32_t cap; /* a power of two */
	uint32_t head;
	uint32_t count;
	uint32_t limit; /* most entries allowed; 0 = grow without limit */
};

/* limit 0: growable. Returns 0 or -1 (out of memory). */
int ring_init(struct sim_ring *q, uint32_t limit);
void ring_free(struct sim_ring *q);
/* Returns 0, or -1 when full (fixed ring) or out of memory. */
int ring_push(struct sim_ring *q, uint32_t v);
uint32_t ring_pop(struct sim_ring *q);
static inline bool ring_full(const struct sim_ring *q)
{
	return q->limit && q->count >= q->limit;
}

#endif
