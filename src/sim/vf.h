/* vf.h - the FlexVF model: one host whose VMs share a few SR-IOV VFs (SPEC §7.2), packet by packet over a window of each interval; src/simrun/vf.c runs it under the real VF strategies. */
#ifndef VS_SIM_VF_H
#define VS_SIM_VF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/hist.h"
#include "policy/vf.h"

/*
 * The model (constants and their sources in vf.c):
 *   - V one-vCPU VMs in packet-rate groups receive 1,472 B packets (Poisson
 *     arrivals); each interval a VM's rate is its group's times a draw in
 *     [1 - jitter, 1 + jitter] (traffic varies; what activity ranks).
 *   - Each interval (300 s) the strategy decides who holds the N VFs for the
 *     next one, from the rates of the one that ended (the daemon's code).
 *   - PV path: wire -> the host's packet path (softirq, bridge, tap, vhost
 *     copy and signal) on a pool of `host_cores` cores shared by every VM
 *     not holding a VF, first come first served, a tap queue of 1,000
 *     packets per VM (more are dropped) -> the guest's vCPU (interrupt,
 *     virtio-net receive), one queue per VM.
 *   - VF path: wire -> the NIC writes into the guest -> the guest's vCPU (the
 *     VF driver's receive); no host stage.
 *   So a packet's PV latency grows with the load every other PV VM puts on
 *   the host's cores; a VF takes a VM's load off them for everyone.
 * Each interval a window of `window_ms` is simulated packet by packet (the
 * first `warmup_ms` not measured); latencies are collected per group.
 * Plugs and unplugs are counted (each costs its guest ~0.6 s: SPEC §7.2),
 * not simulated packet by packet (0.6 s of a 300 s interval).
 */

#define SIMVF_MAX_GROUPS 8

struct simvf_cfg {
	int vms; /* VMs (one vCPU each), split evenly over the groups */
	int n_groups;
	double group_pps[SIMVF_MAX_GROUPS]; /* each group's packet rate per VM */
	double bulk_pps;		    /* a bulk-transfer neighbour VM at this rate; 0: none */
	int vfs;			    /* N */
	const struct vf_policy_ops *strategy; /* NULL: none (no VFs used) */
	double hysteresis;		      /* activity's margin (vf.h) */
	int min_hold;			      /* intervals (vf.h) */
	int intervals;			      /* decisions simulated */
	double jitter;			      /* per-interval rate variation, fraction */
	int host_cores;			      /* cores running the host's packet path */
	double host_pkt_ns;		      /* host cost of one PV packet (all of it) */
	double guest_pv_ns;		      /* guest vCPU cost of one virtio-net packet */
	double guest_vf_ns;		      /* guest vCPU cost of one VF packet */
	double window_ms, warmup_ms;	      /* simulated per interval, of which not measured */
	uint64_t seed;
};

/* Defaults: 100 VMs in 4 groups 20k/40k/80k/100k pps, no bulk VM, 10 VFs,
 * fair, 20 intervals, jitter 0.1, the host costs of vf.c. */
void simvf_defaults(struct simvf_cfg *c);
/* Check ranges. Returns 0 or -1 with err. */
int simvf_check(const struct simvf_cfg *c, char *err, size_t errlen);

struct simvf_group {
	struct vs_hist lat_ns;	 /* every measured packet's latency */
	uint64_t packets, drops; /* measured packets offered, dropped at the tap */
	uint64_t vf_intervals;	 /* VM-intervals with a VF */
	uint64_t vm_intervals;	 /* VM-intervals in all */
};

struct simvf_result {
	int n_groups;
	struct simvf_group group[SIMVF_MAX_GROUPS]; /* the bulk VM (if any) is group n_groups */
	bool has_bulk;
	uint64_t plugs, unplugs; /* hot-plug operations the decisions asked for */
	double host_util_mean;	 /* mean busy share of the host's packet cores */
	double host_util_max;	 /* the busiest interval's */
};

/* ---- the model (API for its driver, src/simrun/vf.c) ------------------------ */

struct simvf_rng {
	uint64_t s;
};
/* Uniform in (0, 1). */
double simvf_unit(struct simvf_rng *r);

/* One VM in the model: its group, this interval's rate and path, its queues. */
struct simvf_vm {
	int group;	   /* its group (n_groups: the bulk VM) */
	double pps;	   /* this interval's rate */
	bool vf;	   /* holds a VF this interval */
	double guest_free; /* when its vCPU is free (ns, window time) */
	double vhost_done; /* when its vhost worker finished its last packet */
	/* start times of its packets waiting for its vCPU (a ring) */
	double *gwait;
	int gwait_head, gwait_n;
	/* start times of its packets waiting in the host stage (a ring) */
	double *wait;
	int wait_head, wait_n;
};

struct simvf_model {
	struct simvf_vm *vm; /* n_vm: the groups' VMs, then the bulk VM */
	int n_vm;
	struct simvf_rng rng;
	double *cores, *cum, *ring, *waits, *gwaits; /* scratch */
};

/* VMs spread over the groups (and the bulk VM last). Returns 0 or -1 with err. */
int simvf_model_init(struct simvf_model *m, const struct simvf_cfg *c, int n_vm, char *err,
		     size_t errlen);
void simvf_model_free(struct simvf_model *m);
/* Each VM's rate for the next interval: its group's, varied by jitter; the
 * bulk VM's, its path's bottleneck (TCP-like). */
void simvf_draw_rates(struct simvf_model *m, const struct simvf_cfg *c);
/* Simulate one interval's window with each VM's rate and path (vm[i].vf);
 * latencies and drops go to r's groups. Returns the host packet cores' busy
 * share over the measured part. */
double simvf_window(struct simvf_model *m, const struct simvf_cfg *c, struct simvf_result *r);

#endif
