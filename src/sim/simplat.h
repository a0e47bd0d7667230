/* simplat.h - the simulator as a vspace platform: struct vs_platform_ops over the host model. */
#ifndef VS_SIM_SIMPLAT_H
#define VS_SIM_SIMPLAT_H

#include "platform/haltpoll.h"
#include "platform/platform.h"
#include "sim/model.h"

/* What one period looked like for one workload (the sample the controller got, and more). */
struct sim_period {
	double period_s;
	struct vs_alloc alloc;	  /* the allocation in force during the period */
	double busy_vcpu;	  /* U_v, cores */
	double busy_nq;		  /* U_n, cores */
	double busy_vcpu_threads; /* vCPU threads' run time, cores */
	bool has_halt_poll;	  /* the halt-poll correction was applied (accounting auto) */
	double busy_vcpu_raw;	  /* U_v before it, cores */
	double halt_poll_cores;	  /* KVM halt polling in the period (from the VM's counters),
				     cores; measured whatever the accounting mode */
	double energy_j;
	bool has_p95;
	double p95_us, p99_us;
	struct sim_counters d; /* counters over the period */
};

/* Most LC workloads one simulated host carries. */
#define SIMPLAT_MAX_WL 8

/* One LC workload: the model's LC VM `vm`, under the name the controller knows. */
struct simplat_wl {
	char name[VS_WORKLOAD_NAME_MAX];
	double slo_p95_us;	       /* reported with it: the controller's SLO */
	int vm;			       /* the model's LC VM */
	bool present;		       /* false once simplat_remove_workload took it away */
	bool reported;		       /* the last refresh reported it present */
	struct vs_haltpoll_counter hp; /* the VM's halt_poll_{success,fail}_ns sum */
	sim_ns vcpu_run_prev;	       /* its vCPU threads' run time at the last sample */
	struct sim_counters cnt_prev;  /* its VM's counters at the last sample */
	/* the plan in force */
	struct vs_alloc alloc;
	uint64_t vcpu_mask, nq_mask;
	struct sim_period per; /* filled by the last sample */
};

struct sim_platform {
	struct vs_platform base; /* first: vs_container_of */
	struct sim_model *m;
	enum vs_haltpoll_mode halt_poll; /* subtract KVM's polling from U_v (auto, the
					    default after simplat_init) or not (off) */
	sim_ns last_at;			 /* time of the previous sample */
	sim_ns busy_prev[SIM_MAX_CORES];
	struct sim_counters cnt_prev;
	int n_wl;
	struct simplat_wl wl[SIMPLAT_MAX_WL];
	uint64_t be_mask;
	bool be_paused;
	uint64_t applies;
	/* the last refresh's report */
	struct vs_wl_report appeared[SIMPLAT_MAX_WL], vanished[SIMPLAT_MAX_WL];
};

/*
 * sample: busy time of each group's cores over the period, measured as the
 * daemon does (non-idle time of the group's cores: threads, IRQ and softirq
 * work, halt polling, switch costs). Under a shared layout both groups are
 * the same cores, so U_v is the vCPU threads' run time and U_n the rest of
 * the group's busy time. p95 is over the replies completed in the period.
 * Then, as the daemon does, the VM's KVM halt-polling counters (the model
 * keeps them as KVM does) are read and, with halt_poll == VS_HALTPOLL_AUTO,
 * their growth over the period is subtracted from U_v (haltpoll_correct).
 *
 * apply: cpusets of the vCPU, vhost and BE threads, pNQ count and IRQ
 * affinity (queue i -> i-th core of the NQ group), XPS, vNQ count, the
 * guest's active vCPUs and vNQ interrupt affinity (queue i -> vCPU i % n),
 * BE pause, and which cores are allocated (C1) or not (C6).
 */
void simplat_init(struct sim_platform *p, struct sim_model *m);

/*
 * refresh: the workloads added since the last refresh appeared, those
 * removed vanished; the program running the controller hands the report to
 * controller_reconcile (src/simrun/run.c), as vspaced does with the Linux
 * platform's.
 *
 * Add LC workload `name` (SLO slo_p95_us, reported to the controller) on the
 * model's next free LC VM (a removed workload added again gets its VM back).
 * Returns its index in p->wl, or -1 with err (the name is taken, too long,
 * or the model has no LC VM left: it hosts simplat_model_vms()). The
 * model's VM is there from model_init on; the workload appears at the next
 * refresh.
 */
int simplat_add_workload(struct sim_platform *p, const char *name, double slo_p95_us, char *err,
			 size_t errlen);
/* Take workload name away (it vanishes at the next refresh). Returns 0 or -1 (unknown). */
int simplat_remove_workload(struct sim_platform *p, const char *name);
/* The workload named name, or NULL. */
struct simplat_wl *simplat_find(struct sim_platform *p, const char *name);
/* LC VMs the model hosts. */
int simplat_model_vms(const struct sim_model *m);

#endif
