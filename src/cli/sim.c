/* sim.c - `vspace sim`: run the host model under the real controller (run, sweep, dynamic, energy, colocate, sensitivity). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"
#include "simrun/run.h"
#include "simrun/scenario.h"

/* Exit statuses (cli.h). */
#define SIM_EXIT_FAIL  1
#define SIM_EXIT_USAGE 2

/* The parsed command line. */
struct sim_cli {
	const char *cmd;
	struct sim_scen_opts o; /* o.base: workload, host, controller */
	bool slo_set;
	double qps;
};

static void sim_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace sim COMMAND [options]\n"
		"\n"
		"A discrete-event model of a KVM host (20 cores, a 20-vCPU LC VM running "
		"memcached\n"
		"or nginx, a 10 GbE NIC, vhost-net, optionally a BE VM) driven by the real vspace\n"
		"controller and policies. See docs/SIMULATOR.md for the model and its constants.\n"
		"\n"
		"Commands:\n"
		"  run       one policy at one load:  --policy NAME --qps N --duration S\n"
		"  sweep     latency vs load per policy and the highest load within the SLO:\n"
		"            --policies LIST --loads LIST\n"
		"  dynamic   the load steps 50 -> 250 -> 50 kQPS (the published evaluation's\n"
		"            pattern) per policy; summary table, CSV per policy (--out DIR)\n"
		"  energy    power and energy per request at fixed loads: --policies --loads\n"
		"  colocate  LC VM + a CPU-bound BE VM under vspace-r and demeter over the\n"
		"            dynamic load: cores given to BE, SLO kept\n"
		"  sensitivity  the highest load within the SLO per policy and the power at\n"
		"            50k with each uncertain constant at x0.5 and x2; flags the\n"
		"            variations that change an order between policies\n"
		"\n"
		"Policies: vspace-p, vspace-e, vspace-r, static-ts:NV:NQ, static-iso:NV:NQ,\n"
		"  corenap, demeter:NQ (the controller's), and the simulator-only packet paths\n"
		"  es2 (ES2 with its polling queue on a core of its own: static-iso:T-1:1)\n"
		"  and sriov (a 2-queue VF, everything time-shared: static-ts:NV:2).\n"
		"\n"
		"Options (all commands):\n"
		"  --workload W      memcached (SLO 1 ms, default) or nginx (SLO 10 ms)\n"
		"  --slo-us US       p95 SLO in microseconds (default from the workload)\n"
		"  --seed N          random seed (default 1); the same seed gives the same output\n"
		"  --cores N         host cores managed (default 20)\n"
		"  --vcpus N         LC VM vCPUs and worker threads (default 20)\n"
		"  --queues N        most NIC and virtio queues (default 20)\n"
		"  --period-ms MS    control period (default 100)\n"
		"  --window N        exploration window in periods (default: 1000 for run,\n"
		"                    sweep and energy; one load step for dynamic and colocate)\n"
		"  --no-explore      keep the initial thresholds (0.8)\n"
		"  --halt-poll-us US KVM's halt_poll_ns limit in us (default 200, KVM's x86\n"
		"                    default); 0 turns halt polling off\n"
		"  --pnqs N, --vnqs M  physical and virtio queue counts whatever the policy\n"
		"                    sets (also policy static-ts:NV:NP:NVQ or "
		"static-iso:NV:NP:NVQ)\n"
		"  --mitigations on|off  CPU-bug mitigations of a Skylake-SP host (IBPB on a VMCS\n"
		"                    switch, L1D flush on VM entry); default on, as Linux 5.13\n"
		"  --knob NAME=SCALE multiply an uncertain constant (see docs/SIMULATOR.md and\n"
		"                    vspace sim sensitivity); repeatable\n"
		"  --lc N            N LC workloads, each its own VM as above, sharing the host\n"
		"                    under one controller (SPEC 3.5 arbitration; default 1)\n"
		"  --lc-scales LIST  workload i is offered the load x the i-th scale (default 1);\n"
		"                    tables and CSV show the first workload, run's summary all\n"
		"  --halt-poll-accounting auto|off\n"
		"                    auto (default, as vspaced's [host] halt_poll_accounting):\n"
		"                    subtract the VM's KVM halt-polling time from the vCPU\n"
		"                    group's busy time before the policy sees it; off: count\n"
		"                    it as busy (the behaviour before the accounting existed)\n"
		"  -h, --help        this text\n"
		"\n"
		"run:      --policy NAME --qps N --duration S [--csv FILE|-] [--be-vcpus N]\n"
		"          [--warmup S (default 1 when the run is longer than 2 s, else 0)]\n"
		"sweep:    --policies LIST --loads LIST [--duration S (default 3)]\n"
		"          [--warmup S (default 1)] [--csv FILE] [--jobs N]\n"
		"          [--refine QPS: then locate each knee between two loads in these steps]\n"
		"energy:   the same options as sweep\n"
		"dynamic:  [--policies LIST (default vspace-p,vspace-e,static-ts:20:20)]\n"
		"          [--phase-s S (default 2)] [--out DIR] [--jobs N]\n"
		"colocate: [--policies LIST (default vspace-r,demeter:1)] [--be-vcpus N (20)]\n"
		"          [--phase-s S (default 2)] [--out DIR] [--jobs N]\n"
		"sensitivity: [--policies LIST (default vspace-p,vspace-e,static-ts:20:20,\n"
		"          static-iso:16:4)] [--knobs LIST (default all)] [--factors LIST "
		"(0.5,2)]\n"
		"          [--step QPS (50k)] [--max-qps QPS (1000k)] [--energy-qps QPS (50k)]\n"
		"          [--duration S (2)] [--warmup S (0.5)] [--csv FILE] [--jobs N]\n"
		"--jobs N: parallel runs, one process each (default: the number of CPUs).\n"
		"Loads are requests per second; a k suffix multiplies by 1000 (250k).\n"
		"Lists are comma-separated.\n"
		"\n"
		"Per-period CSV columns: " SIM_CSV_HEADER "\n"
		"\n"
		"Exit status: 0 ok, 2 bad arguments, 1 a run failed.\n"
		"\n"
		"Examples:\n"
		"  vspace sim run --policy vspace-e --qps 150k --duration 10 --csv run.csv\n"
		"  vspace sim sweep --policies vspace-p,vspace-e,static-ts:20:20 --loads 50k,250k\n"
		"  vspace sim dynamic --out out/          (what make demo runs)\n"
		"  vspace sim colocate --halt-poll-accounting off\n");
}

