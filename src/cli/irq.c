/* irq.c - `vspace irq`: interrupt-rate control without a host (replay) and its tools (calibrate, send). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/lines.h"
#include "lib/strutil.h"
#include "policy/irqrate.h"

/* Longest input line accepted (a row is four short numbers). */
#define IRQ_LINE_MAX 4096
/* Largest count accepted in a row (packets, bytes, interrupts per period). */
#define IRQ_COUNT_MAX 1000000000000000L
/* Largest busy time accepted, in cores. */
#define IRQ_BUSY_MAX 4096.0

struct irq_replay_opts {
	const struct vs_irq_policy_ops *policy;
	struct vs_irq_params params;
	double period_s;
	double initial_per_s;
	bool explain;
};

enum irq_col { IRQ_COL_PACKETS, IRQ_COL_BYTES, IRQ_COL_INTERRUPTS, IRQ_COL_BUSY, IRQ_COL_N };

static const char *const irq_col_names[IRQ_COL_N] = { "packets", "bytes", "interrupts",
						      "busy_cores" };

static void irq_replay_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace irq replay --policy fir|cgr|air [options] < periods.csv\n"
		"\n"
		"Feed recorded periods of one NIC receive queue through an interrupt-rate policy\n"
		"(SPEC §7.1) and print the rate it sets after each one. No NIC is touched.\n"
		"\n"
		"Input (stdin): CSV with the header packets,bytes,interrupts,busy_cores (columns\n"
		"in any order), one row per period (100 ms unless --period-ms says otherwise):\n"
		"  packets     packets the queue received in the period\n"
		"  bytes       bytes it received (as the driver counts them)\n"
		"  interrupts  interrupts it raised\n"
		"  busy_cores  busy time of the core handling it, in cores (0.42 = 42%%)\n"
		"Blank lines and lines starting with '#' are skipped.\n"
		"\n"
		"Output (stdout): CSV with header period,rate_per_s,rx_usecs\n"
		"  period      1 for the first input row\n"
		"  rate_per_s  the interrupt rate in force after that period's decision\n"
		"  rx_usecs    what it maps to for ethtool -C: round(1e6 / rate_per_s)\n"
		"With --explain a last column `why` gives the arithmetic.\n"
		"\n"
		"Policies:\n"
		"  fir   a fixed rate: --fir-rate (default 8000 int/s)\n"
		"  cgr   by the period's mean packet size S = bytes/packets and packet rate P:\n"
		"        S >= 1200 B: full bulk, 4000; 300 <= S < 1200: intermediate, 8000;\n"
		"        S < 300 and P >= 20000/s: latency sensitive, 20000; S < 300 and\n"
		"        P < 20000/s (sparse), or no packets: latency critical, 100000\n"
		"  air   I = B/(k*S) + offset with B = bytes/s, clamped to [min, Ihat],\n"
		"        Ihat = capacity * 1e9 / (c_pkt_ns * k + c_int_ns); applied only when\n"
		"        |I - I_current| >= hysteresis (else the current rate is kept)\n"
		"\n"
		"Options:\n"
		"  --policy NAME        fir, cgr or air\n"
		"  --fir-rate X         fir's rate, int/s (default 8000)\n"
		"  --k N                air: packets per interrupt (default 32)\n"
		"  --c-pkt-ns X         air: CPU time per packet, ns (default 2000)\n"
		"  --c-int-ns X         air: CPU time per interrupt, ns (default 6000)\n"
		"  --capacity-cores X   air: CPU capacity C, cores (default 1)\n"
		"  --offset X           air: added rate, int/s (default 1000)\n"
		"  --min X              air: lower clamp I_min, int/s (default 1000)\n"
		"  --hysteresis X       air: smallest change applied, int/s (default 1000)\n"
		"  --initial-rate X     the rate in force before the first row, int/s (default\n"
		"                       0: none set by vspace, so the first decision applies)\n"
		"  --period-ms MS       length of a period (default 100)\n"
		"  --explain            add a `why` column\n"
		"  -h, --help           this text\n"
		"\n"
		"Exit status: 0 ok, 2 bad argument or malformed input (the message names the\n"
		"line).\n"
		"\n"
		"Examples:\n"
		"  printf 'packets,bytes,interrupts,busy_cores\\n80000,118400000,800,0.4\\n' |\n"
		"      vspace irq replay --policy cgr\n"
		"  vspace irq replay --policy air --c-pkt-ns 900 --c-int-ns 4500 --explain \\\n"
		"      < examples/traces/irq-steps.csv\n");
}

