/* scenario.h - the simulator's scenarios: sweep, dynamic, energy, colocate; runs in parallel processes. */
#ifndef VS_SIMRUN_SCENARIO_H
#define VS_SIMRUN_SCENARIO_H

#include <stdbool.h>
#include <stdio.h>

#include "simrun/run.h"

#define SIM_SCEN_MAX_POLICIES 16
#define SIM_SCEN_MAX_LOADS    32

struct sim_scen_opts {
	struct sim_run_config base; /* workload, host, seed, controller tunables */
	char policies[SIM_SCEN_MAX_POLICIES][64];
	int n_policies; /* 0: the scenario's default list */
	double loads[SIM_SCEN_MAX_LOADS];
	int n_loads;
	double duration_s;   /* sweep/energy: seconds per point; 0 = 3 */
	double phase_s;	     /* dynamic/colocate: seconds per load step; 0 = 2 */
	bool warmup_set;     /* base.warmup_s given; else 1 s (sweep/energy), 0 (dynamic) */
	bool window_set;     /* base.params.window given; else 1000, or one phase (dynamic) */
	const char *csv;     /* sweep/energy: one row per point */
	const char *out_dir; /* dynamic/colocate: per-policy CSV files */
	int jobs;	     /* parallel runs; 0 = online CPUs */
	/* sensitivity */
	int knobs[SIM_KNOBS]; /* the constants to vary (sim_knob), n_knobs of them; 0: all */
	int n_knobs;
	double factors[8]; /* their scales, n_factors; 0: 0.5 and 2 */
	int n_factors;
	double step_qps;   /* load grid of the max-load search: step (0: 50k) */
	double max_qps;	   /* ... up to (0: 600k) */
	double energy_qps; /* load of the power comparison (0: 50k) */
	double refine_qps; /* sweep: after the grid, locate each knee in steps of this (0: no) */
};

/* One job of sim_scen_pool: compute job i into out (the pool's out_size
 * bytes). Returns 0, or -1 with err set. */
typedef int (*sim_scen_job_fn)(int i, const void *arg, void *out, char *err, size_t errlen);
/* Run n jobs, at most jobs at a time, each in a child process that sends its
 * result back through a pipe (jobs 1: in this process); outs receives n
 * results of out_size bytes (each < the pipe's capacity). On failure err
 * names the job (names[i]). Returns 0 or -1. */
int sim_scen_pool(int n, int jobs, size_t out_size, sim_scen_job_fn fn, const void *arg, void *outs,
		  const char *const *names, char *err, size_t errlen);

/* Run n configurations, at most jobs at a time, each in a child process
 * (jobs 1: in this process). csv_paths[i] (may be NULL, or the array NULL)
 * receives configuration i's per-period CSV. Fills res[i]; on failure err
 * names the configuration. Returns 0 or -1. */
int sim_scen_parallel(const struct sim_run_config *cfgs, const char *const *csv_paths, int n,
		      int jobs, struct sim_run_result *res, char *err, size_t errlen);

/* The scenarios; each prints its table to out. Return a process exit status
 * (0 ok, 1 a run failed, 2 bad options). */
int sim_scen_sweep(const struct sim_scen_opts *o, FILE *out);
int sim_scen_energy(const struct sim_scen_opts *o, FILE *out);
int sim_scen_dynamic(const struct sim_scen_opts *o, FILE *out);
int sim_scen_colocate(const struct sim_scen_opts *o, FILE *out);
/* `vspace sim sensitivity` (sensitivity.c): the headline comparisons (the
 * highest load within the SLO per policy, power at energy_qps) with each
 * uncertain constant scaled by each factor; marks the variations that change
 * an order between policies. */
int sim_scen_sensitivity(const struct sim_scen_opts *o, FILE *out);

/* The summary of one run (`vspace sim run`). */
void sim_scen_print_run(FILE *f, const struct sim_run_config *cfg, const struct sim_run_result *r);

/* The dynamic scenario's load steps, kQPS: 50 -> 250 -> 50 in steps of 50. */
extern const double sim_dynamic_kqps[];
extern const int sim_dynamic_steps;

#endif
