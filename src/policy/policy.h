/* policy.h - the decision interface: samples in, core counts out (SPEC §3). */
#ifndef VS_POLICY_POLICY_H
#define VS_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Policies are pure: no I/O, no hidden state, deterministic. Everything a
 * decision depends on is in struct vs_decide_in; everything it produces is in
 * struct vs_decision. The controller (src/control/) feeds them and the placer
 * turns counts into concrete cores.
 */

/* ---- Tunables ------------------------------------------------------------ */

/* Every tunable of the policies and of threshold exploration, with the
 * defaults of SPEC §3 (vs_params_defaults). */
struct vs_params {
	double th_vcpu_init;	/* initial Th_v; SPEC §3.4: 0.8 */
	double th_nq_init;	/* initial Th_n; SPEC §3.4: 0.8 */
	double th_min;		/* lower clamp after a cut; SPEC §3.4: 0.3 */
	double th_max;		/* upper clamp after a reward; SPEC §3.4: 0.95 */
	double margin;		/* E/R: shrink only below MARGIN*U/Th; SPEC §3.2: 1.1 */
	double weight;		/* exploration: weight of the new target; SPEC §3.4: 0.7 */
	double reward;		/* exploration: raise factor with no violation; SPEC §3.4: 1.03 */
	double allow_violation; /* exploration: tolerated violating share; SPEC §3.4: 0.02 */
	int window;		/* exploration: samples per update; SPEC §3.4: 1000 (100 s) */
	bool explore;		/* learn thresholds online; SPEC §3.4: on */
	int freeze_after;	/* stop exploring after this many windows in a row that moved
				    no threshold by more than stable_delta; 0 = never (ours) */
	double stable_delta;	/* see freeze_after; 0.01 (ours) */
	double shared_util_target; /* corenap/demeter: per-core utilization their time-shared
				      group is sized for; 0.8, the same as vSPACE's initial Th */
	double corenap_hold_slack; /* corenap: do not shrink while p95 is within this share of
				      the SLO (latency-slack feedback); 0.2 (ours) */
};

void vs_params_defaults(struct vs_params *p);
/* Check ranges (0 < th <= 1, th_min <= th_max, margin >= 1, ...). Returns 0 or
 * -1 with the offending parameter named in err. */
int vs_params_check(const struct vs_params *p, char *err, size_t errlen);

/* ---- Inputs -------------------------------------------------------------- */

/* One LC workload's measurement over the last period. Busy times are in
 * cores: busy seconds / period seconds (7.3 = 730 %). */
struct vs_sample {
	double busy_vcpu;	  /* U_v: non-idle time of the vCPU group's cores */
	double busy_nq;		  /* U_n: non-idle time of the NQ group's cores */
	double busy_vcpu_threads; /* run time of the VM's vCPU threads (demeter) */
	bool has_p95;		  /* false: no latency reading this period */
	double p95_us;		  /* 95th-percentile response latency, microseconds */
	/* KVM halt polling (src/platform/haltpoll.h): when has_halt_poll, the
	 * platform measured the time KVM spent polling in the vCPU threads and
	 * subtracted it: busy_vcpu = busy_vcpu_raw - halt_poll_vcpu. Platforms
	 * that do not measure it leave all three zero. */
	bool has_halt_poll;
	double busy_vcpu_raw;  /* U_v before the correction, cores */
	double halt_poll_vcpu; /* KVM halt-polling time subtracted from U_v, cores */
};

struct vs_thresholds {
	double vcpu; /* Th_v: highest per-core utilization of the vCPU group within the SLO */
	double nq;   /* Th_n: the same for the NQ group */
};

/* How a workload's groups sit on cores. */
enum vs_layout {
	VS_LAYOUT_ISOLATED = 0, /* disjoint vCPU and NQ groups (vSPACE, static-iso) */
	VS_LAYOUT_SHARED,	/* one time-shared group of n_vcpu cores (corenap, demeter) */
	VS_LAYOUT_SHARED_ALL,	/* everything may run on every managed core (static-ts) */
};

/* An allocation: core counts per group plus the parallelism the guest uses. */
struct vs_alloc {
	enum vs_layout layout;
	int n_vcpu;	/* cores of the vCPU group; under a shared layout the shared group */
	int n_nq;	/* cores of the NQ group; under a shared layout equal to n_vcpu
			   (the same cores, counted once in the host's total) */
	int n_be;	/* cores given to best-effort work */
	int vcpus;	/* vCPUs the guest keeps active */
	int queues;	/* network queues: pNQs = vNQs */
	bool be_paused; /* BE work paused: no core left for it */
};

/* Cores the allocation takes from the host (a shared group counts once). */
int vs_alloc_lc_cores(const struct vs_alloc *a);
/* The allocation before any decision: T cores split in half, the vCPU group
 * getting the odd core (n_vcpu = ceil(T/2), n_nq = floor(T/2)). */
