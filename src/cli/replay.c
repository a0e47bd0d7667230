/* replay.c - `vspace replay`: feed recorded periods through a policy and print its decisions. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "control/controller.h"
#include "lib/lines.h"
#include "lib/strutil.h"

/* Longest input line accepted (a row is three short numbers). */
#define REPLAY_LINE_MAX 4096
/* Largest busy time accepted in a row, in cores. */
#define REPLAY_BUSY_MAX 100000.0

struct replay_opts {
	const char *policy;
	int n_cores;
	double slo_p95_us;
	bool explain;
	struct vs_params params;
};

struct replay_platform {
	struct vs_platform base;
	struct vs_sample row; /* the period being replayed */
};

static int replay_sample(struct vs_platform *p, struct vs_host_sample *s)
{
	struct replay_platform *rp = vs_container_of(p, struct replay_platform, base);

	if (s->n_workloads > 0)
		s->wl[0] = rp->row;
	s->period_s = 0;
	return 0;
}

static int replay_apply(struct vs_platform *p, const struct vs_plan *plan)
{
	return 0;
}

static const struct vs_platform_ops replay_platform_ops = {
	.name = "replay",
	.sample = replay_sample,
	.apply = replay_apply,
};

static void replay_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace replay --policy NAME --cores N [options] < periods.csv\n"
		"\n"
		"Feed recorded control periods through a policy and print the allocation it\n"
		"decides after each one. No host is touched.\n"
		"\n"
		"Input (stdin): CSV with a header line naming the columns, in any order:\n"
		"  busy_vcpu   busy time of the vCPU group in the period, in cores (7.3 = 730%%)\n"
		"  busy_nq     busy time of the NQ (packet processing) group, in cores\n"
		"  p95_us      the service's p95 latency in the period, microseconds;\n"
		"              empty when unknown (optional column)\n"
		"  busy_vcpu_threads  run time of the vCPU threads, in cores (optional; used\n"
		"              by demeter, defaults to busy_vcpu)\n"
		"Blank lines and lines starting with '#' are skipped.\n"
		"\n"
		"Output (stdout): CSV with header period,n_vcpu,n_nq,n_be,th_vcpu,th_nq\n"
		"  period      1 for the first input row\n"
		"  n_vcpu      cores of the vCPU group decided at the end of that period\n"
		"  n_nq        cores of the NQ group; time-sharing policies (static-ts,\n"
		"              corenap, demeter) put both on the same cores: n_vcpu = n_nq\n"
		"  n_be        cores given to best-effort work (vspace-r, demeter; else 0)\n"
		"  th_vcpu, th_nq  the thresholds in force for that decision\n"
		"With --explain a last column `why` gives the arithmetic of each decision.\n"
		"\n"
		"Semantics: before the first row the N cores are split in half (the vCPU\n"
		"group gets the odd core). At the end of each period the sample is recorded,\n"
		"then, if the exploration window is full, the thresholds are updated, then\n"
		"the policy decides. Per-core utilization for exploration is each row's busy\n"
		"time over the cores that group had during that period.\n"
		"\n"
		"Options:\n"
		"  --policy NAME      vspace-p | vspace-e | vspace-r | static-ts:NV:NQ |\n"
		"                     static-iso:NV:NQ | corenap | demeter:NQ\n"
		"  --cores N          cores managed, T (2..%d)\n"
		"  --slo-us US        p95 SLO in microseconds (needed by --explore and corenap)\n"
		"  --explore          learn thresholds from the SLO (off by default here)\n"
		"  --window N         exploration window in periods (default 1000)\n"
		"  --th-vcpu X        initial vCPU-group threshold (default 0.8)\n"
		"  --th-nq X          initial NQ-group threshold (default 0.8)\n"
		"  --th-min X, --th-max X   threshold clamps (default 0.3, 0.95)\n"
		"  --margin X         E/R shrink margin (default 1.1)\n"
		"  --weight X         exploration weight (default 0.7)\n"
		"  --reward X         exploration reward (default 1.03)\n"
		"  --allow-violation X  tolerated share of periods over the SLO (default 0.02)\n"
		"  --explain          add a `why` column\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit status: 0 ok, 2 bad argument or malformed input (the message names the\n"
		"line), 1 a decision could not be made.\n"
		"\n"
		"Examples:\n"
		"  printf 'busy_vcpu,busy_nq,p95_us\\n7.3,2.1,850\\n' | \\\n"
		"      vspace replay --policy vspace-e --cores 20\n"
		"  vspace replay --policy vspace-p --cores 20 --explain \\\n"
		"      < examples/traces/memcached-ramp.csv\n",
		VS_MAX_CPUS);
}

/* Parse option value text as a real in [lo, hi]; on error print and return -1. */
static int replay_opt_double(const char *opt, const char *text, double lo, double hi, double *out)
{
	if (str_to_double(text, lo, hi, out) < 0) {
		fprintf(stderr, "vspace replay: %s: \"%s\" is not a number in [%g, %g]\n", opt,
			text, lo, hi);
		return -1;
	}
	return 0;
}