/* "250k" or "250000" -> 250000. */
static int sim_parse_qps(const char *text, double *out)
{
	char buf[64];
	size_t n = strlen(text);
	double mul = 1;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	str_copy(buf, text, sizeof(buf));
	if (buf[n - 1] == 'k' || buf[n - 1] == 'K') {
		buf[n - 1] = '\0';
		mul = 1000;
	}
	if (str_to_double(buf, 0, 1e8, out) < 0)
		return -1;
	*out *= mul;
	return *out <= 1e8 ? 0 : -1;
}

/* Index of an uncertain constant's short name, or -1. */
static int sim_knob_index(const char *name)
{
	for (int i = 0; i < SIM_KNOBS; i++)
		if (strcmp(name, sim_knob_names[i]) == 0)
			return i;
	return -1;
}

/* "NAME=SCALE": scale one uncertain constant (sim_knob_names). */
static int sim_parse_knob(const char *text, double *knob)
{
	const char *eq = strchr(text, '=');
	char name[32];
	double v;

	if (!eq || (size_t)(eq - text) >= sizeof(name)) {
		fprintf(stderr, "vspace sim: --knob: \"%s\" is not NAME=SCALE\n", text);
		return -1;
	}
	memcpy(name, text, (size_t)(eq - text));
	name[eq - text] = '\0';
	for (int i = 0; i < SIM_KNOBS; i++) {
		if (strcmp(name, sim_knob_names[i]) != 0)
			continue;
		if (str_to_double(eq + 1, 0.01, 100, &v) < 0) {
			fprintf(stderr,
				"vspace sim: --knob %s: \"%s\" is not a scale in [0.01, 100]\n",
				name, eq + 1);
			return -1;
		}
		knob[i] = v;
		return 0;
	}
	fprintf(stderr, "vspace sim: --knob: unknown constant \"%s\" (", name);
	for (int i = 0; i < SIM_KNOBS; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", sim_knob_names[i]);
	fprintf(stderr, ")\n");
	return -1;
}

static int sim_parse_list(const char *opt, const char *text, char *buf, size_t len, char **field,
			  int max)
{
	int n;

	if (strlen(text) >= len) {
		fprintf(stderr, "vspace sim: %s: list too long\n", opt);
		return -1;
	}
	str_copy(buf, text, len);
	n = str_split(buf, ',', field, max);
	if (n <= 0) {
		fprintf(stderr, "vspace sim: %s: more than %d entries in \"%s\"\n", opt, max, text);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		field[i] = str_trim(field[i]);
		if (!*field[i]) {
			fprintf(stderr, "vspace sim: %s: empty entry in \"%s\"\n", opt, text);
			return -1;
		}
	}
	return n;
}

static int sim_opt_long(const char *opt, const char *text, long lo, long hi, long *out)
{
	if (str_to_long(text, lo, hi, out) < 0) {
		fprintf(stderr, "vspace sim: %s: \"%s\" is not a whole number in [%ld, %ld]\n", opt,
			text, lo, hi);
		return -1;
	}
	return 0;
}

static int sim_opt_double(const char *opt, const char *text, double lo, double hi, double *out)
{
	if (str_to_double(text, lo, hi, out) < 0) {
		fprintf(stderr, "vspace sim: %s: \"%s\" is not a number in [%g, %g]\n", opt, text,
			lo, hi);
		return -1;
	}
	return 0;
}

enum {
	OPT_POLICY = 256,
	OPT_POLICIES,
	OPT_QPS,
	OPT_LOADS,
	OPT_DURATION,
	OPT_WORKLOAD,
	OPT_SLO,
	OPT_SEED,
	OPT_CSV,
	OPT_CORES,
	OPT_VCPUS,
	OPT_QUEUES,
	OPT_BE,
	OPT_PERIOD,
	OPT_WINDOW,
	OPT_NOEXPLORE,
	OPT_WARMUP,
	OPT_JOBS,
	OPT_PHASE,
	OPT_OUT,
	OPT_HALTPOLL,
	OPT_HPACCT,
	OPT_PNQS,
	OPT_VNQS,
	OPT_MITIG,
	OPT_KNOB,
	OPT_KNOBS,
	OPT_FACTORS,
	OPT_STEP,
	OPT_MAXQPS,
	OPT_ENERGYQPS,
	OPT_REFINE,
	OPT_LC,
	OPT_LCSCALES,
};

static const struct option sim_long_opts[] = {
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "policies", required_argument, NULL, OPT_POLICIES },
	{ "qps", required_argument, NULL, OPT_QPS },
	{ "loads", required_argument, NULL, OPT_LOADS },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "workload", required_argument, NULL, OPT_WORKLOAD },
	{ "slo-us", required_argument, NULL, OPT_SLO },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "cores", required_argument, NULL, OPT_CORES },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "be-vcpus", required_argument, NULL, OPT_BE },
	{ "period-ms", required_argument, NULL, OPT_PERIOD },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "no-explore", no_argument, NULL, OPT_NOEXPLORE },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "phase-s", required_argument, NULL, OPT_PHASE },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "halt-poll-us", required_argument, NULL, OPT_HALTPOLL },
	{ "halt-poll-accounting", required_argument, NULL, OPT_HPACCT },
	{ "pnqs", required_argument, NULL, OPT_PNQS },
	{ "vnqs", required_argument, NULL, OPT_VNQS },
	{ "mitigations", required_argument, NULL, OPT_MITIG },
	{ "knob", required_argument, NULL, OPT_KNOB },
	{ "knobs", required_argument, NULL, OPT_KNOBS },
	{ "factors", required_argument, NULL, OPT_FACTORS },
	{ "step", required_argument, NULL, OPT_STEP },
	{ "max-qps", required_argument, NULL, OPT_MAXQPS },
	{ "energy-qps", required_argument, NULL, OPT_ENERGYQPS },
	{ "refine", required_argument, NULL, OPT_REFINE },
	{ "lc", required_argument, NULL, OPT_LC },
	{ "lc-scales", required_argument, NULL, OPT_LCSCALES },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Which options a command accepts besides the common ones. */
