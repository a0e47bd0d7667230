/* controller.h - the control loop: sample -> explore -> decide -> place -> apply (SPEC §4). */
#ifndef VS_CONTROL_CONTROLLER_H
#define VS_CONTROL_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/topology.h"
#include "platform/platform.h"
#include "policy/explore.h"
#include "policy/policy.h"

/* Longest workload name (config section name). */
#define VS_WORKLOAD_NAME_MAX 64

/* What the controller keeps per LC workload. */
struct vs_ctl_workload {
	char name[VS_WORKLOAD_NAME_MAX];
	double slo_p95_us;		 /* SLO for p95; 0 = none */
	struct vs_explore ex;		 /* thresholds and the exploration window */
	bool placed;			 /* has had a decision (its groups exist) */
	bool has_sample;		 /* last/last_u are valid */
	struct vs_sample last;		 /* the last period's measurement */
	struct vs_explore_sample last_u; /* its per-core utilizations */
	struct vs_decision decision;	 /* the last decision, after arbitration */
};

struct vs_controller {
	struct vs_policy policy;
	struct vs_params params;
	struct vs_topology topo;
	int n_cores; /* T: managed cores */
	struct vs_platform *plat;

	int n_wl, cap_wl;
	struct vs_ctl_workload *wl;
	struct vs_plan plan; /* the plan in force (plan.wl has cap_wl entries) */

	/* scratch, sized cap_wl */
	struct vs_plan next;
	struct vs_host_sample hs;
	struct vs_alloc *allocs;
	struct vs_decision *dec;

	uint64_t periods;      /* periods stepped */
	uint64_t skipped;      /* periods the platform could not measure */
	uint64_t apply_errors; /* periods whose apply reported a failure */
	bool hold;	       /* `pause`: measure and explore, keep the plan */
	char last_error[256];  /* the last decision/placement error, "" if none */
};

/* ---- API for the daemon, the simulator and the tools ------------------------ */

/* Set up for the policy (already looked up for topo's managed core count).
 * Returns 0, or -1 with err set. */
int controller_init(struct vs_controller *c, const struct vs_policy *pol,
		    const struct vs_params *params, const struct vs_topology *topo,
		    struct vs_platform *plat, char *err, size_t errlen);
void controller_free(struct vs_controller *c);

/* Add an LC workload; returns its index, or -1 with err set. It gets its
 * first allocation (its fair share of the cores split in half, the vCPU
 * group taking the odd core) at the next controller_start/step. */
int controller_add_workload(struct vs_controller *c, const char *name, double slo_p95_us, char *err,
			    size_t errlen);
/* Drop workload i; later workloads move down one index. */
void controller_remove_workload(struct vs_controller *c, int i);
/* Index of the named workload, or -1. */
int controller_find_workload(const struct vs_controller *c, const char *name);

/* Place and apply the first allocation of every workload without one (at
 * start, before the first period). Returns 0 or -1 (see last_error). */
int controller_start(struct vs_controller *c);

/* One period: sample, explore, decide, place, apply. Returns 0; 1 when the
 * platform could not measure and the period was skipped; -1 when no plan
 * could be made (last_error says why; the plan in force is kept). */
int controller_step(struct vs_controller *c);

/* Switch policy at run time (thresholds and windows are kept). */
int controller_set_policy(struct vs_controller *c, const struct vs_policy *pol, char *err,
			  size_t errlen);

/* Write a multi-line account of the last decision (`vspacectl explain`). */
size_t controller_explain(const struct vs_controller *c, char *buf, size_t len);

#endif
