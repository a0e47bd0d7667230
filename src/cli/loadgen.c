/* loadgen.c - `vspace loadgen`: open-loop Poisson load for memcached and HTTP servers, with latency percentiles. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/log.h"
#include "lib/strutil.h"
#include "loadgen/loadgen.h"

/* Set by SIGINT/SIGTERM (the handler only sets it); the run ends early. */
static volatile sig_atomic_t loadgen_stop;

struct loadgen_cli {
	struct loadgen_config cfg;
	bool json;
	bool search;
	double slo_us;	  /* 0: not given */
	double max_qps;	  /* search upper bound */
	double precision; /* search bracket */
	const char *report_spec;
	const char *timeline_path;
	bool have_server, have_qps;
};

static void loadgen_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace loadgen --server HOST:PORT --qps N [options]\n"
		"       vspace loadgen --server HOST:PORT --search --slo-us US [options]\n"
		"\n"
		"Open-loop load: requests are sent at Poisson-distributed times at the offered\n"
		"rate whatever the replies do, over many connections served by a few threads\n"
		"(epoll). Latency is measured from each request's intended send time, so a\n"
		"server that falls behind is charged for the queue it causes (no coordinated\n"
		"omission). Percentiles come from a log-linear histogram (<= 0.4 %% error) with\n"
		"95 %% confidence intervals.\n"
		"\n"
		"Options:\n"
		"  --protocol P        memcached (default) or http\n"
		"  --server HOST:PORT  the server ([V6ADDR]:PORT for IPv6)\n"
		"  --qps N             offered load, requests per second (search: the start)\n"
		"  --duration S        measured seconds (default 10)\n"
		"  --warmup S          seconds of load at the rate before measuring (default 0)\n"
		"  --connections C     TCP connections in total (default 32)\n"
		"  --threads T         sender threads (default 1)\n"
		"  --pipeline N        requests in flight per connection at most (default 16);\n"
		"                      an idle connection is always preferred\n"
		"  --slo-us US         p95 target in microseconds (for --search; also printed)\n"
		"  --json              print one JSON object (search: one per step, then one\n"
		"                      with the result)\n"
		"  --report unix:SOCKET:WORKLOAD\n"
		"                      push each window's p95 to vspaced's control socket:\n"
		"                      "
		"{\"cmd\":\"report\",\"workload\":W,\"p95_us\":P,\"count\":N}\n"
		"  --window-ms MS      report/timeline window (default 100)\n"
		"  --timeline FILE     per-window CSV: t_s,replies,errors,p50_us,p95_us,p99_us\n"
		"                      (t_s: end of the window, seconds since the measured time\n"
		"                      began; negative during --warmup)\n"
		"  --search            find the highest rate whose p95 <= --slo-us: double the\n"
		"                      rate from --qps (default 1000) until a step fails, then\n"
		"                      bisect; each step lasts --duration. A step fails on\n"
		"                      sender lag, errors, timeouts, replies < 95 %% of the\n"
		"                      requests sent, or p95 over the SLO\n"
		"  --max-qps N         search upper bound (default 10000000)\n"
		"  --precision X       search stops when the bracket is narrower than X times the\n"
		"                      best rate (default 0.05)\n"
		"  --max-lag-us US     sender-lag limit (default 500): when the p99 of the time\n"
		"                      between a request's intended send time and the moment the\n"
		"                      sender took it up exceeds it, the loadgen could not keep\n"
		"                      its own schedule: no percentiles are reported, exit 3\n"
		"  --drain-timeout S   after the run, wait this long for replies (default 1);\n"
		"                      requests still unanswered then count as timeouts\n"
		"  --seed N            random seed (default 1)\n"
		"memcached:\n"
		"  --keys N            key space (default 10000); every key is SET before the\n"
		"                      run (the warm-up load) unless --no-load\n"
		"  --mix GET:SET       request mix (default 30:1, Facebook ETC)\n"
		"  --value-max BYTES   largest value (default 4096); key and value sizes follow\n"
		"                      the ETC fits (GEV keys, generalized-Pareto values)\n"
		"  --no-load           skip the warm-up load\n"
		"http:\n"
		"  --path PATH         request target (default /); HTTP/1.1 keep-alive GET\n"
		"  -h, --help          this text\n"
		"\n"
		"Output: offered, sent and achieved rates; p50/p95/p99/p99.9 in microseconds\n"
		"with 95 %% confidence intervals; errors (error replies, malformed replies,\n"
		"connection failures), timeouts; the sender's own lag; the loadgen's CPU time\n"
		"per request. JSON keys: offered_qps sent_qps achieved_qps duration_s sent\n"
		"completed errors timeouts dropped reconnects hits misses p50_us p95_us p99_us\n"
		"p999_us max_us mean_us p50_ci_us p95_ci_us p99_ci_us p999_ci_us sender_lag\n"
		"lag_p50_us lag_p99_us cpu_s cpu_us_per_req (percentiles are null when the\n"
		"sender lagged), plus reports_* with --report.\n"
		"\n"
		"Exit status: 0 ok, 1 the run failed (cannot connect, ...), 2 bad argument\n"
		"(including a --timeline file that cannot be written),\n"
		"3 sender lag (the figures would measure the loadgen, not the server),\n"
		"130 interrupted.\n"
		"\n"
		"Examples:\n"
		"  vspace loadgen --server 127.0.0.1:11211 --qps 20000 --duration 10\n"
		"  vspace loadgen --protocol http --server 127.0.0.1:8080 --path /1k.bin --qps "
		"5000\n"
		"  vspace loadgen --server 127.0.0.1:11211 --search --slo-us 1000 --duration 2\n");
}

