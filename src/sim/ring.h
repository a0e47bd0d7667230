/* ring.h - FIFO rings of uint32 ids (fixed or doubling) for the simulator. */
#ifndef VS_SIM_RING_H
#define VS_SIM_RING_H

#include <stdbool.h>
#include <stdint.h>

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