enum replay_col { COL_BUSY_VCPU, COL_BUSY_NQ, COL_P95, COL_BUSY_THREADS, COL_N };

static const char *const replay_col_names[COL_N] = { "busy_vcpu", "busy_nq", "p95_us",
						     "busy_vcpu_threads" };

/* Parse the header; fills col_of[field] with a column or -1. */
static int replay_parse_header(char *line, const char *name, long lineno, int *col_of,
			       int *n_fields)
{
	int seen[COL_N] = { 0 };
	char err[160];
	int n = str_csv_header(line, replay_col_names, COL_N,
			       "busy_vcpu,busy_nq,p95_us[,busy_vcpu_threads]", col_of, seen, err,
			       sizeof(err));

	if (n < 0) {
		fprintf(stderr, "vspace replay: %s:%ld: %s\n", name, lineno, err);
		return -1;
	}
	for (int k = 0; k < 2; k++)
		if (!seen[k]) {
			fprintf(stderr, "vspace replay: %s:%ld: the header lacks column \"%s\"\n",
				name, lineno, replay_col_names[k]);
			return -1;
		}
	*n_fields = n;
	return 0;
}

static int replay_parse_row(char *line, const char *name, long lineno, const int *col_of,
			    int n_fields, struct vs_sample *s)
{
	char *field[COL_N + 1];
	int n = str_split(line, ',', field, COL_N);
	bool has_threads = false;

	if (n != n_fields) {
		fprintf(stderr, "vspace replay: %s:%ld: %d fields, the header has %d\n", name,
			lineno, n < 0 ? COL_N + 1 : n, n_fields);
		return -1;
	}
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < n; i++) {
		char *f = str_trim(field[i]);
		double v;
		int k = col_of[i];

		if (k == COL_P95 && *f == '\0')
			continue; /* latency unknown this period */
		if (str_to_double(f, 0, k == COL_P95 ? 1e12 : REPLAY_BUSY_MAX, &v) < 0) {
			fprintf(stderr,
				"vspace replay: %s:%ld: %s: \"%s\" is not a number in [0, %g]%s\n",
				name, lineno, replay_col_names[k], f,
				k == COL_P95 ? 1e12 : REPLAY_BUSY_MAX,
				k == COL_P95 ? " (leave it empty when unknown)" : " (cores)");
			return -1;
		}
		switch (k) {
		case COL_BUSY_VCPU:
			s->busy_vcpu = v;
			break;
		case COL_BUSY_NQ:
			s->busy_nq = v;
			break;
		case COL_P95:
			s->has_p95 = true;
			s->p95_us = v;
			break;
		case COL_BUSY_THREADS:
			s->busy_vcpu_threads = v;
			has_threads = true;
			break;
		}
	}
	if (!has_threads)
		s->busy_vcpu_threads = s->busy_vcpu;
	return 0;
}