static int loadgen_bad(const char *opt, const char *text, const char *what)
{
	fprintf(stderr, "vspace loadgen: %s: \"%s\" is not %s\n", opt, text, what);
	return -1;
}

static int loadgen_opt_double(const char *opt, const char *text, double lo, double hi, double *out)
{
	char what[96];

	if (str_to_double(text, lo, hi, out) == 0)
		return 0;
	snprintf(what, sizeof(what), "a number in [%g, %g]", lo, hi);
	return loadgen_bad(opt, text, what);
}

static int loadgen_opt_long(const char *opt, const char *text, long lo, long hi, long *out)
{
	char what[96];

	if (str_to_long(text, lo, hi, out) == 0)
		return 0;
	snprintf(what, sizeof(what), "an integer in [%ld, %ld]", lo, hi);
	return loadgen_bad(opt, text, what);
}

/* "G:S" with G, S >= 0 and G + S > 0 -> share of GETs. */
static int loadgen_parse_mix(const char *text, double *get_share)
{
	char buf[64], *f[3];
	double g, s;

	if (str_copy(buf, text, sizeof(buf)) >= sizeof(buf) || str_split(buf, ':', f, 2) != 2 ||
	    str_to_double(f[0], 0, 1e9, &g) < 0 || str_to_double(f[1], 0, 1e9, &s) < 0 ||
	    g + s <= 0)
		return loadgen_bad("--mix", text, "GET:SET (two non-negative numbers, not both 0)");
	*get_share = g / (g + s);
	return 0;
}

enum {
	OPT_PROTOCOL = 256,
	OPT_SERVER,
	OPT_QPS,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_CONNECTIONS,
	OPT_THREADS,
	OPT_PIPELINE,
	OPT_SLO,
	OPT_JSON,
	OPT_REPORT,
	OPT_WINDOW,
	OPT_TIMELINE,
	OPT_SEARCH,
	OPT_MAX_QPS,
	OPT_PRECISION,
	OPT_MAX_LAG,
	OPT_DRAIN,
	OPT_SEED,
	OPT_KEYS,
	OPT_MIX,
	OPT_VALUE_MAX,
	OPT_NO_LOAD,
	OPT_PATH,
};