static const int sim_opts_run[] = { OPT_POLICY, OPT_QPS, OPT_DURATION, OPT_CSV, OPT_BE,
				    OPT_WARMUP, 0 };
static const int sim_opts_grid[] = { OPT_POLICIES, OPT_LOADS, OPT_DURATION, OPT_CSV, OPT_WARMUP,
				     OPT_JOBS,	   0 };
static const int sim_opts_dynamic[] = { OPT_POLICIES, OPT_PHASE, OPT_OUT, OPT_JOBS, 0 };
static const int sim_opts_colocate[] = { OPT_POLICIES, OPT_PHASE, OPT_OUT, OPT_JOBS, OPT_BE, 0 };
static const int sim_opts_sensitivity[] = { OPT_POLICIES, OPT_KNOBS,  OPT_FACTORS,
					    OPT_STEP,	  OPT_MAXQPS, OPT_ENERGYQPS,
					    OPT_DURATION, OPT_WARMUP, OPT_JOBS,
					    OPT_CSV,	  0 };
static const int sim_opts_common[] = {
	OPT_WORKLOAD, OPT_SLO,	  OPT_SEED,	 OPT_CORES,    OPT_VCPUS,    OPT_QUEUES,
	OPT_PERIOD,   OPT_WINDOW, OPT_NOEXPLORE, OPT_HALTPOLL, OPT_HPACCT,   OPT_PNQS,
	OPT_VNQS,     OPT_MITIG,  OPT_KNOB,	 OPT_LC,       OPT_LCSCALES, 0
};

