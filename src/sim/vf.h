/* vf.h - `vspace sim vf`: a model of one host whose VMs share a few SR-IOV VFs (FlexVF, SPEC §7.2), driven by the real VF strategies (src/policy/vf.c through src/control/vfsched.c). */
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

/* Run the model. Returns 0, or -1 with err (bad configuration, no memory).
 * Deterministic for a configuration and seed. */
int simvf_run(const struct simvf_cfg *c, struct simvf_result *r, char *err, size_t errlen);

#endif