static const struct option loadgen_options[] = {
	{ "protocol", required_argument, NULL, OPT_PROTOCOL },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "qps", required_argument, NULL, OPT_QPS },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "pipeline", required_argument, NULL, OPT_PIPELINE },
	{ "slo-us", required_argument, NULL, OPT_SLO },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "window-ms", required_argument, NULL, OPT_WINDOW },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "search", no_argument, NULL, OPT_SEARCH },
	{ "max-qps", required_argument, NULL, OPT_MAX_QPS },
	{ "precision", required_argument, NULL, OPT_PRECISION },
	{ "max-lag-us", required_argument, NULL, OPT_MAX_LAG },
	{ "drain-timeout", required_argument, NULL, OPT_DRAIN },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "keys", required_argument, NULL, OPT_KEYS },
	{ "mix", required_argument, NULL, OPT_MIX },
	{ "value-max", required_argument, NULL, OPT_VALUE_MAX },
	{ "no-load", no_argument, NULL, OPT_NO_LOAD },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Returns 0, 1 for --help, -1 on a bad argument (already reported). */
static int loadgen_parse(int argc, char **argv, struct loadgen_cli *o)
{
	char err[256];
	long l;
	int ch;

	loadgen_config_init(&o->cfg);
	o->max_qps = 1e7;
	o->precision = 0.05;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":h", loadgen_options, NULL)) != -1) {
		struct loadgen_config *c = &o->cfg;
		int rc = 0;

		switch (ch) {
		case OPT_PROTOCOL:
			if (strcmp(optarg, "memcached") == 0)
				c->protocol = LOADGEN_MEMCACHED;
			else if (strcmp(optarg, "http") == 0)
				c->protocol = LOADGEN_HTTP;
			else
				rc = loadgen_bad("--protocol", optarg, "memcached or http");
			break;
		case OPT_SERVER:
			if (loadgen_set_server(c, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "vspace loadgen: --server: %s\n", err);
				rc = -1;
			}
			o->have_server = true;
			break;
		case OPT_QPS:
			rc = loadgen_opt_double("--qps", optarg, 0.001, 1e8, &c->qps);
			o->have_qps = true;
			break;
		case OPT_DURATION:
			rc = loadgen_opt_double("--duration", optarg, 0.01, 86400, &c->duration_s);
			break;
		case OPT_WARMUP:
			rc = loadgen_opt_double("--warmup", optarg, 0, 3600, &c->warmup_s);
			break;
		case OPT_CONNECTIONS:
			rc = loadgen_opt_long("--connections", optarg, 1, LOADGEN_CONNS_MAX, &l);
			c->connections = (int)l;
			break;
		case OPT_THREADS:
			rc = loadgen_opt_long("--threads", optarg, 1, LOADGEN_THREADS_MAX, &l);
			c->threads = (int)l;
			break;
		case OPT_PIPELINE:
			rc = loadgen_opt_long("--pipeline", optarg, 1, LOADGEN_PIPELINE_MAX, &l);
			c->pipeline_max = (int)l;
			break;
		case OPT_SLO:
			rc = loadgen_opt_double("--slo-us", optarg, 0.001, 1e9, &o->slo_us);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_REPORT:
			o->report_spec = optarg;
			break;
		case OPT_WINDOW:
			rc = loadgen_opt_long("--window-ms", optarg, 1, 60000, &l);
			c->window_ms = (int)l;
			break;
		case OPT_TIMELINE:
			o->timeline_path = optarg;
			break;
		case OPT_SEARCH:
			o->search = true;
			break;
		case OPT_MAX_QPS:
			rc = loadgen_opt_double("--max-qps", optarg, 1, 1e8, &o->max_qps);
			break;
		case OPT_PRECISION:
			rc = loadgen_opt_double("--precision", optarg, 0.001, 1, &o->precision);
			break;
		case OPT_MAX_LAG:
			rc = loadgen_opt_double("--max-lag-us", optarg, 1, 1e9, &c->max_lag_us);
			break;
		case OPT_DRAIN:
			rc = loadgen_opt_double("--drain-timeout", optarg, 0, 3600,
						&c->drain_timeout_s);
			break;
		case OPT_SEED:
			rc = loadgen_opt_long("--seed", optarg, 0, LONG_MAX, &l);
			c->seed = (uint64_t)l;
			break;
		case OPT_KEYS:
			rc = loadgen_opt_long("--keys", optarg, 1, 100000000, &l);
			c->keys = (uint32_t)l;
			break;
		case OPT_MIX:
			rc = loadgen_parse_mix(optarg, &c->get_share);
			break;
		case OPT_VALUE_MAX:
			rc = loadgen_opt_long("--value-max", optarg, 1, 1 << 20, &l);
			c->value_max = (uint32_t)l;
			break;
		case OPT_NO_LOAD:
			c->load_keys = false;
			break;
		case OPT_PATH:
			if (optarg[0] != '/' || strlen(optarg) >= 1024 ||
			    strpbrk(optarg, " \r\n\t")) {
				rc = loadgen_bad(
					"--path", optarg,
					"a path starting with '/' without blanks (< 1024 bytes)");
				break;
			}
			str_copy(c->path, optarg, sizeof(c->path));
			break;
		case 'h':
			loadgen_usage(stdout);
			return 1;
		default:
			cliopt_error("vspace loadgen", ch, argv);
			return -1;
		}
		if (rc < 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "vspace loadgen: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (!o->have_server) {
		fprintf(stderr, "vspace loadgen: --server HOST:PORT is required\n");
		return -1;
	}
	if (!o->search && !o->have_qps) {
		fprintf(stderr, "vspace loadgen: --qps N is required (or --search)\n");
		return -1;
	}
	if (o->search && o->slo_us <= 0) {
		fprintf(stderr, "vspace loadgen: --search needs --slo-us US\n");
		return -1;
	}
	if (o->search && o->cfg.qps > o->max_qps) {
		fprintf(stderr, "vspace loadgen: --qps %g is above --max-qps %g\n", o->cfg.qps,
			o->max_qps);
		return -1;
	}
	if (o->cfg.connections < o->cfg.threads) {
		fprintf(stderr, "vspace loadgen: --connections %d is fewer than --threads %d\n",
			o->cfg.connections, o->cfg.threads);
		return -1;
	}
	if (o->report_spec) {
		char path[REPORT_PATH_MAX], wl[REPORT_WORKLOAD_MAX];
		if (report_parse_spec(o->report_spec, path, sizeof(path), wl, sizeof(wl), err,
				      sizeof(err)) < 0) {
			fprintf(stderr, "vspace loadgen: --report: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static json_t *loadgen_json_us(const struct vs_hist *h, double q, bool valid)
{
	return valid && h->total > 0 ? json_real(loadgen_quantile_us(h, q)) : json_null();
}

static json_t *loadgen_json_ci(const struct vs_hist *h, double q, bool valid)
{
	uint64_t lo, hi;

	if (!valid || h->total == 0)
		return json_null();
	hist_quantile_ci(h, q, 1.96, &lo, &hi);
	return json_pack("[f, f]", (double)lo / 1000.0, (double)hi / 1000.0);
}

static json_t *loadgen_result_json(const struct loadgen_cli *o, const struct loadgen_result *r)
{
	const struct loadgen_config *c = &o->cfg;
	const struct vs_hist *h = &r->latency;
	bool valid = !r->lagging;
	json_t *j = json_object();

	json_object_set_new(j, "protocol",
			    json_string(c->protocol == LOADGEN_HTTP ? "http" : "memcached"));
	json_object_set_new(j, "server", json_string(c->server));
	json_object_set_new(j, "offered_qps", json_real(r->offered_qps));
	json_object_set_new(j, "sent_qps", json_real(r->sent_qps));
	json_object_set_new(j, "achieved_qps", json_real(r->achieved_qps));
	json_object_set_new(j, "duration_s", json_real(r->duration_s));
	json_object_set_new(j, "connections", json_integer(c->connections));
	json_object_set_new(j, "threads", json_integer(c->threads));
	json_object_set_new(j, "sent", json_integer((json_int_t)r->sent));
	json_object_set_new(j, "completed", json_integer((json_int_t)r->completed));
	json_object_set_new(j, "errors", json_integer((json_int_t)r->errors));
	json_object_set_new(j, "timeouts", json_integer((json_int_t)r->timeouts));
	json_object_set_new(j, "dropped", json_integer((json_int_t)r->dropped));
	json_object_set_new(j, "reconnects", json_integer((json_int_t)r->reconnects));
	if (c->protocol == LOADGEN_MEMCACHED) {
		json_object_set_new(j, "hits", json_integer((json_int_t)r->hits));
		json_object_set_new(j, "misses", json_integer((json_int_t)r->misses));
		json_object_set_new(j, "load_errors", json_integer((json_int_t)r->load_errors));
	}
	json_object_set_new(j, "p50_us", loadgen_json_us(h, 0.50, valid));
	json_object_set_new(j, "p95_us", loadgen_json_us(h, 0.95, valid));
	json_object_set_new(j, "p99_us", loadgen_json_us(h, 0.99, valid));
	json_object_set_new(j, "p999_us", loadgen_json_us(h, 0.999, valid));
	json_object_set_new(j, "max_us", loadgen_json_us(h, 1.0, valid));
	json_object_set_new(j, "mean_us",
			    valid && h->total ? json_real(hist_mean(h) / 1000.0) : json_null());
	json_object_set_new(j, "p50_ci_us", loadgen_json_ci(h, 0.50, valid));
	json_object_set_new(j, "p95_ci_us", loadgen_json_ci(h, 0.95, valid));
	json_object_set_new(j, "p99_ci_us", loadgen_json_ci(h, 0.99, valid));
	json_object_set_new(j, "p999_ci_us", loadgen_json_ci(h, 0.999, valid));
	json_object_set_new(j, "sender_lag", json_boolean(r->lagging));
	json_object_set_new(j, "lag_p50_us", json_real(loadgen_quantile_us(&r->lag, 0.50)));
	json_object_set_new(j, "lag_p99_us", json_real(loadgen_quantile_us(&r->lag, 0.99)));
	json_object_set_new(j, "max_lag_us", json_real(c->max_lag_us));
	json_object_set_new(j, "cpu_s", json_real(r->cpu_s));
	json_object_set_new(j, "cpu_us_per_req",
			    json_real(r->sent ? r->cpu_s * 1e6 / (double)r->sent : 0));
	if (o->slo_us > 0)
		json_object_set_new(j, "slo_us", json_real(o->slo_us));
	if (r->first_error[0])
		json_object_set_new(j, "first_error", json_string(r->first_error));
	if (r->interrupted)
		json_object_set_new(j, "interrupted", json_true());
	if (c->report) {
		json_object_set_new(j, "reports_sent", json_integer((json_int_t)c->report->sent));
		json_object_set_new(j, "reports_acked", json_integer((json_int_t)c->report->acked));
		json_object_set_new(j, "reports_rejected",
				    json_integer((json_int_t)c->report->rejected));
		json_object_set_new(j, "reports_lost", json_integer((json_int_t)c->report->lost));
	}
	return j;
}

static void loadgen_print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));

	if (text) {
		puts(text);
		free(text);
	}
	fflush(stdout);
	json_decref(j);
}

static void loadgen_print_pct(const struct vs_hist *h, const char *name, double q)
{
	uint64_t lo, hi;

	hist_quantile_ci(h, q, 1.96, &lo, &hi);
	printf("  %-6s %10.1f us   [%.1f, %.1f]\n", name, loadgen_quantile_us(h, q),
	       (double)lo / 1000.0, (double)hi / 1000.0);
}

static void loadgen_print_text(const struct loadgen_cli *o, const struct loadgen_result *r)
{
	const struct loadgen_config *c = &o->cfg;
	const struct vs_hist *h = &r->latency;

	printf("vspace loadgen: %s %s, %.0f QPS offered for %.1f s (%d connections, %d "
	       "thread%s)%s\n",
	       c->protocol == LOADGEN_HTTP ? "http" : "memcached", c->server, r->offered_qps,
	       r->duration_s, c->connections, c->threads, c->threads == 1 ? "" : "s",
	       r->interrupted ? " -- INTERRUPTED" : "");
	printf("rate     offered %.1f  sent %.1f  achieved %.1f QPS (%.2f %% of offered)\n",
	       r->offered_qps, r->sent_qps, r->achieved_qps,
	       r->offered_qps > 0 ? 100.0 * r->achieved_qps / r->offered_qps : 0);
	printf("requests %llu sent, %llu completed, %llu errors, %llu timeouts, %llu dropped, "
	       "%llu reconnects\n",
	       (unsigned long long)r->sent, (unsigned long long)r->completed,
	       (unsigned long long)r->errors, (unsigned long long)r->timeouts,
	       (unsigned long long)r->dropped, (unsigned long long)r->reconnects);
	if (c->protocol == LOADGEN_MEMCACHED && r->hits + r->misses > 0)
		printf("gets     %llu hits, %llu misses (%.1f %% hits)\n",
		       (unsigned long long)r->hits, (unsigned long long)r->misses,
		       100.0 * (double)r->hits / (double)(r->hits + r->misses));
	if (r->load_errors)
		printf("load     %llu SETs of the warm-up load failed\n",
		       (unsigned long long)r->load_errors);
	if (r->first_error[0])
		printf("first error: %s\n", r->first_error);
	printf("sender   lag p50 %.1f us, p99 %.1f us (limit %.0f us)%s\n",
	       loadgen_quantile_us(&r->lag, 0.5), loadgen_quantile_us(&r->lag, 0.99), c->max_lag_us,
	       r->lagging ? "  -- SENDER LAG" : "");
	if (r->lagging) {
		printf("latency  not reported: the loadgen could not keep its own schedule "
		       "(p99 lag above %.0f us), so its percentiles would measure the loadgen, "
		       "not the server. Use more --threads, a lower --qps or a quieter machine.\n",
		       c->max_lag_us);
	} else if (h->total > 0) {
		printf("latency  (from the intended send time; 95 %% confidence interval)\n");
		loadgen_print_pct(h, "p50", 0.50);
		loadgen_print_pct(h, "p95", 0.95);
		loadgen_print_pct(h, "p99", 0.99);
		loadgen_print_pct(h, "p99.9", 0.999);
		printf("  %-6s %10.1f us\n  %-6s %10.1f us\n", "mean", hist_mean(h) / 1000.0, "max",
		       loadgen_quantile_us(h, 1.0));
		if (o->slo_us > 0)
			printf("slo      p95 %s %.0f us\n",
			       loadgen_quantile_us(h, 0.95) <= o->slo_us ? "within" : "OVER",
			       o->slo_us);
	} else {
		printf("latency  no replies\n");
	}
	printf("cpu      %.3f s of loadgen CPU = %.2f us per request\n", r->cpu_s,
	       r->sent ? r->cpu_s * 1e6 / (double)r->sent : 0.0);
	if (c->report)
		printf("reports  %llu sent to %s, %llu acknowledged, %llu rejected, %llu "
		       "lost%s%s\n",
		       (unsigned long long)c->report->sent, c->report->path,
		       (unsigned long long)c->report->acked,
		       (unsigned long long)c->report->rejected, (unsigned long long)c->report->lost,
		       c->report->last_error[0] ? ": " : "", c->report->last_error);
	fflush(stdout);
}

struct loadgen_step_ctx {
	const struct loadgen_cli *o;
};

static void loadgen_on_step(const struct loadgen_search_step *st, const struct loadgen_result *r,
			    void *arg)
{
	const struct loadgen_step_ctx *ctx = arg;

	if (ctx->o->json) {
		json_t *j = loadgen_result_json(ctx->o, r);
		json_object_set_new(j, "step_pass", json_boolean(st->pass));
		json_object_set_new(j, "step_verdict", json_string(st->verdict));
		loadgen_print_json(j);
		return;
	}
	if (isnan(st->p95_us))
		printf("step  %10.0f QPS  achieved %10.1f  p95        n/a  %s\n", st->qps,
		       st->achieved_qps, st->verdict);
	else
		printf("step  %10.0f QPS  achieved %10.1f  p95 %8.1f us  %s\n", st->qps,
		       st->achieved_qps, st->p95_us, st->verdict);
	fflush(stdout);
}

static int loadgen_do_search(struct loadgen_cli *o)
{
	struct loadgen_search *s = calloc(1, sizeof(*s));
	struct loadgen_step_ctx ctx = { .o = o };
	char err[256];
	int rc;

	if (!s) {
		fprintf(stderr, "vspace loadgen: out of memory\n");
		return 1;
	}
	s->slo_us = o->slo_us;
	s->start_qps = o->cfg.qps;
	s->max_qps = o->max_qps;
	s->precision = o->precision;
	s->max_steps = 40;
	if (!o->json)
		printf("vspace loadgen: searching the highest rate with p95 <= %.0f us (%s %s, "
		       "%.1f s "
		       "per step)\n",
		       o->slo_us, o->cfg.protocol == LOADGEN_HTTP ? "http" : "memcached",
		       o->cfg.server, o->cfg.duration_s);
	if (loadgen_search_run(&o->cfg, s, loadgen_on_step, &ctx, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace loadgen: %s\n", err);
		free(s);
		return loadgen_stop ? 130 : 1;
	}
	if (o->json) {
		json_t *j =
			json_pack("{s:b, s:f, s:f, s:s, s:i}", "search", 1, "slo_us", o->slo_us,
				  "max_qps", s->best_qps, "limit", s->limit, "steps", s->n_steps);
		json_object_set_new(j, "fail_qps",
				    s->fail_qps > 0 ? json_real(s->fail_qps) : json_null());
		loadgen_print_json(j);
	} else if (s->best_qps > 0) {
		printf("result   %.0f QPS is the highest rate with p95 <= %.0f us", s->best_qps,
		       o->slo_us);
		if (s->fail_qps > 0)
			printf("; %.0f QPS failed (%s)", s->fail_qps, s->limit);
		else
			printf(" (%s)", s->limit);
		printf("\n");
	} else {
		printf("result   no rate passed: %s at %.0f QPS\n", s->limit, s->fail_qps);
	}
	rc = strcmp(s->limit, "interrupted") == 0 ? 130 : 0;
	free(s);
	return rc;
}

static void loadgen_on_signal(int sig)
{
	loadgen_stop = 1;
}

int loadgen_main(int argc, char **argv)
{
	struct loadgen_cli *o = calloc(1, sizeof(*o));
	struct report_client report;
	struct loadgen_result *r = NULL;
	struct sigaction sa = { .sa_handler = loadgen_on_signal };
	char err[256];
	int rc, status = 0;

	if (!o) {
		fprintf(stderr, "vspace loadgen: out of memory\n");
		return 1;
	}
	log_init("vspace loadgen", VS_LOG_INFO);
	rc = loadgen_parse(argc, argv, o);
	if (rc != 0) {
		free(o);
		return rc > 0 ? 0 : 2;
	}
	if (o->timeline_path) {
		o->cfg.timeline = fopen(o->timeline_path, "w");
		if (!o->cfg.timeline) {
			fprintf(stderr, "vspace loadgen: --timeline: cannot write \"%s\": %s\n",
				o->timeline_path, strerror(errno));
			free(o);
			return 2;
		}
	}
	if (o->report_spec) {
		if (report_open(&report, o->report_spec, err, sizeof(err)) < 0) {
			fprintf(stderr, "vspace loadgen: --report: %s\n", err);
			status = 1;
			goto out;
		}
		o->cfg.report = &report;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o->cfg.stop = &loadgen_stop;
	if (o->search) {
		status = loadgen_do_search(o);
		goto out;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		fprintf(stderr, "vspace loadgen: out of memory\n");
		status = 1;
		goto out;
	}
	if (loadgen_run(&o->cfg, r, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace loadgen: %s\n", err);
		status = loadgen_stop ? 130 : 1;
		goto out;
	}
	if (o->cfg.report)
		report_close(o->cfg.report, 200);
	if (o->json)
		loadgen_print_json(loadgen_result_json(o, r));
	else
		loadgen_print_text(o, r);
	status = r->interrupted ? 130 : r->lagging ? 3 : 0;
out:
	if (o->cfg.report)
		report_close(o->cfg.report, 0);
	if (o->cfg.timeline)
		fclose(o->cfg.timeline);
	free(r);
	free(o);
	return status;
}