static bool sim_opt_in(const int *list, int opt)
{
	for (int i = 0; list[i]; i++)
		if (list[i] == opt)
			return true;
	return false;
}

static bool sim_opt_allowed(const char *cmd, int opt)
{
	if (sim_opt_in(sim_opts_common, opt))
		return true;
	if (strcmp(cmd, "run") == 0)
		return sim_opt_in(sim_opts_run, opt);
	if (strcmp(cmd, "sweep") == 0 && opt == OPT_REFINE)
		return true;
	if (strcmp(cmd, "sweep") == 0 || strcmp(cmd, "energy") == 0)
		return sim_opt_in(sim_opts_grid, opt);
	if (strcmp(cmd, "dynamic") == 0)
		return sim_opt_in(sim_opts_dynamic, opt);
	if (strcmp(cmd, "sensitivity") == 0)
		return sim_opt_in(sim_opts_sensitivity, opt);
	return sim_opt_in(sim_opts_colocate, opt);
}

static int sim_parse(struct sim_cli *cl, int argc, char **argv)
{
	char buf[2048];
	char *field[SIM_SCEN_MAX_POLICIES > SIM_SCEN_MAX_LOADS ? SIM_SCEN_MAX_POLICIES
							       : SIM_SCEN_MAX_LOADS];
	struct sim_scen_opts *o = &cl->o;
	int ch, n;
	long v;
	double d;

	char prog[32];

	snprintf(prog, sizeof(prog), "vspace sim %s", cl->cmd);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", sim_long_opts, NULL)) != -1) {
		if (ch == 'h') {
			sim_usage(stdout);
			exit(0);
		}
		if (ch == '?' || ch == ':') {
			cliopt_error(prog, ch, argv);
			return -1;
		}
		if (!sim_opt_allowed(cl->cmd, ch)) {
			const char *name = "?";
			for (int i = 0; sim_long_opts[i].name; i++)
				if (sim_long_opts[i].val == ch)
					name = sim_long_opts[i].name;
			fprintf(stderr, "vspace sim %s: option --%s does not apply to %s\n",
				cl->cmd, name, cl->cmd);
			return -1;
		}
		switch (ch) {
		case OPT_POLICY:
			if (strlen(optarg) >= sizeof(o->policies[0])) {
				fprintf(stderr, "vspace sim: --policy: name too long\n");
				return -1;
			}
			str_copy(o->policies[0], optarg, sizeof(o->policies[0]));
			o->n_policies = 1;
			break;
		case OPT_POLICIES:
			n = sim_parse_list("--policies", optarg, buf, sizeof(buf), field,
					   SIM_SCEN_MAX_POLICIES);
			if (n < 0)
				return -1;
			for (int i = 0; i < n; i++) {
				if (strlen(field[i]) >= sizeof(o->policies[0])) {
					fprintf(stderr,
						"vspace sim: --policies: \"%.40s\" too long\n",
						field[i]);
					return -1;
				}
				str_copy(o->policies[i], field[i], sizeof(o->policies[i]));
			}
			o->n_policies = n;
			break;
		case OPT_QPS:
			if (sim_parse_qps(optarg, &cl->qps) < 0) {
				fprintf(stderr,
					"vspace sim: --qps: \"%s\" is not a load in requests/s "
					"(0..1e8, k suffix allowed)\n",
					optarg);
				return -1;
			}
			break;
		case OPT_LOADS:
			n = sim_parse_list("--loads", optarg, buf, sizeof(buf), field,
					   SIM_SCEN_MAX_LOADS);
			if (n < 0)
				return -1;
			for (int i = 0; i < n; i++)
				if (sim_parse_qps(field[i], &o->loads[i]) < 0 || o->loads[i] <= 0) {
					fprintf(stderr,
						"vspace sim: --loads: \"%s\" is not a load in "
						"requests/s (>0, k suffix allowed)\n",
						field[i]);
					return -1;
				}
			o->n_loads = n;
			break;
		case OPT_DURATION:
			if (sim_opt_double("--duration", optarg, 0.001, 86400, &o->duration_s) < 0)
				return -1;
			break;
		case OPT_WORKLOAD:
			if (sim_workload_parse(optarg, &o->base.wl) < 0) {
				fprintf(stderr,
					"vspace sim: --workload: \"%s\" is not memcached or "
					"nginx\n",
					optarg);
				return -1;
			}
			if (!cl->slo_set)
				o->base.slo_us = o->base.wl == SIM_WL_NGINX ? 10000 : 1000;
			break;
		case OPT_SLO:
			if (sim_opt_double("--slo-us", optarg, 1, 1e9, &o->base.slo_us) < 0)
				return -1;
			cl->slo_set = true;
			break;
		case OPT_SEED:
			if (sim_opt_long("--seed", optarg, 0, 0x7fffffffffffffffL, &v) < 0)
				return -1;
			o->base.seed = (uint64_t)v;
			break;
		case OPT_CSV:
			o->csv = optarg;
			break;
		case OPT_CORES:
			if (sim_opt_long("--cores", optarg, 2, SIM_MAX_CORES, &v) < 0)
				return -1;
			o->base.n_cores = (int)v;
			break;
		case OPT_VCPUS:
			if (sim_opt_long("--vcpus", optarg, 1, SIM_MAX_CORES, &v) < 0)
				return -1;
			o->base.n_vcpus = (int)v;
			break;
		case OPT_QUEUES:
			if (sim_opt_long("--queues", optarg, 1, SIM_MAX_CORES, &v) < 0)
				return -1;
			o->base.n_queues = (int)v;
			break;
		case OPT_BE:
			/* colocate is about a BE VM: at least one vCPU */
			if (sim_opt_long("--be-vcpus", optarg, strcmp(cl->cmd, "colocate") == 0,
					 SIM_MAX_CORES, &v) < 0)
				return -1;
			o->base.n_be_vcpus = (int)v;
			break;
		case OPT_PERIOD:
			if (sim_opt_double("--period-ms", optarg, 1, 10000, &d) < 0)
				return -1;
			o->base.period_s = d / 1000.0;
			break;
		case OPT_WINDOW:
			if (sim_opt_long("--window", optarg, 1, 1000000, &v) < 0)
				return -1;
			o->base.params.window = (int)v;
			o->window_set = true;
			break;
		case OPT_NOEXPLORE:
			o->base.params.explore = false;
			break;
		case OPT_WARMUP:
			if (sim_opt_double("--warmup", optarg, 0, 86400, &o->base.warmup_s) < 0)
				return -1;
			o->warmup_set = true;
			break;
		case OPT_JOBS:
			if (sim_opt_long("--jobs", optarg, 1, 256, &v) < 0)
				return -1;
			o->jobs = (int)v;
			break;
		case OPT_PHASE:
			if (sim_opt_double("--phase-s", optarg, 0.01, 3600, &o->phase_s) < 0)
				return -1;
			break;
		case OPT_OUT: {
			size_t len = strlen(optarg);
			while (len > 1 && optarg[len - 1] == '/') /* "out/": files "out/x.csv" */
				optarg[--len] = '\0';
			o->out_dir = optarg;
			break;
		}
		case OPT_HALTPOLL:
			if (sim_opt_double("--halt-poll-us", optarg, 0, 1000000,
					   &o->base.halt_poll_us) < 0)
				return -1;
			break;
		case OPT_PNQS:
			if (sim_opt_long("--pnqs", optarg, 1, SIM_MAX_CORES, &v) < 0)
				return -1;
			o->base.n_pnq = (int)v;
			break;
		case OPT_VNQS:
			if (sim_opt_long("--vnqs", optarg, 1, SIM_MAX_CORES, &v) < 0)
				return -1;
			o->base.n_vnq = (int)v;
			break;
		case OPT_MITIG:
			if (strcmp(optarg, "on") == 0) {
				o->base.no_mitigations = false;
			} else if (strcmp(optarg, "off") == 0) {
				o->base.no_mitigations = true;
			} else {
				fprintf(stderr,
					"vspace sim: --mitigations: \"%s\" is not on or off\n",
					optarg);
				return -1;
			}
			break;
		case OPT_KNOB:
			if (sim_parse_knob(optarg, o->base.knob) < 0)
				return -1;
			break;
		case OPT_KNOBS:
			n = sim_parse_list("--knobs", optarg, buf, sizeof(buf), field, SIM_KNOBS);
			if (n < 0)
				return -1;
			for (int i = 0; i < n; i++) {
				int k = sim_knob_index(field[i]);
				if (k < 0) {
					fprintf(stderr,
						"vspace sim: --knobs: unknown constant \"%s\"\n",
						field[i]);
					return -1;
				}
				o->knobs[i] = k;
			}
			o->n_knobs = n;
			break;
		case OPT_FACTORS:
			n = sim_parse_list("--factors", optarg, buf, sizeof(buf), field, 8);
			if (n < 0)
				return -1;
			for (int i = 0; i < n; i++)
				if (sim_opt_double("--factors", field[i], 0.01, 100,
						   &o->factors[i]) < 0)
					return -1;
			o->n_factors = n;
			break;
		case OPT_STEP:
			if (sim_parse_qps(optarg, &o->step_qps) < 0 || o->step_qps <= 0) {
				fprintf(stderr, "vspace sim: --step: \"%s\" is not a load > 0\n",
					optarg);
				return -1;
			}
			break;
		case OPT_MAXQPS:
			if (sim_parse_qps(optarg, &o->max_qps) < 0 || o->max_qps <= 0) {
				fprintf(stderr, "vspace sim: --max-qps: \"%s\" is not a load > 0\n",
					optarg);
				return -1;
			}
			break;
		case OPT_LC:
			if (sim_opt_long("--lc", optarg, 1, SIM_MAX_VMS, &v) < 0)
				return -1;
			o->base.n_lc = (int)v;
			break;
		case OPT_LCSCALES:
			n = sim_parse_list("--lc-scales", optarg, buf, sizeof(buf), field,
					   SIM_MAX_VMS);
			if (n < 0)
				return -1;
			for (int i = 0; i < n; i++)
				if (sim_opt_double("--lc-scales", field[i], 0, 100,
						   &o->base.lc_scale[i]) < 0)
					return -1;
			break;
		case OPT_REFINE:
			if (sim_parse_qps(optarg, &o->refine_qps) < 0 || o->refine_qps <= 0) {
				fprintf(stderr, "vspace sim: --refine: \"%s\" is not a load > 0\n",
					optarg);
				return -1;
			}
			break;
		case OPT_ENERGYQPS:
			if (sim_parse_qps(optarg, &o->energy_qps) < 0 || o->energy_qps <= 0) {
				fprintf(stderr,
					"vspace sim: --energy-qps: \"%s\" is not a load > 0\n",
					optarg);
				return -1;
			}
			break;
		case OPT_HPACCT: {
			int m = haltpoll_mode_parse(optarg);
			if (m < 0) {
				fprintf(stderr,
					"vspace sim: --halt-poll-accounting: \"%s\" is not auto or "
					"off\n",
					optarg);
				return -1;
			}
			o->base.halt_poll_accounting = (enum vs_haltpoll_mode)m;
			break;
		}
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vspace sim %s: unexpected argument \"%s\"\n", cl->cmd,
			argv[optind]);
		return -1;
	}
	return 0;
}

