/* simvf.c - `vspace sim vf`: run the FlexVF model (src/sim/vf.c, src/simrun/vf.c) per strategy; per-group latency table, an SVG boxplot, the bulk-transfer neighbour under fair and activity. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"
#include "simrun/vf.h"

/* The bulk-transfer neighbour's default rate: an FTP-like stream filling a
 * 10 GbE link with 1,472 B packets (10e9 / (1,538 * 8) = 812,744/s). */
#define SIMVF_BULK_DEFAULT 812744.0

static void simvf_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace sim vf [options]\n"
		"\n"
		"FlexVF on a model host: one-vCPU VMs in packet-rate groups receive 1,472 B\n"
		"packets; N of them hold an SR-IOV VF (their packets go straight to the guest),\n"
		"the others take the para-virtual path through the host's packet cores, where a\n"
		"packet waits behind every other PV VM's. Every interval the strategy (the\n"
		"daemon's code) re-decides who holds the VFs from the last interval's rates.\n"
		"Prints, per group and strategy, the latency percentiles p5/p25/p50/p75/p95 of\n"
		"a packet to the guest (microseconds), drops, the share of intervals holding a\n"
		"VF and the host's packet-core load; then a bulk-transfer neighbour VM added,\n"
		"under fair and activity. The model and its constants: docs/SIMULATOR.md.\n"
		"\n"
		"Options:\n"
		"  --vms N            VMs, one vCPU each, split evenly over the groups (default "
		"100)\n"
		"  --vfs N            VFs (default 10)\n"
		"  --groups LIST      each group's packets/s per VM, k and M allowed\n"
		"                     (default 20k,40k,80k,100k)\n"
		"  --strategy S       none | random | fair | activity | all (default all)\n"
		"  --hysteresis X     activity's margin (default 0), --min-hold K (default 1)\n"
		"  --intervals K      decisions simulated (default 20: two fair cycles of 10 VFs)\n"
		"  --jitter X         a VM's rate varies per interval in [1-X, 1+X] x its group's\n"
		"                     (default 0.1)\n"
		"  --bulk PPS         the neighbour's rate (default 812744: 10 GbE of 1,472 B);\n"
		"                     0: no neighbour run\n"
		"  --host-cores N     cores running the host's packet path (default 20)\n"
		"  --host-pkt-ns NS   host cost of one PV packet (default 4016: softirq, bridge,\n"
		"                     tap, vhost, copy, signal)\n"
		"  --window-ms MS     simulated per interval (default 60; the first half warms "
		"up)\n"
		"  --seed N           (default 1); the same seed gives the same output\n"
		"  --out DIR          also write DIR/vf.csv and DIR/vf.svg (a boxplot)\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit status: 0 ok, 1 failure at run time, 2 bad usage.\n"
		"\n"
		"Example:\n"
		"  vspace sim vf --vfs 10 --out out/\n");
}

/* "20k" -> 20000; "1.5M" -> 1500000. */
static int simvf_rate(const char *text, double *out)
{
	char buf[32];
	size_t n = str_copy(buf, text, sizeof(buf));
	double mult = 1;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	if (buf[n - 1] == 'k' || buf[n - 1] == 'K')
		mult = 1e3, buf[n - 1] = '\0';
	else if (buf[n - 1] == 'M')
		mult = 1e6, buf[n - 1] = '\0';
	if (str_to_double(buf, 0, 1e7, out) < 0)
		return -1;
	*out *= mult;
	return 0;
}

static const char *const simvf_names[] = { "none", "random", "fair", "activity" };
#define SIMVF_N_STRAT 4

static void simvf_set_strategy(struct simvf_cfg *c, int k)
{
	c->strategy = k == 0 ? NULL : vf_policy_lookup(simvf_names[k]);
}

static double simvf_us(const struct vs_hist *h, double q)
{
	return h->total ? (double)hist_quantile(h, q) / 1000 : 0;
}

static void simvf_group_label(const struct simvf_cfg *c, int g, char *buf, size_t len)
{
	if (g == c->n_groups)
		snprintf(buf, len, "bulk");
	else if (c->group_pps[g] >= 1e6)
		snprintf(buf, len, "%gM/s", c->group_pps[g] / 1e6);
	else
		snprintf(buf, len, "%gk/s", c->group_pps[g] / 1e3);
}

