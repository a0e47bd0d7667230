/* topology.c - the cores vspace manages: NUMA nodes, hyper-thread siblings, the NIC's node. */
#include "platform/topology.h"

void topology_init_flat(struct vs_topology *t, int n_cpus)
{
	cpuset_zero(&t->managed);
	for (int c = 0; c < VS_MAX_CPUS; c++) {
		t->node_of[c] = 0;
		t->core_of[c] = -1;
	}
	for (int c = 0; c < n_cpus && c < VS_MAX_CPUS; c++)
		cpuset_set(&t->managed, c);
	t->nic_node = -1;
	topology_finalize(t);
}

void topology_finalize(struct vs_topology *t)
{
	/* link each cpu to the next higher sibling, the highest back to the lowest */
	for (int c = 0; c < VS_MAX_CPUS; c++)
		t->sib_next[c] = c;
	for (int c = 0; c < VS_MAX_CPUS; c++) {
		int first = -1, next = -1;
		if (t->core_of[c] < 0)
			continue;
		for (int d = 0; d < VS_MAX_CPUS; d++) {
			if (d == c || !topology_siblings(t, c, d))
				continue;
			if (first < 0)
				first = d;
			if (d > c && next < 0)
				next = d;
		}
		if (next >= 0)
			t->sib_next[c] = next;
		else if (first >= 0)
			t->sib_next[c] = first;
	}
}

void topology_set_managed(struct vs_topology *t, const struct vs_cpuset *managed)
{
	t->managed = *managed;
}

int topology_siblings(const struct vs_topology *t, int a, int b)
{
	if (a == b || a < 0 || b < 0 || a >= VS_MAX_CPUS || b >= VS_MAX_CPUS)
		return 0;
	if (t->core_of[a] < 0 || t->core_of[b] < 0)
		return 0;
	return t->core_of[a] == t->core_of[b] && t->node_of[a] == t->node_of[b];
}
