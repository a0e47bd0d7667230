/* placer.h - turn core counts into concrete, stable core sets (SPEC §4). */
#ifndef VS_CONTROL_PLACER_H
#define VS_CONTROL_PLACER_H

#include <stddef.h>

#include "platform/topology.h"
#include "platform/platform.h"

/*
 * Place n workloads' allocations (alloc[i], index-aligned with prev->wl[i])
 * plus alloc[0].n_be best-effort cores on topo->managed, starting from the
 * previous plan so that only boundary cores move:
 *  - a group keeps its previous cores; a shrinking group gives up the cores
 *    whose hyper-thread sibling is not in the group first, then off-node
 *    cores, then those at its far end;
 *  - a growing group takes free cores, preferring the sibling of a core it
 *    has, then cores whose siblings belong to no other group, then cores on
 *    its NUMA node (the NIC's node for NQ groups), then its own end of the
 *    core list (NQ groups the low ids, vCPU groups the high ids);
 *  - cores outside topo->managed (reserved, unmanaged) are never used.
 * prev may be NULL or hold fewer workloads (a new workload starts empty).
 * out->wl must have room for n entries. Returns 0, or -1 with err set when
 * the counts do not fit the managed cores.
 */
int placer_place(const struct vs_topology *topo, const struct vs_plan *prev,
		 const struct vs_alloc *alloc, int n, struct vs_plan *out, char *err,
		 size_t errlen);

#endif
