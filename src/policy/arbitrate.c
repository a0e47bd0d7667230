/* arbitrate.c - share the host's cores among several LC workloads (SPEC §3.5). */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>

/* Small hosts need no allocation: groups of up to this many workloads live on
 * the stack (2 groups each). */
#define ARBITRATE_STACK_WORKLOADS 64

int policy_arbitrate(const struct vs_policy *pol, int n_cores, struct vs_decision *d, int n,
		     char *err, size_t errlen)
{
	double weight_stack[2 * ARBITRATE_STACK_WORKLOADS];
	int count_stack[2 * ARBITRATE_STACK_WORKLOADS];
	double *weight = weight_stack;
	int *count = count_stack;
	int groups = 0, need = 0, lc = 0, g, n_be;
	bool all_zero = true, rc_ok = true;

	if (n <= 0)
		return 0;
	if (d[0].alloc.layout == VS_LAYOUT_SHARED_ALL) {
		/* static-ts: everything time-shares every core, nothing to divide */
		return 0;
	}
	if (n == 1) {
		/* one workload: its own decision already fits the host; what it
		 * leaves goes to best-effort work under a gives_be policy (its
		 * first allocation, a plain half split, included) */
		struct vs_alloc *a = &d[0].alloc;
		if (pol->ops->gives_be) {
			a->n_be = n_cores - vs_alloc_lc_cores(a);
			a->be_paused = a->n_be == 0;
		}
		return 0;
	}
	for (int i = 0; i < n; i++)
		groups += d[i].alloc.layout == VS_LAYOUT_ISOLATED ? 2 : 1;
	if (groups > n_cores) {
		snprintf(err, errlen,
			 "%d LC workloads need %d core groups of at least one core, only %d cores "
			 "managed",
			 n, groups, n_cores);
		return -1;
	}
	if (n > ARBITRATE_STACK_WORKLOADS) {
		weight = malloc(sizeof(*weight) * (size_t)groups);
		count = malloc(sizeof(*count) * (size_t)groups);
		if (!weight || !count) {
			snprintf(err, errlen, "out of memory arbitrating %d workloads", n);
			rc_ok = false;
			goto out;
		}
	}
	g = 0;
	for (int i = 0; i < n; i++) {
		const struct vs_alloc *a = &d[i].alloc;
		if (a->layout == VS_LAYOUT_ISOLATED) {
			count[g] = a->n_vcpu;
			weight[g++] = d[i].want_vcpu;
			count[g] = a->n_nq;
			weight[g++] = d[i].want_nq;
		} else {
			count[g] = a->n_vcpu;
			weight[g++] = d[i].want_vcpu + d[i].want_nq;
		}
	}
	for (g = 0; g < groups; g++) {
		need += count[g];
		if (weight[g] > 0)
			all_zero = false;
	}
	if (pol->ops->fills_all || need > n_cores) {
		if (all_zero)
			for (g = 0; g < groups; g++)
				weight[g] = count[g];
		policy_divide(n_cores, weight, groups, 1, count);
	}
	for (g = 0; g < groups; g++)
		lc += count[g];
	n_be = pol->ops->gives_be ? n_cores - lc : 0;
	g = 0;
	for (int i = 0; i < n; i++) {
		struct vs_alloc *a = &d[i].alloc;
		if (a->layout == VS_LAYOUT_ISOLATED) {
			a->n_vcpu = count[g++];
			a->n_nq = count[g++];
		} else {
			a->n_vcpu = a->n_nq = count[g++];
		}
		if (pol->ops->parallelism_follows_cores) {
			a->vcpus = a->n_vcpu;
			a->queues = a->n_nq;
		}
		a->n_be = n_be;
		a->be_paused = pol->ops->gives_be && n_be == 0;
	}
out:
	if (weight != weight_stack)
		free(weight);
	if (count != count_stack)
		free(count);
	return rc_ok ? 0 : -1;
}