static void simvf_table(FILE *f, const struct simvf_cfg *c, struct simvf_result *const *res,
			const int *which, int n_res, bool bulk)
{
	static const double q[5] = { 0.05, 0.25, 0.5, 0.75, 0.95 };
	char label[32];

	fprintf(f, "%-8s %-9s %9s %9s %9s %9s %9s %7s %6s\n", "group", "strategy", "p5", "p25",
		"p50", "p75", "p95", "drop%", "VF%");
	for (int g = 0; g < c->n_groups + (bulk ? 1 : 0); g++) {
		simvf_group_label(c, g, label, sizeof(label));
		for (int k = 0; k < n_res; k++) {
			const struct simvf_group *gr = &res[k]->group[g];
			fprintf(f, "%-8s %-9s", k == 0 ? label : "", simvf_names[which[k]]);
			for (int i = 0; i < 5; i++)
				fprintf(f, " %9.1f", simvf_us(&gr->lat_ns, q[i]));
			fprintf(f, " %7.2f %6.1f\n",
				gr->packets ? 100.0 * (double)gr->drops / (double)gr->packets : 0,
				gr->vm_intervals ? 100.0 * (double)gr->vf_intervals /
							   (double)gr->vm_intervals
						 : 0);
		}
	}
	fprintf(f, "%-18s", "host cores busy");
	for (int k = 0; k < n_res; k++)
		fprintf(f, "  %s %.0f%% (max %.0f%%)", simvf_names[which[k]],
			100 * res[k]->host_util_mean, 100 * res[k]->host_util_max);
	fprintf(f, "\n%-18s", "plugs/unplugs");
	for (int k = 0; k < n_res; k++)
		fprintf(f, "  %s %llu/%llu", simvf_names[which[k]],
			(unsigned long long)res[k]->plugs, (unsigned long long)res[k]->unplugs);
	fputc('\n', f);
}

/* Which groups gain (or lose) against `none`: p50 and p95 ratios. */
static void simvf_gains(FILE *f, const struct simvf_cfg *c, struct simvf_result *const *res,
			const int *which, int n_res)
{
	char label[32];
	int base = -1;

	for (int k = 0; k < n_res; k++)
		if (which[k] == 0)
			base = k;
	if (base < 0)
		return;
	fprintf(f, "p50 / p95 against none (below 1: faster)\n");
	for (int g = 0; g < c->n_groups; g++) {
		const struct vs_hist *b = &res[base]->group[g].lat_ns;
		simvf_group_label(c, g, label, sizeof(label));
		fprintf(f, "%-8s", label);
		for (int k = 0; k < n_res; k++) {
			const struct vs_hist *h = &res[k]->group[g].lat_ns;
			if (k == base)
				continue;
			fprintf(f, "  %s %.2f/%.2f", simvf_names[which[k]],
				simvf_us(h, 0.5) / simvf_us(b, 0.5),
				simvf_us(h, 0.95) / simvf_us(b, 0.95));
		}
		fputc('\n', f);
	}
}

static void simvf_csv(FILE *f, const struct simvf_cfg *c, struct simvf_result *const *res,
		      const int *which, int n_res, const char *scenario, bool bulk)
{
	char label[32];

	for (int g = 0; g < c->n_groups + (bulk ? 1 : 0); g++) {
		simvf_group_label(c, g, label, sizeof(label));
		for (int k = 0; k < n_res; k++) {
			const struct simvf_group *gr = &res[k]->group[g];
			fprintf(f, "%s,%s,%s,%.1f,%.1f,%.1f,%.1f,%.1f,%llu,%llu,%.4f\n", scenario,
				label, simvf_names[which[k]], simvf_us(&gr->lat_ns, 0.05),
				simvf_us(&gr->lat_ns, 0.25), simvf_us(&gr->lat_ns, 0.5),
				simvf_us(&gr->lat_ns, 0.75), simvf_us(&gr->lat_ns, 0.95),
				(unsigned long long)gr->packets, (unsigned long long)gr->drops,
				gr->vm_intervals
					? (double)gr->vf_intervals / (double)gr->vm_intervals
					: 0);
		}
	}
}