static int sim_cmd_run(struct sim_cli *cl)
{
	const struct sim_scen_opts *o = &cl->o;
	struct sim_run_config cfg = o->base;
	struct sim_run_result r;
	FILE *csv = NULL;
	char err[256];
	int rc;

	if (o->n_policies != 1 || cl->qps < 0 || o->duration_s <= 0) {
		fprintf(stderr, "vspace sim run: needs --policy NAME --qps N --duration S\n");
		return SIM_EXIT_USAGE;
	}
	str_copy(cfg.policy, o->policies[0], sizeof(cfg.policy));
	cfg.phase[0] = (struct sim_phase){ .duration_s = o->duration_s, .qps = cl->qps };
	cfg.n_phases = 1;
	if (!o->warmup_set)
		cfg.warmup_s = o->duration_s > 2 ? 1.0 : 0;
	if (o->csv) {
		csv = strcmp(o->csv, "-") == 0 ? stdout : fopen(o->csv, "w");
		if (!csv) {
			fprintf(stderr, "vspace sim run: cannot write %s: %s\n", o->csv,
				strerror(errno));
			return SIM_EXIT_FAIL;
		}
	}
	cfg.csv = csv;
	rc = sim_run(&cfg, &r, err, sizeof(err));
	if (csv && csv != stdout && fclose(csv) != 0 && rc == 0) {
		fprintf(stderr, "vspace sim run: writing %s: %s\n", o->csv, strerror(errno));
		return SIM_EXIT_FAIL;
	}
	if (rc < 0) {
		fprintf(stderr, "vspace sim run: %s\n", err);
		return SIM_EXIT_USAGE;
	}
	sim_scen_print_run(csv == stdout ? stderr : stdout, &cfg, &r);
	return 0;
}

