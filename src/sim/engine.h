/* engine.h - the discrete-event engine: timer slots in an indexed heap. */
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

#endif
