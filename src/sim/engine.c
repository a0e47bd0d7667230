/* engine.c - the discrete-event engine: timer slots in an indexed heap, a seeded RNG, id rings. */
#include "sim/engine.h"

#include <stdlib.h>
#include <string.h>

int engine_init(struct sim_engine *e, int n_slots)
{
	memset(e, 0, sizeof(*e));
	e->heap = calloc((size_t)n_slots + 1, sizeof(*e->heap));
	e->pos = malloc(sizeof(*e->pos) * ((size_t)n_slots + 1));
	if (!e->heap || !e->pos) {
		engine_free(e);
		return -1;
	}
	for (int i = 0; i < n_slots; i++)
		e->pos[i] = -1;
	e->n_slots = n_slots;
	return 0;
}

void engine_free(struct sim_engine *e)
{
	free(e->heap);
	free(e->pos);
	memset(e, 0, sizeof(*e));
}

static inline bool engine_less(const struct sim_heap_ent *a, const struct sim_heap_ent *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void engine_up(struct sim_engine *e, int i)
{
	struct sim_heap_ent x = e->heap[i];

	while (i > 0) {
		int p = (i - 1) / 2;
		if (!engine_less(&x, &e->heap[p]))
			break;
		e->heap[i] = e->heap[p];
		e->pos[e->heap[i].slot] = i;
		i = p;
	}
	e->heap[i] = x;
	e->pos[x.slot] = i;
}

static void engine_down(struct sim_engine *e, int i)
{
	struct sim_heap_ent x = e->heap[i];

	for (;;) {
		int l = 2 * i + 1, m;
		if (l >= e->n)
			break;
		m = l;
		if (l + 1 < e->n && engine_less(&e->heap[l + 1], &e->heap[l]))
			m = l + 1;
		if (!engine_less(&e->heap[m], &x))
			break;
		e->heap[i] = e->heap[m];
		e->pos[e->heap[i].slot] = i;
		i = m;
	}
	e->heap[i] = x;
	e->pos[x.slot] = i;
}

void engine_at(struct sim_engine *e, int slot, sim_ns at)
{
	int i = e->pos[slot];
	struct sim_heap_ent x = { .at = at < e->now ? e->now : at,
				  .seq = e->next_seq++,
				  .slot = slot };

	if (i < 0) {
		i = e->n++;
		e->heap[i] = x;
		engine_up(e, i);
		return;
	}
	e->heap[i] = x;
	engine_up(e, i);
	engine_down(e, e->pos[slot]);
}

void engine_cancel(struct sim_engine *e, int slot)
{
	int i = e->pos[slot];

	if (i < 0)
		return;
	e->pos[slot] = -1;
	if (--e->n == i)
		return;
	e->heap[i] = e->heap[e->n];
	slot = e->heap[i].slot;
	e->pos[slot] = i;
	engine_up(e, i);
	engine_down(e, e->pos[slot]);
}

bool engine_armed(const struct sim_engine *e, int slot)
{
	return e->pos[slot] >= 0;
}

sim_ns engine_when(const struct sim_engine *e, int slot)
{
	return e->pos[slot] >= 0 ? e->heap[e->pos[slot]].at : -1;
}

int engine_pop(struct sim_engine *e, sim_ns limit)
{
	int slot;

	if (e->n == 0 || e->heap[0].at > limit) {
		if (limit > e->now)
			e->now = limit;
		return -1;
	}
	slot = e->heap[0].slot;
	e->now = e->heap[0].at;
	e->pos[slot] = -1;
	if (--e->n > 0) {
		e->heap[0] = e->heap[e->n];
		e->pos[e->heap[0].slot] = 0;
		engine_down(e, 0);
	}
	e->events++;
	return slot;
}
