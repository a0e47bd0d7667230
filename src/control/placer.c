/* placer.c - turn core counts into concrete, stable core sets (SPEC §4). */
#include "control/placer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum placer_kind {
	PLACER_NQ = 0, /* grows first: it wants the cores nearest the NIC */
	PLACER_SHARED,
	PLACER_VCPU,
	PLACER_BE,
};

struct placer_group {
	int wl; /* workload index, -1 for best-effort */
	enum placer_kind kind;
	int want;		/* cores wanted */
	struct vs_cpuset cores; /* cores held */
};

struct placer_ctx {
	const struct vs_topology *topo;
	struct placer_group *g;
	int n_groups;
	short *owner; /* group index per cpu, -1 free; VS_MAX_CPUS entries */
};

/* NUMA node most of the group's cores are on, or -1 when it has none. */
static int placer_majority_node(const struct placer_ctx *pc, const struct vs_cpuset *s)
{
	int best = -1, best_n = 0;

	for (int c = cpuset_next(s, 0); c >= 0; c = cpuset_next(s, c + 1)) {
		int node = pc->topo->node_of[c], n = 0;
		if (node == best)
			continue;
		for (int d = cpuset_next(s, 0); d >= 0; d = cpuset_next(s, d + 1))
			n += pc->topo->node_of[d] == node;
		if (n > best_n) {
			best = node;
			best_n = n;
		}
	}
	return best;
}

/* The node a group wants to live on, or -1 for no preference. */
static int placer_pref_node(const struct placer_ctx *pc, int gi)
{
	const struct placer_group *g = &pc->g[gi];
	int node = placer_majority_node(pc, &g->cores);

	if (g->kind == PLACER_NQ || g->kind == PLACER_SHARED)
		return pc->topo->nic_node >= 0 ? pc->topo->nic_node : node;
	if (g->kind == PLACER_BE || node >= 0)
		return node;
	/* an empty vCPU group follows its workload's NQ group */
	for (int i = 0; i < pc->n_groups; i++)
		if (pc->g[i].wl == g->wl && pc->g[i].kind == PLACER_NQ)
			node = placer_majority_node(pc, &pc->g[i].cores);
	return node >= 0 ? node : pc->topo->nic_node;
}

/* Does cpu c have a sibling owned by group gi (other = false) or by a group
 * other than gi (other = true)? */
static int placer_sibling_owned(const struct placer_ctx *pc, int c, int gi, int other)
{
	for (int s = pc->topo->sib_next[c]; s != c; s = pc->topo->sib_next[s]) {
		if (!cpuset_test(&pc->topo->managed, s))
			continue;
		int o = pc->owner[s];
		if (!other && o == gi)
			return 1;
		if (other && o >= 0 && o != gi)
			return 1;
	}
	return 0;
}

/* Keep-score of cpu c for group gi: higher means keep (or take) it first. */
static long placer_score(const struct placer_ctx *pc, int gi, int c, int pref_node)
{
	const struct placer_group *g = &pc->g[gi];
	long score = 0;

	score += placer_sibling_owned(pc, c, gi, 0) ? 8 : 0;
	score += placer_sibling_owned(pc, c, gi, 1) ? 0 : 4;
	score += (pref_node < 0 || pc->topo->node_of[c] == pref_node) ? 2 : 0;
	score *= VS_MAX_CPUS;
	/* position: vCPU groups from the high end, the others from the low end */
	score += g->kind == PLACER_VCPU ? c : VS_MAX_CPUS - 1 - c;
	return score;
}

static void placer_release(struct placer_ctx *pc, int gi, int count)
{
	struct placer_group *g = &pc->g[gi];
	int pref = placer_pref_node(pc, gi);

	while (count-- > 0) {
		int worst = -1;
		long worst_score = 0;
		for (int c = cpuset_next(&g->cores, 0); c >= 0; c = cpuset_next(&g->cores, c + 1)) {
			long s = placer_score(pc, gi, c, pref);
			if (worst < 0 || s < worst_score) {
				worst = c;
				worst_score = s;
			}
		}
		if (worst < 0)
			return;
		cpuset_clear(&g->cores, worst);
		pc->owner[worst] = -1;
	}
}

static void placer_take(struct placer_ctx *pc, int gi, int count)
{
	struct placer_group *g = &pc->g[gi];
	const struct vs_cpuset *m = &pc->topo->managed;
	int pref = placer_pref_node(pc, gi);

	while (count-- > 0) {
		int best = -1;
		long best_score = 0;
		for (int c = cpuset_next(m, 0); c >= 0; c = cpuset_next(m, c + 1)) {
			if (pc->owner[c] >= 0)
				continue;
			long s = placer_score(pc, gi, c, pref);
			if (best < 0 || s > best_score) {
				best = c;
				best_score = s;
			}
		}
		if (best < 0)
			return;
		cpuset_set(&g->cores, best);
		pc->owner[best] = (short)gi;
	}
}

