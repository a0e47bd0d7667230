/* platform.h - the seam between the control loop and a host (Linux, simulator, replay). */
#ifndef VS_PLATFORM_PLATFORM_H
#define VS_PLATFORM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cpuset.h"
#include "policy/policy.h"

/*
 * Three calls, each one way:
 *	refresh  discovery: the platform reports which workloads appeared and
 *		 vanished; the program running the loop (vspaced, the simulator's
 *		 run) hands the report to controller_reconcile()
 *	sample   the loop (src/control/controller.c) measures the last period
 *	apply    the loop hands the platform the plan to realise
 * The loop runs sample -> explore -> decide -> place -> apply and touches a
 * host only through sample and apply. The Linux daemon, the simulator and
 * `vspace replay` each implement them; policies never do. A platform never
 * calls the controller: workloads are named in both directions, never by
 * the controller's array index.
 *
 * An implementation embeds struct vs_platform as the first member of its own
 * context and recovers it with vs_container_of().
 */

#define vs_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Longest workload name (config section name), with its NUL. */
#define VS_WORKLOAD_NAME_MAX 64

/* ---- What discovery reports ------------------------------------------------- */

/* One LC workload that appeared or vanished. */
struct vs_wl_report {
	char name[VS_WORKLOAD_NAME_MAX];
	double slo_p95_us; /* its SLO for p95; 0 = none */
	char found[192];   /* appeared: what was found ("pid 4000, 6 threads (VM), placed by
			      cgroup1"); vanished: why it is gone */
};

/* What one refresh found. The arrays belong to the platform and stay valid
 * until its next refresh. */
struct vs_discovery {
	int n_appeared;
	const struct vs_wl_report *appeared;
	int n_vanished;
	const struct vs_wl_report *vanished;
};

/* ---- What the platform reports each period ---------------------------------- */

/* One period's measurements for the whole host. The controller sizes wl[]
 * (n_workloads entries) and names the workload of each entry in name[]. */
struct vs_host_sample {
	double period_s;      /* measured length of the period, seconds */
	int n_workloads;      /* entries in wl */
	const char **name;    /* per entry: the workload to measure (set by the controller) */
	struct vs_sample *wl; /* per LC workload; the platform fills every entry */
	bool *present;	      /* per workload: false when it vanished this period */
	bool has_energy;      /* energy_j is valid (RAPL or the simulator's model) */
	double energy_j;      /* package energy used in the period, joules */
};

/* ---- What the platform is asked to realise ---------------------------------- */

struct vs_wl_plan {
	char name[VS_WORKLOAD_NAME_MAX]; /* the workload, as discovery reported it */
	struct vs_alloc alloc;		 /* counts and parallelism (policy + arbitration) */
	struct vs_cpuset vcpu_cores;	 /* where the vCPU threads may run */
	struct vs_cpuset nq_cores;	 /* where packet processing (IRQs, vhost) may run;
					   equal to vcpu_cores under a shared layout */
};

struct vs_plan {
	uint64_t seq;	 /* plan number, 1 for the first decision */
	int n_workloads; /* entries in wl */
	struct vs_wl_plan *wl;
	struct vs_cpuset be_cores;   /* cores given to best-effort work */
	bool be_paused;		     /* best-effort work must be paused */
	struct vs_cpuset idle_cores; /* managed cores in no group (deep C-states) */
};

/* ---- The seam ------------------------------------------------------------------ */

struct vs_platform;

struct vs_platform_ops {
	/** Short name for logs ("linux", "sim", "replay"). */
	const char *name;
	/** Discovery: report the LC workloads that appeared or vanished since
	 *  the last call (the first call reports every one present). now_s is
	 *  the caller's monotonic time. Returns 0 or -1 (nothing could be
	 *  looked at; *d is empty). NULL: the workloads are fixed by the caller
	 *  (`vspace replay`). */
	int (*refresh)(struct vs_platform *p, double now_s, struct vs_discovery *d);
	/** Measure the last period: fill every s->wl[i] for the workload named
	 *  s->name[i]; present[i] = false for one it does not know. Return 0, or -1 when nothing could be measured (the
	 *  controller then skips the period). */
	int (*sample)(struct vs_platform *p, struct vs_host_sample *s);
	/** Realise the plan, touching only what changed since the last call.
	 *  Return 0, or -1 when some write failed (the loop goes on; the
	 *  platform retries transient failures itself). */
	int (*apply)(struct vs_platform *p, const struct vs_plan *plan);
};

struct vs_platform {
	const struct vs_platform_ops *ops;
};

#endif
