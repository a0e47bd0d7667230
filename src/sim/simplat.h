/* simplat.h - the simulator as a vspace platform: struct vs_platform_ops over the host model. */
#ifndef VS_SIM_SIMPLAT_H
#define VS_SIM_SIMPLAT_H

#include "platform/haltpoll.h"
#include "platform/platform.h"
#include "sim/model.h"

/* What one period looked like (the sample the controller got, and more). */
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

struct sim_platform {
	struct vs_platform base; /* first: vs_container_of */
	struct sim_model *m;
	enum vs_haltpoll_mode halt_poll; /* subtract KVM's polling from U_v (auto, the
					    default after simplat_init) or not (off) */
	struct vs_haltpoll_counter hp;	 /* the VM's halt_poll_{success,fail}_ns sum */
	sim_ns last_at;			 /* time of the previous sample */
	sim_ns busy_prev[SIM_MAX_CORES];
	sim_ns vcpu_run_prev;
	struct sim_counters cnt_prev;
	/* the plan in force */
	struct vs_alloc alloc;
	uint64_t vcpu_mask, nq_mask, be_mask;
	bool be_paused;
	uint64_t applies;
	struct sim_period per; /* filled by the last sample */
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

#endif
