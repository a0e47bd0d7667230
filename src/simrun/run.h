/* run.h - run the model under the real controller: one configuration, per-period CSV, summary. */
#ifndef VS_SIMRUN_RUN_H
#define VS_SIMRUN_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "platform/haltpoll.h"
#include "sim/model.h"
#include "policy/policy.h"
#include "sim/model.h"

/* Most load phases in one run. */
#define SIM_MAX_PHASES 64

/* A stretch of constant offered load. */
struct sim_phase {
	double duration_s;
	double qps;
};

struct sim_run_config {
	char policy[64];	      /* a controller policy, or "es2" / "sriov" */
	enum sim_wl_kind wl;	      /* memcached or nginx */
	double slo_us;		      /* p95 SLO (memcached 1000, nginx 10000) */
	int n_cores;		      /* T, host cores managed (20) */
	int n_vcpus;		      /* LC VM vCPUs and worker threads (20) */
	int n_queues;		      /* most NIC/virtio queues (20) */
	int n_be_vcpus;		      /* BE VM vCPUs, 0 = no BE VM */
	int n_lc;		      /* LC workloads, each its own VM as above; 0 = 1 */
	double lc_scale[SIM_MAX_VMS]; /* LC workload i is offered the phases' load x this (0 = 1) */
	int n_conns;		      /* client connections */
	int n_pnq;		      /* pNQs whatever the plan says; 0 = the plan's */
	int n_vnq;		      /* vNQs whatever the plan says; 0 = the plan's */
	bool no_mitigations;	      /* mitigations=off: no IBPB, no L1D flush */
	double knob[SIM_KNOBS];	      /* scale of each uncertain constant (0 = 1) */
	double halt_poll_us;	      /* KVM halt_poll_ns in us (200); 0 = off */
	enum vs_haltpoll_mode halt_poll_accounting; /* subtract KVM's polling time from U_v
						       as vspaced does (auto, its default) */
	uint64_t seed;				    /* everything random derives from it */
	double period_s;			    /* control period (0.1) */
	int n_phases;				    /* load profile */
	struct sim_phase phase[SIM_MAX_PHASES];
	double warmup_s;	 /* left out of the run's summary (not of phases or CSV) */
	struct vs_params params; /* controller and exploration tunables */
	FILE *csv;		 /* per-period rows (header included), or NULL */
};

/* The CSV header of the per-period rows. */
#define SIM_CSV_HEADER                                                                             \
	"time_s,offered_qps,achieved_qps,p95_us,p99_us,n_vcpu,n_nq,n_be,u_vcpu,u_nq,th_vcpu,th_"   \
	"nq,"                                                                                      \
	"energy_j,pirqs,virqs,ctx_switches,migrations,vm_exits,busy_vcpu_raw,halt_poll_cores,"     \
	"host_irqs,res_ipis,cal_ipis,wakeups,wake_idle,ibpbs,l1d_flushes,vcpu_migrations,"         \
	"refill_cores,mitigation_cores"

struct sim_phase_result {
	double qps;	     /* offered */
	double achieved_qps; /* replies per second */
	double p95_us, p99_us;
	int periods;
	int violations; /* periods whose p95 exceeded the SLO (or had no reply) */
	double mean_vcpu_cores, mean_nq_cores, mean_be_cores;
	double energy_j;
};

/* One LC workload of a run with several (after warm-up). */
struct sim_lc_result {
	double offered_qps, achieved_qps;
	double p95_us, p99_us;
	int periods, violations;
	double mean_vcpu_cores, mean_nq_cores;
	double exits_per_req;
};

struct sim_run_result {
	int n_phases;
	struct sim_phase_result phase[SIM_MAX_PHASES];
	/* over the run after warm-up */
	double p50_us, p95_us, p99_us, mean_us;
	double achieved_qps, offered_qps;
	int periods, violations;
	double mean_vcpu_cores, mean_nq_cores, mean_be_cores;
	double mean_lc_cores; /* cores the LC groups take (a shared group once) */
	double energy_j, power_w, power_tdp;
	double be_cores;	/* CPU time the BE VM got, cores */
	double u_vcpu, u_nq;	/* mean per-core utilization of the groups */
	double busy_vcpu;	/* mean U_v the controller saw, cores */
	double busy_vcpu_raw;	/* mean busy time of the vCPU group's cores, polling included */
	double halt_poll_cores; /* mean KVM halt-polling time (the VM's counters), cores */
	double drops_per_s, exits_per_req, ctx_per_s, migrations_per_s, virq_wait_us;
	double pirqs_per_s, virqs_per_s;
	double host_irqs_per_s, res_per_s, cal_per_s; /* /proc/interrupts: all, RES, CAL */
	double wakeups_per_s, wake_idle_share;	      /* placements; share onto an idle CPU */
	double scans_per_s, scanned_per_scan;	      /* select_idle_cpu() scans, CPUs each */
	double ibpb_per_s, l1d_flush_per_s, vcpu_migrations_per_s;
	double refill_cores, mitigation_cores; /* CPU time on cache/TLB refill and mitigations */
	double client_lost_per_s;	       /* sends not made: too many requests outstanding */
	double th_vcpu, th_nq;		       /* thresholds at the end */
	double stage_us[SIM_STAGES];	       /* mean time per request in each stage */
	uint64_t events;		       /* engine events, whole run */
	double sim_s;			       /* simulated seconds, whole run */
	double wall_s;			       /* wall-clock seconds, whole run */
	int plan_errors;		       /* periods whose decision could not be placed */
	int n_lc;			       /* LC workloads; the fields above are the first\'s */
	struct sim_lc_result lc[SIM_MAX_VMS];
	uint64_t anomalies; /* model self-check failures; always 0 unless the model has a bug */
};

/* Defaults for workload wl: 20 cores, 20 vCPUs, 20 queues, SLO per preset,
 * period 0.1 s, seed 1, one 10 s phase at 100 kQPS, controller defaults. */
void sim_run_defaults(struct sim_run_config *cfg, enum sim_wl_kind wl);
/* Parse "memcached" or "nginx". */
int sim_workload_parse(const char *name, enum sim_wl_kind *out);
const char *sim_workload_name(enum sim_wl_kind wl);
/* Resolve a simulator policy name: the packet path and the controller policy
 * it runs under (es2 -> static-iso:min(NV,T-1):1, sriov -> static-ts:NV:2;
 * static-ts:NV:NP:NVQ and static-iso:NV:NP:NVQ -> the controller's
 * static-ts/static-iso:NV:max(NP,NVQ) with NP physical and NVQ virtio queues,
 * returned in *pnq and *vnq (else 0); anything else is a controller policy on
 * the virtio path). Returns 0 or -1 + err. */
int sim_policy_resolve(const char *name, int n_cores, int n_vcpus, enum sim_path *path,
		       struct vs_policy *pol, int *pnq, int *vnq, char *err, size_t errlen);

/* Run one configuration. Returns 0, or -1 with err set (bad configuration,
 * out of memory). */
int sim_run(const struct sim_run_config *cfg, struct sim_run_result *res, char *err, size_t errlen);

#endif