/* A boxplot per group and strategy: whiskers p5..p95, box p25..p75, line p50,
 * on a log scale of microseconds. */
static void simvf_svg(FILE *f, const struct simvf_cfg *c, struct simvf_result *const *res,
		      const int *which, int n_res)
{
	static const char *const colour[] = { "#888888", "#d08c2c", "#2c7bb6", "#1a9641" };
	const double W = 180.0 * c->n_groups + 120, H = 420, top = 40, bot = 360, left = 70;
	double lo = 1e18, hi = 0;
	char label[32];

	for (int g = 0; g < c->n_groups; g++)
		for (int k = 0; k < n_res; k++) {
			double a = simvf_us(&res[k]->group[g].lat_ns, 0.05);
			double b = simvf_us(&res[k]->group[g].lat_ns, 0.95);
			if (a > 0 && a < lo)
				lo = a;
			if (b > hi)
				hi = b;
		}
	if (hi <= 0)
		lo = 1, hi = 10;
	double llo = floor(log10(lo)), lhi = ceil(log10(hi));
	if (lhi <= llo)
		lhi = llo + 1;
#define Y(v) (bot - (log10(v) - llo) / (lhi - llo) * (bot - top))
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"<text x=\"%.0f\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">vspace sim vf: "
		"latency of a 1,472 B packet to the guest, %d VMs, %d VFs (p5, p25, p50, p75, "
		"p95)</text>\n",
		W, H, W / 2, c->vms, c->vfs);
	for (double e = llo; e <= lhi + 1e-9; e += 1) {
		double y = Y(pow(10, e));
		fprintf(f,
			"<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%g us</text>\n",
			left, W - 20, y, y, left - 6, y + 4, pow(10, e));
	}
	for (int g = 0; g < c->n_groups; g++) {
		double x0 = left + 20 + 180.0 * g;
		simvf_group_label(c, g, label, sizeof(label));
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s per VM</text>\n",
			x0 + 80, bot + 20, label);
		for (int k = 0; k < n_res; k++) {
			const struct vs_hist *h = &res[k]->group[g].lat_ns;
			double x = x0 + 10 + 38.0 * k, p[5];
			static const double q[5] = { 0.05, 0.25, 0.5, 0.75, 0.95 };
			if (!h->total)
				continue;
			for (int i = 0; i < 5; i++)
				p[i] = simvf_us(h, q[i]);
			fprintf(f,
				"<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
				"stroke=\"%s\"/>\n"
				"<rect x=\"%.0f\" y=\"%.1f\" width=\"24\" height=\"%.1f\" "
				"fill=\"%s\" "
				"fill-opacity=\"0.35\" stroke=\"%s\"/>\n"
				"<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
				"stroke=\"%s\" "
				"stroke-width=\"2\"/>\n",
				x + 12, x + 12, Y(p[0]), Y(p[4]), colour[which[k]], x, Y(p[3]),
				Y(p[1]) - Y(p[3]), colour[which[k]], colour[which[k]], x, x + 24,
				Y(p[2]), Y(p[2]), colour[which[k]]);
		}
	}
	for (int k = 0; k < n_res; k++)
		fprintf(f,
			"<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			"<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
			left + 110.0 * k, H - 30, colour[which[k]], left + 110.0 * k + 16, H - 20,
			simvf_names[which[k]]);
	fprintf(f, "</svg>\n");
#undef Y
}