int sim_main(int argc, char **argv)
{
	struct sim_cli cl;

	memset(&cl, 0, sizeof(cl));
	if (argc < 2) {
		fprintf(stderr, "vspace sim: missing COMMAND (run, sweep, dynamic, energy, "
				"colocate, sensitivity; see vspace sim --help)\n");
		return SIM_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		sim_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "vf") == 0) /* FlexVF's own model (src/sim/vf.c) */
		return simvf_main(argc - 1, argv + 1);
	cl.cmd = argv[1];
	if (strcmp(cl.cmd, "run") && strcmp(cl.cmd, "sweep") && strcmp(cl.cmd, "dynamic") &&
	    strcmp(cl.cmd, "energy") && strcmp(cl.cmd, "colocate") &&
	    strcmp(cl.cmd, "sensitivity")) {
		fprintf(stderr,
			"vspace sim: unknown command \"%s\" (run, sweep, dynamic, energy, "
			"colocate, sensitivity)\n",
			cl.cmd);
		return SIM_EXIT_USAGE;
	}
	sim_run_defaults(&cl.o.base, SIM_WL_MEMCACHED);
	cl.qps = -1;
	if (sim_parse(&cl, argc - 1, argv + 1) < 0)
		return SIM_EXIT_USAGE;
	if (strcmp(cl.cmd, "run") == 0)
		return sim_cmd_run(&cl);
	if (strcmp(cl.cmd, "sweep") == 0)
		return sim_scen_sweep(&cl.o, stdout);
	if (strcmp(cl.cmd, "energy") == 0)
		return sim_scen_energy(&cl.o, stdout);
	if (strcmp(cl.cmd, "dynamic") == 0)
		return sim_scen_dynamic(&cl.o, stdout);
	if (strcmp(cl.cmd, "sensitivity") == 0)
		return sim_scen_sensitivity(&cl.o, stdout);
	return sim_scen_colocate(&cl.o, stdout);
}