static int irq_parse_header(char *line, const char *name, long lineno, int *col_of)
{
	int seen[IRQ_COL_N] = { 0 };
	char err[160];

	if (str_csv_header(line, irq_col_names, IRQ_COL_N, "packets,bytes,interrupts,busy_cores",
			   col_of, seen, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace irq replay: %s:%ld: %s\n", name, lineno, err);
		return -1;
	}
	for (int k = 0; k < IRQ_COL_N; k++)
		if (!seen[k]) {
			fprintf(stderr,
				"vspace irq replay: %s:%ld: the header lacks column \"%s\"\n", name,
				lineno, irq_col_names[k]);
			return -1;
		}
	return 0;
}

static int irq_parse_row(char *line, const char *name, long lineno, const int *col_of,
			 struct vs_irq_sample *s)
{
	char *field[IRQ_COL_N + 1];
	int n = str_split(line, ',', field, IRQ_COL_N);

	if (n != IRQ_COL_N) {
		fprintf(stderr, "vspace irq replay: %s:%ld: %d fields, the header has %d\n", name,
			lineno, n < 0 ? IRQ_COL_N + 1 : n, IRQ_COL_N);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *f = str_trim(field[i]);
		int k = col_of[i];
		long v;
		double d;

		if (k == IRQ_COL_BUSY) {
			if (str_to_double(f, 0, IRQ_BUSY_MAX, &d) < 0) {
				fprintf(stderr,
					"vspace irq replay: %s:%ld: busy_cores: \"%s\" is not a "
					"number in [0, %g] (cores)\n",
					name, lineno, f, IRQ_BUSY_MAX);
				return -1;
			}
			s->busy_cores = d;
			continue;
		}
		if (str_to_long(f, 0, IRQ_COUNT_MAX, &v) < 0) {
			fprintf(stderr,
				"vspace irq replay: %s:%ld: %s: \"%s\" is not a whole number in "
				"[0, %ld]\n",
				name, lineno, irq_col_names[k], f, IRQ_COUNT_MAX);
			return -1;
		}
		if (k == IRQ_COL_PACKETS)
			s->packets = (uint64_t)v;
		else if (k == IRQ_COL_BYTES)
			s->bytes = (uint64_t)v;
		else
			s->interrupts = (uint64_t)v;
	}
	if (s->packets == 0 && s->bytes > 0) {
		fprintf(stderr, "vspace irq replay: %s:%ld: %llu bytes in 0 packets\n", name,
			lineno, (unsigned long long)s->bytes);
		return -1;
	}
	return 0;
}

/* The replay proper (after option parsing). */
static int irq_replay_run(const struct irq_replay_opts *o, FILE *in, const char *name, FILE *out)
{
	char line[IRQ_LINE_MAX + 1], err[300], *t;
	int col_of[IRQ_COL_N], rc = 0, got;
	long period = 0;
	bool have_header = false;
	double current = o->initial_per_s;
	struct vs_lines lines;

	lines_init(&lines, in, name, line, sizeof(line));
	fprintf(out, "period,rate_per_s,rx_usecs%s\n", o->explain ? ",why" : "");
	while ((got = lines_next(&lines, &t, err, sizeof(err))) == 1) {
		if (!have_header) {
			if (irq_parse_header(t, name, lines.lineno, col_of) < 0) {
				rc = 2;
				break;
			}
			have_header = true;
			continue;
		}
		struct vs_irq_sample s = { .period_s = o->period_s };
		struct vs_irq_decision d;
		if (irq_parse_row(t, name, lines.lineno, col_of, &s) < 0) {
			rc = 2;
			break;
		}
		struct vs_irq_in din = { .sample = &s,
					 .current_per_s = current,
					 .params = &o->params };
		o->policy->decide(&din, &d);
		current = d.rate_per_s;
		period++;
		fprintf(out, "%ld,%.1f,%u", period, d.rate_per_s, d.rx_usecs);
		if (o->explain)
			fprintf(out, ",\"%s\"", d.why);
		fputc('\n', out);
	}
	if (rc == 0 && got < 0) {
		fprintf(stderr, "vspace irq replay: %s\n", err);
		rc = 2;
	}
	if (rc == 0 && !have_header) {
		fprintf(stderr,
			"vspace irq replay: %s: no header line (expected "
			"packets,bytes,interrupts,busy_cores)\n",
			name);
		rc = 2;
	}
	if (fflush(out) != 0 && rc == 0)
		rc = 1;
	return rc;
}

static int irq_opt_double(const char *opt, const char *text, double lo, double hi, double *out)
{
	if (str_to_double(text, lo, hi, out) < 0) {
		fprintf(stderr, "vspace irq replay: %s: \"%s\" is not a number in [%g, %g]\n", opt,
			text, lo, hi);
		return -1;
	}
	return 0;
}

static int irq_replay_main(int argc, char **argv)
{
	enum {
		OPT_POLICY = 256,
		OPT_FIR,
		OPT_K,
		OPT_CPKT,
		OPT_CINT,
		OPT_CAP,
		OPT_OFFSET,
		OPT_MIN,
		OPT_HYST,
		OPT_INITIAL,
		OPT_PERIOD,
		OPT_EXPLAIN,
	};
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "fir-rate", required_argument, NULL, OPT_FIR },
		{ "k", required_argument, NULL, OPT_K },
		{ "c-pkt-ns", required_argument, NULL, OPT_CPKT },
		{ "c-int-ns", required_argument, NULL, OPT_CINT },
		{ "capacity-cores", required_argument, NULL, OPT_CAP },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "min", required_argument, NULL, OPT_MIN },
		{ "hysteresis", required_argument, NULL, OPT_HYST },
		{ "initial-rate", required_argument, NULL, OPT_INITIAL },
		{ "period-ms", required_argument, NULL, OPT_PERIOD },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct irq_replay_opts o = { .period_s = 0.1 };
	struct vs_irq_params *p = &o.params;
	const char *policy = NULL;
	char err[256];
	double ms;
	int ch;

	irq_params_defaults(p);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		int bad = 0;
		switch (ch) {
		case OPT_POLICY:
			policy = optarg;
			break;
		case OPT_FIR:
			bad = irq_opt_double("--fir-rate", optarg, 1, 1e6, &p->fir_per_s);
			break;
		case OPT_K:
			bad = irq_opt_double("--k", optarg, 1, 1e6, &p->air_k);
			break;
		case OPT_CPKT:
			bad = irq_opt_double("--c-pkt-ns", optarg, 1e-3, 1e9, &p->air_c_pkt_ns);
			break;
		case OPT_CINT:
			bad = irq_opt_double("--c-int-ns", optarg, 1e-3, 1e9, &p->air_c_int_ns);
			break;
		case OPT_CAP:
			bad = irq_opt_double("--capacity-cores", optarg, 1e-3, 4096,
					     &p->air_capacity_cores);
			break;
		case OPT_OFFSET:
			bad = irq_opt_double("--offset", optarg, 0, 1e6, &p->air_offset_per_s);
			break;
		case OPT_MIN:
			bad = irq_opt_double("--min", optarg, 1, 1e6, &p->air_min_per_s);
			break;
		case OPT_HYST:
			bad = irq_opt_double("--hysteresis", optarg, 0, 1e6,
					     &p->air_hysteresis_per_s);
			break;
		case OPT_INITIAL:
			bad = irq_opt_double("--initial-rate", optarg, 0, 1e6, &o.initial_per_s);
			break;
		case OPT_PERIOD:
			bad = irq_opt_double("--period-ms", optarg, 1, 3600000, &ms);
			o.period_s = ms / 1000;
			break;
		case OPT_EXPLAIN:
			o.explain = true;
			break;
		case 'h':
			irq_replay_usage(stdout);
			return 0;
		default:
			return cliopt_error("vspace irq replay", ch, argv);
		}
		if (bad)
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr,
			"vspace irq replay: unexpected argument \"%s\" (the input comes on "
			"stdin)\n",
			argv[optind]);
		return 2;
	}
	if (!policy) {
		fprintf(stderr, "vspace irq replay: --policy is required (fir, cgr or air)\n");
		return 2;
	}
	o.policy = irq_policy_lookup(policy);
	if (!o.policy) {
		fprintf(stderr,
			"vspace irq replay: --policy: unknown policy \"%s\" (fir, cgr or "
			"air)\n",
			policy);
		return 2;
	}
	if (irq_params_check(p, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace irq replay: %s\n", err);
		return 2;
	}
	return irq_replay_run(&o, stdin, "stdin", stdout);
}

static void irq_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace irq COMMAND [options]   (vspace irq COMMAND --help for each)\n"
		"\n"
		"Interrupt-rate control of NIC receive queues (SPEC §7.1).\n"
		"\n"
		"Commands:\n"
		"  replay     feed recorded periods (CSV) through fir, cgr or air and print the\n"
		"             rates they set\n"
		"  calibrate  measure C_pkt and C_int (CPU time per packet and per interrupt)\n"
		"             on a NIC with coalescing, for air; writes them for vspaced\n"
		"  send       a steady UDP packet stream (the calibration's traffic, tests)\n"
		"\n"
		"Exit status: 0 ok, 1 failure at run time, 2 bad usage or input.\n");
}

int irq_main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "vspace irq: missing COMMAND\n\n");
		irq_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		irq_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "replay") == 0)
		return irq_replay_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "calibrate") == 0)
		return irqcal_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "send") == 0)
		return irqsend_main(argc - 1, argv + 1);
	fprintf(stderr, "vspace irq: unknown %s \"%s\" (replay, calibrate, send)\n",
		argv[1][0] == '-' ? "option" : "command", argv[1]);
	return 2;
}
