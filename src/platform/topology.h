/* topology.h - the cores vspace manages: NUMA nodes, hyper-thread siblings, the NIC's node. */
#ifndef VS_PLATFORM_TOPOLOGY_H
#define VS_PLATFORM_TOPOLOGY_H

#include "lib/cpuset.h"

struct vs_topology {
	struct vs_cpuset managed;  /* cores vspace may use: configured minus reserved */
	int node_of[VS_MAX_CPUS];  /* NUMA node of each cpu (0 when unknown) */
	int core_of[VS_MAX_CPUS];  /* physical core id of each cpu: cpus with the same
				       (node, core) are hyper-thread siblings; -1 = own core */
	int sib_next[VS_MAX_CPUS]; /* ring of hyper-thread siblings (cpu itself when none);
				       built by topology_finalize() */
	int nic_node;		   /* NUMA node of the NIC; -1 when unknown */
};

/* cpus 0..n-1 managed, one NUMA node, no SMT, NIC node unknown. */
void topology_init_flat(struct vs_topology *t, int n_cpus);
/* Rebuild sib_next from node_of/core_of; call after changing them. */
void topology_finalize(struct vs_topology *t);
/* Set managed to the given set; node/core tables untouched. */
void topology_set_managed(struct vs_topology *t, const struct vs_cpuset *managed);
/* True when a and b (a != b) are hyper-thread siblings. */
int topology_siblings(const struct vs_topology *t, int a, int b);

#endif
