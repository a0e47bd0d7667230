/* controller.h - the control loop: sample -> explore -> decide -> place -> apply (SPEC §4). */
#ifndef VS_CONTROL_CONTROLLER_H
#define VS_CONTROL_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/topology.h"
#include "platform/platform.h"
#include "policy/explore.h"
#include "policy/policy.h"

/* A reported workload waiting for room. */
struct vs_ctl_waiting {
	struct vs_wl_report wl; /* as discovery reported it */
	bool noted;		/* the refusal was reported to the caller */
};

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

/* The controller's state. Read it freely (status, metrics, explain); change
 * it only through the functions below, which keep its parts consistent. */
struct vs_controller {
	struct vs_policy policy;
	struct vs_params params;
	struct vs_topology topo;
	int n_cores; /* T: managed cores */
	struct vs_platform *plat;

	int n_wl, cap_wl;
	struct vs_ctl_workload *wl;
	/* reported present but not admitted (they do not fit): tried again at
	 * every reconcile until they fit or vanish */
	int n_waiting, cap_waiting;
	struct vs_ctl_waiting *waiting;
	struct vs_plan plan; /* the plan in force (plan.wl has cap_wl entries) */

	/* scratch, sized cap_wl */
	struct vs_plan next;
	struct vs_host_sample hs;
	const char **hs_name;
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

/* What controller_reconcile did with a reported workload (for the caller's log). */
enum vs_reconcile_event {
	VS_RECONCILE_ADDED,   /* admitted: placed at the next controller_start */
	VS_RECONCILE_DROPPED, /* vanished: removed (why: the report's reason) */
	VS_RECONCILE_REFUSED, /* present but does not fit (why); waits, noted once */
};
typedef void vs_reconcile_note_fn(void *arg, enum vs_reconcile_event ev,
				  const struct vs_wl_report *wl, const char *why);

/* Bring the LC workloads in step with what discovery reported: drop the
 * vanished, admit the appeared (by name). A workload that does not fit
 * waits and is tried again at each reconcile, in the order it appeared.
 * note (may be NULL) hears of each change. Returns the number of workloads
 * added (the caller then runs controller_start). */
int controller_reconcile(struct vs_controller *c, const struct vs_discovery *d,
			 vs_reconcile_note_fn *note, void *arg);

/* Add an LC workload; returns its index, or -1 with err set. It gets its
 * first allocation (its fair share of the cores split in half, the vCPU
 * group taking the odd core) at the next controller_start/step.
 * (controller_reconcile adds through it; tools with a fixed workload call it
 * directly.) */
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
/* Set a workload's thresholds (each in (0, 1]); exploration goes on from
 * them. Returns 0, or -1 with err (unknown workload, bad value). */
int controller_set_thresholds(struct vs_controller *c, const char *name,
			      const struct vs_thresholds *th, char *err, size_t errlen);
/* Set a workload's p95 SLO (microseconds; 0 = none). Returns 0 or -1 with err. */
int controller_set_slo(struct vs_controller *c, const char *name, double slo_p95_us, char *err,
		       size_t errlen);
/* Hold the allocation (measure and explore, keep the plan) or release it. */
void controller_set_hold(struct vs_controller *c, bool hold);

/* Write a multi-line account of the last decision (`vspacectl explain`). */
size_t controller_explain(const struct vs_controller *c, char *buf, size_t len);

#endif