/* The previous cores of workload wl's group of the given kind. */
static void placer_prev_cores(const struct vs_plan *prev, int wl, enum placer_kind kind,
			      struct vs_cpuset *out)
{
	cpuset_zero(out);
	if (!prev)
		return;
	if (kind == PLACER_BE) {
		*out = prev->be_cores;
		return;
	}
	if (wl >= prev->n_workloads)
		return;
	const struct vs_wl_plan *p = &prev->wl[wl];
	switch (p->alloc.layout) {
	case VS_LAYOUT_ISOLATED:
		if (kind == PLACER_NQ)
			*out = p->nq_cores;
		else if (kind == PLACER_VCPU)
			*out = p->vcpu_cores;
		else
			cpuset_or(out, &p->vcpu_cores, &p->nq_cores);
		break;
	case VS_LAYOUT_SHARED:
		if (kind != PLACER_NQ)
			*out = p->vcpu_cores;
		break;
	case VS_LAYOUT_SHARED_ALL:
		break;
	}
}

int placer_place(const struct vs_topology *topo, const struct vs_plan *prev,
		 const struct vs_alloc *alloc, int n, struct vs_plan *out, char *err, size_t errlen)
{
	short owner[VS_MAX_CPUS];
	struct placer_ctx pc = { .topo = topo, .owner = owner };
	int n_managed = cpuset_count(&topo->managed), need = 0, ng = 0;
	bool shared_all = n > 0 && alloc[0].layout == VS_LAYOUT_SHARED_ALL;

	pc.g = calloc((size_t)(2 * n + 1), sizeof(*pc.g));
	if (!pc.g) {
		snprintf(err, errlen, "out of memory placing %d workloads", n);
		return -1;
	}
	for (int i = 0; i < n && !shared_all; i++) {
		const struct vs_alloc *a = &alloc[i];
		if (a->layout == VS_LAYOUT_ISOLATED) {
			pc.g[ng++] = (struct placer_group){ .wl = i,
							    .kind = PLACER_NQ,
							    .want = a->n_nq };
			pc.g[ng++] = (struct placer_group){ .wl = i,
							    .kind = PLACER_VCPU,
							    .want = a->n_vcpu };
		} else {
			pc.g[ng++] = (struct placer_group){ .wl = i,
							    .kind = PLACER_SHARED,
							    .want = a->n_vcpu };
		}
	}
	if (n > 0 && !shared_all && alloc[0].n_be > 0)
		pc.g[ng++] =
			(struct placer_group){ .wl = -1, .kind = PLACER_BE, .want = alloc[0].n_be };
	pc.n_groups = ng;
	for (int i = 0; i < ng; i++) {
		if (pc.g[i].want < 1 && pc.g[i].kind != PLACER_BE) {
			snprintf(err, errlen, "workload %d: a group of %d cores (each needs >= 1)",
				 pc.g[i].wl, pc.g[i].want);
			free(pc.g);
			return -1;
		}
		need += pc.g[i].want;
	}
	if (need > n_managed) {
		snprintf(err, errlen, "allocation needs %d cores, only %d managed", need,
			 n_managed);
		free(pc.g);
		return -1;
	}

	/* keep: every group starts from its previous cores still managed and unclaimed */
	for (int c = 0; c < VS_MAX_CPUS; c++)
		owner[c] = -1;
	for (int i = 0; i < ng; i++) {
		struct vs_cpuset was;
		placer_prev_cores(prev, pc.g[i].wl, pc.g[i].kind, &was);
		cpuset_and(&was, &was, &topo->managed);
		for (int c = cpuset_next(&was, 0); c >= 0; c = cpuset_next(&was, c + 1)) {
			if (owner[c] >= 0)
				continue;
			owner[c] = (short)i;
			cpuset_set(&pc.g[i].cores, c);
		}
	}
	/* shrink, then grow: NQ groups first, so they get the NIC-near cores */
	for (int i = 0; i < ng; i++) {
		int have = cpuset_count(&pc.g[i].cores);
		if (have > pc.g[i].want)
			placer_release(&pc, i, have - pc.g[i].want);
	}
	for (int k = PLACER_NQ; k <= PLACER_BE; k++)
		for (int i = 0; i < ng; i++) {
			int have = cpuset_count(&pc.g[i].cores);
			if ((int)pc.g[i].kind == k && have < pc.g[i].want)
				placer_take(&pc, i, pc.g[i].want - have);
		}

	out->n_workloads = n;
	cpuset_zero(&out->be_cores);
	out->be_paused = n > 0 && alloc[0].be_paused;
	for (int i = 0; i < n; i++) {
		out->wl[i].alloc = alloc[i];
		if (shared_all) {
			out->wl[i].vcpu_cores = topo->managed;
			out->wl[i].nq_cores = topo->managed;
		} else {
			cpuset_zero(&out->wl[i].vcpu_cores);
			cpuset_zero(&out->wl[i].nq_cores);
		}
	}
	cpuset_zero(&out->idle_cores);
	for (int i = 0; i < ng; i++) {
		struct placer_group *g = &pc.g[i];
		if (g->kind == PLACER_BE)
			out->be_cores = g->cores;
		else if (g->kind == PLACER_NQ)
			out->wl[g->wl].nq_cores = g->cores;
		else if (g->kind == PLACER_VCPU)
			out->wl[g->wl].vcpu_cores = g->cores;
		else
			out->wl[g->wl].vcpu_cores = out->wl[g->wl].nq_cores = g->cores;
	}
	if (!shared_all)
		for (int c = cpuset_next(&topo->managed, 0); c >= 0;
		     c = cpuset_next(&topo->managed, c + 1))
			if (owner[c] < 0)
				cpuset_set(&out->idle_cores, c);
	free(pc.g);
	return 0;
}