int replay_run(const struct replay_opts *o, FILE *in, const char *input_name, FILE *out)
{
	struct replay_platform rp = { .base = { .ops = &replay_platform_ops } };
	struct vs_controller c;
	struct vs_topology topo;
	struct vs_policy pol;
	char err[300], line[REPLAY_LINE_MAX + 1], *t;
	struct vs_lines lines;
	int got;
	int col_of[COL_N], n_fields = 0, rc = 0;
	long period = 0;
	bool have_header = false;

	if (policy_lookup(o->policy, o->n_cores, &pol, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace replay: --policy: %s\n", err);
		return 2;
	}
	topology_init_flat(&topo, o->n_cores);
	if (controller_init(&c, &pol, &o->params, &topo, &rp.base, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace replay: %s\n", err);
		return 2;
	}
	if (controller_add_workload(&c, "replay", o->slo_p95_us, err, sizeof(err)) < 0 ||
	    controller_start(&c) < 0) {
		fprintf(stderr, "vspace replay: %s%s\n", err, c.last_error);
		controller_free(&c);
		return 1;
	}
	fprintf(out, "period,n_vcpu,n_nq,n_be,th_vcpu,th_nq%s\n", o->explain ? ",why" : "");
	lines_init(&lines, in, input_name, line, sizeof(line));
	while ((got = lines_next(&lines, &t, err, sizeof(err))) == 1) {
		if (!have_header) {
			if (replay_parse_header(t, input_name, lines.lineno, col_of, &n_fields) <
			    0) {
				rc = 2;
				break;
			}
			have_header = true;
			continue;
		}
		if (replay_parse_row(t, input_name, lines.lineno, col_of, n_fields, &rp.row) < 0) {
			rc = 2;
			break;
		}
		if (controller_step(&c) != 0) {
			fprintf(stderr, "vspace replay: %s:%ld: no decision: %s\n", input_name,
				lines.lineno, c.last_error);
			rc = 1;
			break;
		}
		const struct vs_alloc *a = &c.plan.wl[0].alloc;
		period++;
		fprintf(out, "%ld,%d,%d,%d,%.6f,%.6f", period, a->n_vcpu, a->n_nq, a->n_be,
			c.wl[0].ex.th.vcpu, c.wl[0].ex.th.nq);
		if (o->explain)
			fprintf(out, ",\"%s\"", c.wl[0].decision.why);
		fputc('\n', out);
	}
	if (rc == 0 && got < 0) {
		fprintf(stderr, "vspace replay: %s\n", err);
		rc = 2;
	}
	if (rc == 0 && !have_header) {
		fprintf(stderr,
			"vspace replay: %s: no header line (expected busy_vcpu,busy_nq,p95_us)\n",
			input_name);
		rc = 2;
	}
	controller_free(&c);
	if (fflush(out) != 0 && rc == 0)
		rc = 1;
	return rc;
}

int replay_main(int argc, char **argv)
{
	enum {
		OPT_POLICY = 256,
		OPT_CORES,
		OPT_SLO,
		OPT_EXPLORE,
		OPT_WINDOW,
		OPT_TH_VCPU,
		OPT_TH_NQ,
		OPT_TH_MIN,
		OPT_TH_MAX,
		OPT_MARGIN,
		OPT_WEIGHT,
		OPT_REWARD,
		OPT_ALLOW,
		OPT_EXPLAIN,
	};
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "cores", required_argument, NULL, OPT_CORES },
		{ "slo-us", required_argument, NULL, OPT_SLO },
		{ "explore", no_argument, NULL, OPT_EXPLORE },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "th-vcpu", required_argument, NULL, OPT_TH_VCPU },
		{ "th-nq", required_argument, NULL, OPT_TH_NQ },
		{ "th-min", required_argument, NULL, OPT_TH_MIN },
		{ "th-max", required_argument, NULL, OPT_TH_MAX },
		{ "margin", required_argument, NULL, OPT_MARGIN },
		{ "weight", required_argument, NULL, OPT_WEIGHT },
		{ "reward", required_argument, NULL, OPT_REWARD },
		{ "allow-violation", required_argument, NULL, OPT_ALLOW },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay_opts o = { 0 };
	char err[256];
	long v;
	int ch;

	vs_params_defaults(&o.params);
	o.params.explore = false;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_POLICY:
			o.policy = optarg;
			break;
		case OPT_CORES:
			if (str_to_long(optarg, 2, VS_MAX_CPUS, &v) < 0) {
				fprintf(stderr,
					"vspace replay: --cores: \"%s\" is not a whole number in "
					"[2, %d]\n",
					optarg, VS_MAX_CPUS);
				return 2;
			}
			o.n_cores = (int)v;
			break;
		case OPT_SLO:
			if (replay_opt_double("--slo-us", optarg, 1e-3, 1e12, &o.slo_p95_us) < 0)
				return 2;
			break;
		case OPT_EXPLORE:
			o.params.explore = true;
			break;
		case OPT_WINDOW:
			if (str_to_long(optarg, 1, 1000000, &v) < 0) {
				fprintf(stderr,
					"vspace replay: --window: \"%s\" is not a whole number in "
					"[1, 1000000]\n",
					optarg);
				return 2;
			}
			o.params.window = (int)v;
			break;
		case OPT_TH_VCPU:
			if (replay_opt_double("--th-vcpu", optarg, 1e-6, 1, &o.params.th_vcpu_init))
				return 2;
			break;
		case OPT_TH_NQ:
			if (replay_opt_double("--th-nq", optarg, 1e-6, 1, &o.params.th_nq_init))
				return 2;
			break;
		case OPT_TH_MIN:
			if (replay_opt_double("--th-min", optarg, 1e-6, 1, &o.params.th_min))
				return 2;
			break;
		case OPT_TH_MAX:
			if (replay_opt_double("--th-max", optarg, 1e-6, 1, &o.params.th_max))
				return 2;
			break;
		case OPT_MARGIN:
			if (replay_opt_double("--margin", optarg, 1, 10, &o.params.margin))
				return 2;
			break;
		case OPT_WEIGHT:
			if (replay_opt_double("--weight", optarg, 1e-6, 1, &o.params.weight))
				return 2;
			break;
		case OPT_REWARD:
			if (replay_opt_double("--reward", optarg, 1, 10, &o.params.reward))
				return 2;
			break;
		case OPT_ALLOW:
			if (replay_opt_double("--allow-violation", optarg, 0, 1,
					      &o.params.allow_violation))
				return 2;
			break;
		case OPT_EXPLAIN:
			o.explain = true;
			break;
		case 'h':
			replay_usage(stdout);
			return 0;
		default:
			return cliopt_error("vspace replay", ch, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"vspace replay: unexpected argument \"%s\" (the input comes on stdin)\n",
			argv[optind]);
		return 2;
	}
	if (!o.policy || o.n_cores == 0) {
		fprintf(stderr, "vspace replay: --policy and --cores are required (see --help)\n");
		return 2;
	}
	if (o.params.explore && o.slo_p95_us <= 0) {
		fprintf(stderr, "vspace replay: --explore needs --slo-us\n");
		return 2;
	}
	if (vs_params_check(&o.params, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace replay: %s\n", err);
		return 2;
	}
	return replay_run(&o, stdin, "stdin", stdout);
}
