/* explore.h - online threshold exploration: learn Th_v and Th_n from the SLO (SPEC §3.4). */
#ifndef VS_POLICY_EXPLORE_H
#define VS_POLICY_EXPLORE_H

#include <stdbool.h>

#include "policy/policy.h"

/* One period as exploration sees it. */
struct vs_explore_sample {
	double p95_us; /* p95 latency of the period */
	double u_vcpu; /* u_v = U_v / n_v, per-core utilization of the vCPU group */
	double u_nq;   /* u_n = U_n / n_nq */
};

enum vs_explore_action {
	VS_EXPLORE_NONE = 0, /* window not full, frozen, or no SLO */
	VS_EXPLORE_REWARD,   /* no violation: both thresholds raised by REWARD */
	VS_EXPLORE_CUT,	     /* too many violations: thresholds lowered */
	VS_EXPLORE_HOLD,     /* some violations, within ALLOW_VIOLATION: unchanged */
};

/* What one window update did (for logs and `vspacectl explain`). */
struct vs_explore_result {
	enum vs_explore_action action;
	int n_samples;		     /* |S| */
	int n_violations;	     /* |V|: samples with p95 > SLO */
	int allowed;		     /* ceil(|S| * ALLOW_VIOLATION) */
	int cuts_vcpu;		     /* violating samples ruled out by cutting Th_v */
	int cuts_nq;		     /* ... by cutting Th_n */
	struct vs_thresholds before; /* thresholds before the update */
	struct vs_thresholds target; /* T' (the cut targets; equal to before on reward) */
	struct vs_thresholds after;  /* thresholds after the update */
};

/*
 * The window update itself, pure: from the n samples of a full window and the
 * thresholds in force, compute the new thresholds into *res. scratch must
 * hold 3*n ints. Deterministic: ties in the sort are broken by sample order.
 */
void explore_window_update(const struct vs_explore_sample *s, int n, struct vs_thresholds th,
			   double slo_p95_us, const struct vs_params *p, int *scratch,
			   struct vs_explore_result *res);

/* Per-workload exploration state: the thresholds and the window S. */
struct vs_explore {
	struct vs_thresholds th;       /* thresholds in force */
	struct vs_explore_sample *win; /* the window S, capacity `cap` */
	int *scratch;		       /* 3*cap ints for explore_window_update */
	int n;			       /* samples in S */
	int cap;		       /* window size */
	int stable_windows;	       /* windows in a row that moved no threshold much */
	bool frozen;		       /* exploration stopped (freeze_after, or by command) */
	unsigned long windows;	       /* windows completed */
	struct vs_explore_result last; /* the last window update */
};

/* Allocate the window for p->window samples; thresholds start at p's initial
 * values. Returns 0 or -1 (out of memory). */
int explore_init(struct vs_explore *ex, const struct vs_params *p);
void explore_free(struct vs_explore *ex);
/* Resize the window (e.g. `set` at run time); drops the current samples. */
int explore_resize(struct vs_explore *ex, int window);

/*
 * Record one period. Periods without a latency reading, or without an SLO,
 * or while exploration is off or frozen, are skipped. When the window fills,
 * the thresholds are updated, the window is cleared, *res (if not NULL)
 * receives what happened and the function returns true.
 */
bool explore_record(struct vs_explore *ex, const struct vs_params *p, double slo_p95_us,
		    bool has_p95, const struct vs_explore_sample *s, struct vs_explore_result *res);

const char *explore_action_name(enum vs_explore_action a);

#endif
