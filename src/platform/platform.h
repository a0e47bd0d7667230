/* platform.h - the seam between the control loop and a host (Linux, simulator, replay). */
#ifndef VS_PLATFORM_PLATFORM_H
#define VS_PLATFORM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cpuset.h"
#include "policy/policy.h"

/*
 * The control loop (src/control/controller.c) runs
 *	sample -> explore -> decide -> place -> apply
 * and touches a host only through these two calls. The Linux daemon, the
 * simulator and `vspace replay` each implement them; policies never do.
 *
 * An implementation embeds struct vs_platform as the first member of its own
 * context and recovers it with vs_container_of().
 */

#define vs_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- What the platform reports --------------------------------------------- */

/* One period's measurements for the whole host. The controller sizes wl[]
 * (n_workloads entries, in the controller's workload order). */
struct vs_host_sample {
	double period_s;      /* measured length of the period, seconds */
	int n_workloads;      /* entries in wl */
	struct vs_sample *wl; /* per LC workload; the platform fills every entry */
	bool *present;	      /* per workload: false when it vanished this period */
	bool has_energy;      /* energy_j is valid (RAPL or the simulator's model) */
	double energy_j;      /* package energy used in the period, joules */
};

/* ---- What the platform is asked to realise ---------------------------------- */

struct vs_wl_plan {
	struct vs_alloc alloc;	     /* counts and parallelism (policy + arbitration) */
	struct vs_cpuset vcpu_cores; /* where the vCPU threads may run */
	struct vs_cpuset nq_cores;   /* where packet processing (IRQs, vhost) may run;
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
	/** Measure the last period: fill every s->wl[i] for the controller's
	 *  workloads. Return 0, or -1 when nothing could be measured (the
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