struct vs_alloc vs_alloc_initial(int n_cores);

struct vs_decide_in {
	const struct vs_sample *sample;
	const struct vs_alloc *prev; /* allocation in force during the sampled period */
	struct vs_thresholds th;     /* thresholds in force */
	int n_cores;		     /* T: cores this decision may use */
	double slo_p95_us;	     /* SLO for p95; 0 = none known */
	const struct vs_params *params;
};

/* ---- Outputs ------------------------------------------------------------- */

struct vs_decision {
	struct vs_alloc alloc;
	double want_vcpu; /* real-valued demand of the vCPU group (U_v/Th_v, cores); */
	double want_nq;	  /* used to share cores among several workloads (§3.5) */
	char why[192];	  /* one line: the arithmetic behind the decision */
};

/* ---- Policies ------------------------------------------------------------ */

struct vs_policy;

struct vs_policy_ops {
	/** Name chosen on the command line, e.g. "vspace-e" or "static-ts". */
	const char *name;
	/** Arguments after the name ("NV:NQ"), or NULL when it takes none. */
	const char *args_usage;
	/** One line for listings. */
	const char *summary;
	/** Parse args (the text after "name:", NULL if none) for a host of n_cores
	 *  cores into pol. Returns 0, or -1 with a message in err. */
	int (*init)(struct vs_policy *pol, const char *args, int n_cores, char *err, size_t errlen);
	/** Decide one LC workload's allocation as if it alone had in->n_cores
	 *  cores. Pure: reads only pol and in. */
	void (*decide)(const struct vs_policy *pol, const struct vs_decide_in *in,
		       struct vs_decision *out);
	/** The policy keeps every core busy (vSPACE-P): when several workloads
	 *  share the host, all T cores are handed out in proportion to demand. */
	bool fills_all;
	/** Cores not given to LC groups go to best-effort work (vSPACE-R, demeter). */
	bool gives_be;
	/** Uses the learned thresholds Th_v/Th_n (vSPACE P/E/R). */
	bool uses_thresholds;
	/** The guest's active vCPUs and queues equal the group's cores, so they
	 *  follow when arbitration changes the core counts (all but static-ts
	 *  and demeter, which leave the guest's parallelism alone). */
	bool parallelism_follows_cores;
};

/* A chosen policy with its arguments. */
struct vs_policy {
	const struct vs_policy_ops *ops;
	int arg_vcpus;	/* NV of static-ts/static-iso */
	int arg_queues; /* NQ of static-ts/static-iso/demeter */
	char spec[64];	/* the name as given, e.g. "static-ts:20:20" */
};

/* Find a policy by spec ("vspace-p", "static-iso:16:4", "demeter:1") and
 * initialise it for n_cores cores. Returns 0, or -1 with a message in err. */
int policy_lookup(const char *spec, int n_cores, struct vs_policy *out, char *err, size_t errlen);
/* All policies, NULL-terminated, for --help listings. */
const struct vs_policy_ops *const *policy_all(void);

extern const struct vs_policy_ops policy_vspace_p;
extern const struct vs_policy_ops policy_vspace_e;
extern const struct vs_policy_ops policy_vspace_r;
extern const struct vs_policy_ops policy_static_ts;
extern const struct vs_policy_ops policy_static_iso;
extern const struct vs_policy_ops policy_corenap;
extern const struct vs_policy_ops policy_demeter;

/* ---- Helpers shared by the policies (API for policies) -------------------- */

/* ceil(x) that does not bump exact multiples hit by rounding error
 * (0.8 / 0.8 * 3 must give 3, not 4): ceil(x - 1e-9). */
int policy_ceil(double x);
/* SPEC §3.1: divide T between the groups in proportion to req_v : req_n,
 * n_v = round(T*req_v/(req_v+req_n)) clamped to [1, T-1], n_nq = T - n_v.
 * Requires req_v + req_n > 0 and T >= 2. */
void policy_split_proportional(int n_cores, double req_v, double req_n, int *n_v, int *n_nq);

/* ---- Several LC workloads on one host (§3.5) ------------------------------ */

/* Fit the n decisions (each made as if alone on n_cores) onto the host: if
 * the requests fit, each keeps its own (and, for a fills_all policy, the
 * leftover is shared in proportion to demand); if not, cores are shared in
 * proportion to demand with every group keeping >= 1 core. Sets n_be and
 * be_paused of every decision to the host's best-effort share. Returns 0, or
 * -1 when even one core per group does not fit (err says so). */
int policy_arbitrate(const struct vs_policy *pol, int n_cores, struct vs_decision *d, int n,
		     char *err, size_t errlen);

/* Largest-remainder division of total among n groups by weight, every group
 * getting at least min_each (requires n * min_each <= total). Ties go to the
 * lower index. When all weights are 0 the groups get equal weight. */
void policy_divide(int total, const double *weight, int n, int min_each, int *out);

#endif
