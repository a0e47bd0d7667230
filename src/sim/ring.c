/* ring.c - FIFO rings of uint32 ids (fixed or doubling) for the simulator. */
#include "sim/ring.h"

#include <stdlib.h>
#include <string.h>

int ring_init(struct sim_ring *q, uint32_t limit)
{
	uint32_t cap = 16;

	memset(q, 0, sizeof(*q));
	while (limit && cap < limit)
		cap *= 2;
	q->buf = malloc(sizeof(*q->buf) * cap);
	if (!q->buf)
		return -1;
	q->cap = cap;
	q->limit = limit;
	return 0;
}

void ring_free(struct sim_ring *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

int ring_push(struct sim_ring *q, uint32_t v)
{
	if (q->limit && q->count >= q->limit)
		return -1;
	if (q->count == q->cap) {
		uint32_t *nb = malloc(sizeof(*nb) * q->cap * 2);
		if (!nb)
			return -1;
		for (uint32_t i = 0; i < q->count; i++)
			nb[i] = q->buf[(q->head + i) & (q->cap - 1)];
		free(q->buf);
		q->buf = nb;
		q->head = 0;
		q->cap *= 2;
	}
	q->buf[(q->head + q->count) & (q->cap - 1)] = v;
	q->count++;
	return 0;
}

uint32_t ring_pop(struct sim_ring *q)
{
	uint32_t v = q->buf[q->head];

	q->head = (q->head + 1) & (q->cap - 1);
	q->count--;
	return v;
}
