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
};

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

/* The summary of one run (`vspace sim run`). */
void sim_scen_print_run(FILE *f, const struct sim_run_config *cfg, const struct sim_run_result *r);

/* The dynamic scenario's load steps, kQPS: 50 -> 250 -> 50 in steps of 50. */
extern const double sim_dynamic_kqps[];
extern const int sim_dynamic_steps;

#endif