int simvf_main(int argc, char **argv)
{
	enum {
		O_VMS = 256,
		O_VFS,
		O_GROUPS,
		O_STRAT,
		O_HYST,
		O_HOLD,
		O_INTERVALS,
		O_JITTER,
		O_BULK,
		O_CORES,
		O_PKT,
		O_WINDOW,
		O_SEED,
		O_OUT
	};
	static const struct option longopts[] = {
		{ "vms", required_argument, NULL, O_VMS },
		{ "vfs", required_argument, NULL, O_VFS },
		{ "groups", required_argument, NULL, O_GROUPS },
		{ "strategy", required_argument, NULL, O_STRAT },
		{ "hysteresis", required_argument, NULL, O_HYST },
		{ "min-hold", required_argument, NULL, O_HOLD },
		{ "intervals", required_argument, NULL, O_INTERVALS },
		{ "jitter", required_argument, NULL, O_JITTER },
		{ "bulk", required_argument, NULL, O_BULK },
		{ "host-cores", required_argument, NULL, O_CORES },
		{ "host-pkt-ns", required_argument, NULL, O_PKT },
		{ "window-ms", required_argument, NULL, O_WINDOW },
		{ "seed", required_argument, NULL, O_SEED },
		{ "out", required_argument, NULL, O_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct simvf_cfg c;
	struct simvf_result *res[SIMVF_N_STRAT] = { 0 };
	int which[SIMVF_N_STRAT], n_res = 0, only = -1, ch, rc = 1;
	double bulk = SIMVF_BULK_DEFAULT, v;
	const char *out = NULL;
	char err[256];
	long l;

	simvf_defaults(&c);
	optind = 1;
	opterr = 0;
	int li = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, &li)) != -1) {
		char o[32];
		snprintf(o, sizeof(o), "--%s", longopts[li].name);
		switch (ch) {
		case O_VMS:
		case O_VFS:
		case O_HOLD:
		case O_INTERVALS:
		case O_CORES:
		case O_SEED:
			if (str_to_long(optarg, ch == O_VFS ? 0 : 1, 1000000, &l) < 0) {
				fprintf(stderr,
					"vspace sim vf: %s: \"%s\" is not a whole number in "
					"[%d, 1000000]\n",
					o, optarg, ch == O_VFS ? 0 : 1);
				return 2;
			}
			if (ch == O_VMS)
				c.vms = (int)l;
			else if (ch == O_VFS)
				c.vfs = (int)l;
			else if (ch == O_HOLD)
				c.min_hold = (int)l;
			else if (ch == O_INTERVALS)
				c.intervals = (int)l;
			else if (ch == O_CORES)
				c.host_cores = (int)l;
			else
				c.seed = (uint64_t)l;
			break;
		case O_GROUPS: {
			char buf[256], *f[SIMVF_MAX_GROUPS + 1];
			str_copy(buf, optarg, sizeof(buf));
			int n = str_split(buf, ',', f, SIMVF_MAX_GROUPS);
			if (n < 1) {
				fprintf(stderr,
					"vspace sim vf: --groups: 1 to %d rates, e.g. "
					"20k,40k,80k,100k\n",
					SIMVF_MAX_GROUPS);
				return 2;
			}
			for (int i = 0; i < n; i++)
				if (simvf_rate(str_trim(f[i]), &c.group_pps[i]) < 0 ||
				    c.group_pps[i] <= 0) {
					fprintf(stderr,
						"vspace sim vf: --groups: \"%s\" is not a "
						"packet rate (20k, 1.5M, 30000)\n",
						f[i]);
					return 2;
				}
			c.n_groups = n;
			break;
		}
		case O_STRAT:
			only = -2;
			for (int k = 0; k < SIMVF_N_STRAT; k++)
				if (strcmp(optarg, simvf_names[k]) == 0)
					only = k;
			if (strcmp(optarg, "all") == 0)
				only = -1;
			if (only == -2) {
				fprintf(stderr,
					"vspace sim vf: --strategy: unknown \"%s\" (none, "
					"random, fair, activity, all)\n",
					optarg);
				return 2;
			}
			break;
		case O_HYST:
		case O_JITTER:
		case O_PKT:
		case O_WINDOW:
			if (str_to_double(optarg, ch == O_PKT || ch == O_WINDOW ? 1e-3 : 0,
					  ch == O_JITTER ? 0.99 : 1e6, &v) < 0) {
				fprintf(stderr,
					"vspace sim vf: %s: \"%s\" is not a number in range "
					"(see --help)\n",
					o, optarg);
				return 2;
			}
			if (ch == O_HYST)
				c.hysteresis = v;
			else if (ch == O_JITTER)
				c.jitter = v;
			else if (ch == O_PKT)
				c.host_pkt_ns = v;
			else
				c.window_ms = v, c.warmup_ms = v / 2;
			break;
		case O_BULK:
			if (simvf_rate(optarg, &bulk) < 0 || bulk > 5e6) {
				fprintf(stderr,
					"vspace sim vf: --bulk: \"%s\" is not a packet rate in "
					"[0, 5M]\n",
					optarg);
				return 2;
			}
			break;
		case O_OUT:
			out = optarg;
			break;
		case 'h':
			simvf_usage(stdout);
			return 0;
		default:
			return cliopt_error("vspace sim vf", ch, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vspace sim vf: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (simvf_check(&c, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace sim vf: %s\n", err);
		return 2;
	}
	FILE *csv = NULL, *svg = NULL;
	if (out) {
		char path[4096];
		if (mkdir(out, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "vspace sim vf: --out %s: %s\n", out, strerror(errno));
			return 1;
		}
		snprintf(path, sizeof(path), "%s%svf.csv", out,
			 out[strlen(out) - 1] == '/' ? "" : "/");
		csv = fopen(path, "w");
		snprintf(path, sizeof(path), "%s%svf.svg", out,
			 out[strlen(out) - 1] == '/' ? "" : "/");
		svg = fopen(path, "w");
		if (!csv || !svg) {
			fprintf(stderr, "vspace sim vf: %s: %s\n", path, strerror(errno));
			goto done;
		}
		fprintf(csv, "scenario,group,strategy,p5_us,p25_us,p50_us,p75_us,p95_us,packets,"
			     "drops,vf_share\n");
	}
	for (int k = 0; k < SIMVF_N_STRAT; k++) {
		if (only >= 0 && k != only)
			continue;
		res[n_res] = calloc(1, sizeof(*res[n_res]));
		if (!res[n_res]) {
			fprintf(stderr, "vspace sim vf: out of memory\n");
			goto done;
		}
		simvf_set_strategy(&c, k);
		if (simvf_run(&c, res[n_res], err, sizeof(err)) < 0) {
			fprintf(stderr, "vspace sim vf: %s\n", err);
			goto done;
		}
		which[n_res++] = k;
	}
	printf("vspace sim vf: %d VMs (%d groups), %d VFs, %d intervals, jitter %g, host path on "
	       "%d cores at %.0f ns per packet, seed %llu\n",
	       c.vms, c.n_groups, c.vfs, c.intervals, c.jitter, c.host_cores, c.host_pkt_ns,
	       (unsigned long long)c.seed);
	printf("latency of a 1,472 B packet to the guest, microseconds\n");
	simvf_table(stdout, &c, res, which, n_res, false);
	simvf_gains(stdout, &c, res, which, n_res);
	if (csv)
		simvf_csv(csv, &c, res, which, n_res, "groups", false);
	if (svg)
		simvf_svg(svg, &c, res, which, n_res);
	if (bulk > 0 && only < 0) {
		struct simvf_result *b[2] = { calloc(1, sizeof(**b)), calloc(1, sizeof(**b)) };
		int bw[2] = { 2, 3 };
		c.bulk_pps = bulk;
		for (int k = 0; k < 2; k++) {
			simvf_set_strategy(&c, bw[k]);
			if (!b[k] || simvf_run(&c, b[k], err, sizeof(err)) < 0) {
				fprintf(stderr, "vspace sim vf: %s\n",
					b[k] ? err : "out of memory");
				free(b[0]);
				free(b[1]);
				goto done;
			}
		}
		printf("\nwith a bulk-transfer neighbour VM at %.0f packets/s (an FTP-like "
		       "stream)\n",
		       bulk);
		simvf_table(stdout, &c, b, bw, 2, true);
		if (csv)
			simvf_csv(csv, &c, b, bw, 2, "bulk", true);
		free(b[0]);
		free(b[1]);
	}
	rc = 0;
done:
	if (csv && fclose(csv) != 0)
		rc = 1;
	if (svg && fclose(svg) != 0)
		rc = 1;
	for (int k = 0; k < n_res; k++)
		free(res[k]);
	return rc;
}
